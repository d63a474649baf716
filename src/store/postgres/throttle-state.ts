// Login-throttle state (auth/throttle.ts ThrottleState) shared by every node
// through PostgreSQL, so an attacker guessing passwords cannot multiply the
// limits by the number of nodes: failures are rows (auth_failures) counted
// in the database when a failure is recorded, and lock-outs are rows
// (auth_blocks) announced with NOTIFY. Each node keeps a mirror of the
// current lock-outs, loaded at start and kept up to date by the
// notifications (and reloaded after a lost LISTEN connection), because the
// throttle asks "is this IP locked out?" synchronously on every connection.
// Structural: it has ThrottleState's shape without importing auth/ (imports
// point down).

import type { Pool } from 'pg';
import type { PgListener } from './listener.ts';

export class PgThrottleState {
  readonly #pool: Pool;
  readonly #listener: PgListener;
  readonly #channel: string;
  readonly #blocks = new Map<string, number>();
  readonly #onError: (err: unknown) => void;

  constructor(pool: Pool, listener: PgListener, schema: string, onError: (err: unknown) => void = () => {}) {
    this.#pool = pool;
    this.#listener = listener;
    this.#channel = `mailroom_auth_${schema}`.slice(0, 63);
    this.#onError = onError;
  }

  /** Loads the current lock-outs and starts following other nodes' changes. */
  async start(nowMs: number): Promise<void> {
    await this.#listener.subscribe(this.#channel, (payload) => {
      const sp = payload.indexOf(' ');
      const until = Number(payload.slice(0, sp));
      const key = payload.slice(sp + 1);
      if (until === 0) this.#blocks.delete(key);
      else this.#blocks.set(key, until);
    });
    this.#listener.onReconnect(() => void this.#reload(nowMs).catch(this.#onError));
    await this.#reload(nowMs);
  }

  async #reload(nowMs: number): Promise<void> {
    const r = await this.#pool.query<{ key: string; until: number }>('SELECT key, until FROM auth_blocks WHERE until > $1', [nowMs]);
    this.#blocks.clear();
    for (const row of r.rows) this.#blocks.set(row.key, row.until);
  }

  async count(key: string, since: number): Promise<number> {
    // Old failures of this key are dropped on the way (they no longer count).
    const r = await this.#pool.query<{ n: number }>(
      `WITH old AS (DELETE FROM auth_failures WHERE key = $1 AND at < $2)
       SELECT count(*) AS n FROM auth_failures WHERE key = $1 AND at >= $2`,
      [key, since],
    );
    return r.rows[0]!.n;
  }

  async add(key: string, at: number): Promise<void> {
    await this.#pool.query('INSERT INTO auth_failures (key, at) VALUES ($1, $2)', [key, at]);
  }

  async clear(key: string): Promise<void> {
    await this.#pool.query('DELETE FROM auth_failures WHERE key = $1', [key]);
  }

  blockedUntil(key: string): number {
    return this.#blocks.get(key) ?? 0;
  }

  async block(key: string, until: number): Promise<void> {
    this.#blocks.set(key, until);
    await this.#pool.query(
      `WITH up AS (INSERT INTO auth_blocks (key, until) VALUES ($1, $2)
                   ON CONFLICT (key) DO UPDATE SET until = greatest(auth_blocks.until, EXCLUDED.until))
       SELECT pg_notify($3, $2::text || ' ' || $1)`,
      [key, until, this.#channel],
    );
  }

  async unblock(key: string): Promise<void> {
    const until = this.#blocks.get(key);
    this.#blocks.delete(key);
    if (until === undefined) return;
    // Only the lock-out that ran out: a newer one set meanwhile stays.
    await this.#pool.query(
      `WITH d AS (DELETE FROM auth_blocks WHERE key = $1 AND until <= $2 RETURNING key)
       SELECT pg_notify($3, '0 ' || $1) FROM d`,
      [key, until, this.#channel],
    );
  }

  /** Lock-outs currently mirrored (tests, metrics). */
  get size(): number {
    return this.#blocks.size;
  }
}
