// The LISTEN side of PostgreSQL's LISTEN/NOTIFY (no extra broker): one
// dedicated connection per process, opened at the first subscription, that
// hands each notification on a channel to that channel's handlers. Writers
// call pg_notify inside their transaction, so a notification goes out only
// when (and if) the change commits, to every node including the writer's own.
// If the connection drops, it is re-opened with a growing pause and every
// `onReconnect` handler runs, because notifications sent meanwhile are lost:
// subscribers then re-read what they care about (IMAP sessions ask
// changesSince), so nothing depends on a notification arriving.

import pg from 'pg';
import type { Client } from 'pg';
import { clientConfig, type PgTarget } from './connection.ts';

export type NotificationHandler = (payload: string) => void;

export class PgListener {
  readonly #target: PgTarget;
  readonly #handlers = new Map<string, Set<NotificationHandler>>();
  readonly #reconnectHandlers = new Set<() => void>();
  #client: Client | null = null;
  #connecting: Promise<void> | null = null;
  #closed = false;
  #retryMs = 100;
  #timer: NodeJS.Timeout | null = null;
  readonly #onError: (err: unknown) => void;

  constructor(target: PgTarget, onError: (err: unknown) => void = () => {}) {
    this.#target = target;
    this.#onError = onError;
  }

  /** Resolves once the LISTEN is in place (notifications committed after this arrive). */
  async subscribe(channel: string, fn: NotificationHandler): Promise<() => void> {
    let set = this.#handlers.get(channel);
    const isNew = !set;
    if (!set) this.#handlers.set(channel, (set = new Set()));
    set.add(fn);
    const unsubscribe = () => {
      set!.delete(fn);
    };
    if (this.#closed) return unsubscribe;
    await this.#ensure();
    if (isNew && this.#client) await this.#client.query(`LISTEN ${channel}`).catch((err: unknown) => this.#onError(err));
    return unsubscribe;
  }

  onReconnect(fn: () => void): () => void {
    this.#reconnectHandlers.add(fn);
    return () => this.#reconnectHandlers.delete(fn);
  }

  /** Whether the LISTEN connection is up (for tests and health checks). */
  get connected(): boolean {
    return this.#client !== null;
  }

  #ensure(): Promise<void> {
    if (this.#client) return Promise.resolve();
    this.#connecting ??= this.#connect().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  async #connect(): Promise<void> {
    const client = new pg.Client(clientConfig(this.#target, { application_name: 'mailroom-listen' }));
    client.on('notification', (n) => {
      const set = this.#handlers.get(n.channel);
      if (!set) return;
      for (const fn of set) {
        try {
          fn(n.payload ?? '');
        } catch (err) {
          this.#onError(err);
        }
      }
    });
    const lost = (err?: unknown) => {
      if (this.#client !== client) return;
      this.#client = null;
      if (err) this.#onError(err);
      client.end().catch(() => {});
      this.#scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      for (const ch of this.#handlers.keys()) await client.query(`LISTEN ${ch}`);
    } catch (err) {
      client.end().catch(() => {});
      this.#onError(err);
      this.#scheduleReconnect();
      throw err;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    this.#retryMs = 100;
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer) return;
    const wait = this.#retryMs;
    this.#retryMs = Math.min(this.#retryMs * 2, 5000);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#ensure().then(
        () => {
          for (const fn of this.#reconnectHandlers) fn();
        },
        () => {},
      );
    }, wait);
    this.#timer.unref();
  }

  /** Test hook: drops the connection as a network failure would. */
  dropForTest(): void {
    const c = this.#client;
    if (c) c.emit('error', new Error('connection dropped (test)'));
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#connecting?.catch(() => {});
    const c = this.#client;
    this.#client = null;
    await c?.end().catch(() => {});
  }
}
