// One POP3 server session (RFC 1939): reads the socket, splits input into
// command lines (or SASL answers during AUTH), runs each through the state
// machine in commands.ts and writes replies in order; pipelined commands
// (RFC 2449 PIPELINING) are answered one after the other. Limits: the command
// line length (`pop3.max_line`, RFC 2449 §4) and the idle time
// (`pop3.idle_timeout`, RFC 1939 §3 autologout: no UPDATE, nothing deleted),
// and bad commands in a row (`pop3.max_bad_commands`).
// STLS swaps the socket for its TLS wrapper (RFC 2595 §4). No exception
// crosses the connection (DESIGN convention 8): a failure answers
// "-ERR [SYS/TEMP]" and closes. The maildrop lock is released when the session
// ends, after the UPDATE state's expunge if there is one.
import { normalizeIp } from '../../net/networks.ts';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { SaslExchange, AuthUser } from '../../auth/types.ts';
import type { Config } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import type { StoredMessage } from '../../store/store.ts';
import { initialState, type SessionState } from '../protocol/state.ts';
import { MAX_AUTH_RESPONSE_LINE } from '../protocol/command.ts';
import type { Pop3Role, Pop3Services } from './ports.ts';
import { handleLine, continueAuth } from './commands.ts';
import { P } from './replies.ts';

export interface Pop3SessionOptions {
  socket: Socket;
  sessionId: string;
  role: Pop3Role;
  config: Config;
  services: Pop3Services;
  logger: Logger;
  /** Already TLS from the first byte (pop3s). */
  implicitTls: boolean;
}

/** The messages of the session, fixed at login (RFC 1939 §5: message numbers
 * do not change during the session). */
export interface Maildrop {
  mailboxId: number;
  uidValidity: number;
  /** Message n is messages[n - 1]. */
  messages: StoredMessage[];
}

/** Input beyond this is not read from the socket until commands catch up. */
const MAX_BUFFERED_INPUT = 1 << 20;

export class Pop3Session {
  readonly id: string;
  socket: Socket;
  readonly role: Pop3Role;
  readonly config: Config;
  readonly services: Pop3Services;
  readonly log: Logger;
  readonly clientIp: string;

  state: SessionState;
  tls: boolean;
  user: AuthUser | null = null;
  maildrop: Maildrop | null = null;
  deleted: ReadonlySet<number> = new Set();
  /** A SASL exchange waiting for the client's next line. */
  auth: { exchange: SaslExchange; mechanism: string; success: AuthUser | null } | null = null;
  errors = 0;
  shuttingDown = false;

  #buf: Buffer = Buffer.alloc(0);
  #discardingLongLine = false;
  #busy = false;
  #closed = false;
  #idleTimer: NodeJS.Timeout | null = null;
  #lock: number | null = null;
  #onClosed: Array<() => void> = [];
  readonly #handlers = {
    data: (chunk: Buffer) => this.#onData(chunk),
    error: (e: Error) => {
      this.log.debug('socket error', { error: e });
      this.#teardown();
    },
    close: () => this.#teardown(),
    end: () => this.#teardown(),
  };

  constructor(o: Pop3SessionOptions) {
    this.id = o.sessionId;
    this.socket = o.socket;
    this.role = o.role;
    this.config = o.config;
    this.services = o.services;
    this.clientIp = normalizeIp(o.socket.remoteAddress ?? 'unknown');
    this.log = o.logger.child({ session: o.sessionId, client: this.clientIp, protocol: 'pop3' });
    this.tls = o.implicitTls;
    this.state = initialState(o.implicitTls);
  }

  start(): void {
    this.socket.setNoDelay(true);
    this.#attach(this.socket);
    this.write(P.greeting(this.config.hostname));
    this.#armIdle();
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClosed(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClosed.push(fn);
  }

  /** Writes a reply (or message bytes); resolves when the socket can take more. */
  write(data: string | Buffer): Promise<void> | void {
    if (this.#closed || this.socket.destroyed) return;
    if (this.socket.write(data)) return;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  /** Writes pieces (a byte-stuffed message), waiting for drain as needed. */
  async writeAll(pieces: readonly (string | Buffer)[]): Promise<void> {
    for (const p of pieces) {
      if (this.#closed) return;
      const w = this.write(p);
      if (w) await w;
    }
  }

  /** Sends `data` (if given) and closes the connection. */
  close(data?: string): void {
    if (this.#closed) return;
    if (data) this.write(data);
    this.#clearIdle();
    this.socket.end();
    // A client that never reads must not keep the socket: destroy after a bound.
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.#teardown();
  }

  /** Graceful shutdown: idle sessions are told now; a command in progress finishes first. */
  shutdown(): void {
    this.shuttingDown = true;
    if (!this.#busy) this.close(P.shuttingDown);
  }

  abort(): void {
    if (this.#closed) return;
    this.close(P.shuttingDown);
    this.socket.destroy();
  }

  /** Takes the maildrop lock; false if another session holds it. */
  async lock(mailboxId: number): Promise<boolean> {
    if (!(await this.services.locks.acquire(mailboxId, this.id))) return false;
    this.#lock = mailboxId;
    // The connection may have gone while we waited.
    if (this.#closed) await this.unlock();
    return true;
  }

  async unlock(): Promise<void> {
    const id = this.#lock;
    if (id === null) return;
    this.#lock = null;
    try {
      await this.services.locks.release(id, this.id);
    } catch (e) {
      this.log.error('releasing the maildrop lock failed', { error: e });
    }
  }

  #attach(sock: Socket): void {
    const h = this.#handlers;
    sock.on('data', h.data).on('error', h.error).on('close', h.close).on('end', h.end);
  }

  #detach(sock: Socket): void {
    const h = this.#handlers;
    sock.off('data', h.data).off('error', h.error).off('close', h.close).off('end', h.end);
  }

  /** RFC 2595 §4: after "+OK" the TLS handshake starts at once. Anything the
   * client pipelined after STLS is plaintext that must never be executed in
   * the TLS session (CVE-2011-0411): it is dropped. */
  async startTls(): Promise<void> {
    const tls = this.services.tls!;
    this.write(P.stls);
    if (this.#buf.length > 0) {
      this.log.warn('discarded plaintext pipelined after STLS', { bytes: this.#buf.length });
      this.#buf = Buffer.alloc(0);
    }
    const plain = this.socket;
    this.#detach(plain);
    plain.pause();
    plain.once('close', this.#handlers.close);
    plain.on('error', () => {});
    let secure: TLSSocket;
    try {
      secure = await tls.upgrade(plain);
    } catch (e) {
      this.log.info('TLS handshake failed', { error: e });
      plain.destroy();
      this.#teardown();
      return;
    }
    plain.off('close', this.#handlers.close);
    if (this.#closed) {
      secure.destroy();
      return;
    }
    this.socket = secure;
    this.#attach(secure);
    this.tls = true;
    this.log.debug('TLS established', { protocol: secure.getProtocol(), cipher: secure.getCipher()?.name });
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.#buf.length > MAX_BUFFERED_INPUT) this.socket.pause();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (!this.#closed) {
        const line = this.#takeLine();
        if (line === null) break;
        this.#clearIdle();
        if (this.auth) await continueAuth(this, line);
        else await handleLine(this, line);
        if (this.errors >= this.config.pop3.max_bad_commands) this.close(P.tooManyErrors);
      }
    } catch (e) {
      this.log.error('session failed', { error: e });
      this.close(P.internal);
    } finally {
      this.#busy = false;
    }
    if (this.#closed) return;
    if (this.shuttingDown) return this.close(P.shuttingDown);
    if (this.socket.isPaused() && this.#buf.length <= MAX_BUFFERED_INPUT) this.socket.resume();
    this.#armIdle();
  }

  /** One line without its line end, or null if none is complete. A line over
   * the limit is answered "-ERR" and skipped up to its line end. */
  #takeLine(): string | null {
    const max = this.auth ? MAX_AUTH_RESPONSE_LINE : this.config.pop3.max_line;
    for (;;) {
      const lf = this.#buf.indexOf(10);
      if (lf < 0) {
        if (this.#buf.length >= max) {
          if (!this.#discardingLongLine) this.#rejectLongLine(max);
          this.#discardingLongLine = true;
          this.#buf = Buffer.alloc(0);
        }
        return null;
      }
      const raw = this.#buf.subarray(0, lf);
      this.#buf = this.#buf.subarray(lf + 1);
      if (this.#discardingLongLine) {
        this.#discardingLongLine = false;
        continue;
      }
      if (lf + 1 > max) {
        this.#rejectLongLine(max);
        continue;
      }
      const body = raw.length > 0 && raw[raw.length - 1] === 13 ? raw.subarray(0, raw.length - 1) : raw;
      // Commands are ASCII; a password may be UTF-8 (RFC 5034 uses SASL, USER/PASS is 8-bit in practice).
      return body.toString('utf8');
    }
  }

  #rejectLongLine(max: number): void {
    this.errors++;
    if (this.auth) {
      // An over-long SASL answer ends the exchange (RFC 5034 §4: the server fails it).
      this.auth = null;
    }
    this.write(P.lineTooLong(max));
  }

  #armIdle(): void {
    if (this.#idleTimer || this.#closed) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#closed) return;
      // RFC 1939 §3: an autologout timer ends the session without entering UPDATE.
      this.log.info('idle timeout, closing', { state: this.state.kind });
      this.close(P.idle);
    }, this.config.pop3.idle_timeout);
  }

  #clearIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#clearIdle();
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.destroy();
    // A session that entered UPDATE releases its lock after the expunge (commands.ts).
    if (this.state.kind !== 'UPDATE') void this.unlock();
    for (const fn of this.#onClosed.splice(0)) fn();
  }
}

export { normalizeIp } from '../../net/networks.ts';

export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}
