// One SMTP server session: reads the socket, splits input into command lines
// or DATA/BDAT content, runs each command through the state machine in
// commands.ts, and writes replies in order in as few writes as the client's
// pipelined batch allows (RFC 2920 §3.2). Timeouts are per request (a command
// must arrive whole within `timeouts.command`), plus a DATA deadline, a minimum
// DATA rate and a whole-session bound, so a trickling client is cut off.
// No exception crosses the connection (DESIGN convention 8). STARTTLS swaps
// the socket for its TLS wrapper mid-session (RFC 3207).
import { normalizeIp } from '../../net/networks.ts';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { AuthUser, SaslExchange } from '../../auth/types.ts';
import type { Config } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import { DataDecoder, ContentChecker } from '../protocol/data-decoder.ts';
import { R, serializeReply, type Reply } from '../protocol/reply.ts';
import type { SessionServices, SmtpBackend, SmtpRole, TlsInfo } from './ports.ts';
import { handleLine, finishMessage, finishBdatChunk, type SessionState, type Transaction } from './commands.ts';
import { continueAuth } from './auth.ts';
import { peerAddress } from '../../net/proxy-gate.ts';
import { connectPolicy } from './policy.ts';

/** command: lines are commands; auth: lines answer a SASL challenge;
 * data/bdat: message content; tls: handshake in progress. */
export type InputMode = 'command' | 'auth' | 'data' | 'bdat' | 'tls' | 'closed';

export interface SessionOptions {
  socket: Socket;
  sessionId: string;
  role: SmtpRole;
  config: Config;
  services: SessionServices;
  logger: Logger;
  now?: () => Date;
}

/** RFC 4954 §4: a line answering a SASL challenge may be up to 12288 octets. */
const AUTH_LINE_MAX = 12288;
// RFC 5321 §4.5.3.1.4: extensions may lengthen command lines. RFC 3461's
// parameters add up to 500 characters of ORCPT (with NOTIFY) to RCPT and 100
// of ENVID (with RET) to MAIL; MAIL and RCPT lines get this much more room.
const DSN_LINE_EXTRA = 600;
const MAIL_OR_RCPT = /^(?:MAIL|RCPT) /i;

/** Input beyond this is not read from the socket until commands catch up. */
const MAX_BUFFERED_INPUT = 1 << 20;

export class SmtpSession {
  readonly id: string;
  socket: Socket;
  readonly role: SmtpRole;
  readonly config: Config;
  readonly services: SessionServices;
  readonly backend: SmtpBackend;
  readonly log: Logger;
  readonly clientIp: string;
  readonly now: () => Date;

  // State machine (read and changed by commands.ts).
  state: SessionState = 'fresh';
  helo: string | null = null;
  esmtp = false;
  tx: Transaction | null = null;
  junkCount = 0;
  shuttingDown = false;
  /** Set once TLS is up (implicit TLS or after STARTTLS). */
  tlsInfo: TlsInfo | null = null;
  /** Set after a successful AUTH (RFC 4954). */
  user: AuthUser | null = null;
  /** A SASL exchange waiting for the client's next line. */
  auth: { exchange: SaslExchange; mechanism: string; success: AuthUser | null } | null = null;

  mode: InputMode = 'command';
  /** Set while DATA is being read. */
  decoder: DataDecoder | null = null;
  /** Set while a BDAT chunk is being read. */
  bdat: { remaining: number; last: boolean; error: Reply | null; checker: ContentChecker | null } | null = null;

  #buf: Buffer = Buffer.alloc(0);
  #discardingLongLine = false;
  #busy = false;
  #out: string[] = [];
  #commandTimer: NodeJS.Timeout | null = null;
  #dataTimer: NodeJS.Timeout | null = null;
  #sessionTimer: NodeJS.Timeout | null = null;
  #dataStartedAt = 0;
  #dataBytes = 0;
  #closed = false;
  #onClosed: (() => void)[] = [];
  readonly #handlers = {
    data: (chunk: Buffer) => this.#onData(chunk),
    error: (err: Error) => {
      this.log.debug('socket error', { error: err });
      this.#teardown();
    },
    close: () => this.#teardown(),
    end: () => {
      if (!this.#closed) this.log.debug('client closed the connection');
      this.#teardown();
    },
  };

  constructor(o: SessionOptions) {
    this.id = o.sessionId;
    this.socket = o.socket;
    this.role = o.role;
    this.config = o.config;
    this.services = o.services;
    this.backend = o.services.backend;
    // The real client behind a trusted load balancer (PROXY protocol), else the peer.
    this.clientIp = normalizeIp(peerAddress(o.socket).address);
    this.log = o.logger.child({ session: o.sessionId, client: this.clientIp });
    this.now = o.now ?? (() => new Date());
  }

  /** `implicitTls`: the socket is already a TLSSocket (submissions, RFC 8314). */
  start(implicitTls: TlsInfo | null = null): void {
    this.tlsInfo = implicitTls;
    this.socket.setNoDelay(true);
    this.#attach(this.socket);
    this.#sessionTimer = setTimeout(() => this.#timeout('session'), this.config.timeouts.session);
    if (this.services.policy?.has('connect')) {
      void this.#greetAfterPolicy();
      return;
    }
    this.send(R.greeting(this.config.hostname));
    this.flush();
    this.#armCommandTimer();
  }

  /** Connect-stage policy hooks run before the greeting; input that arrives
   * meanwhile waits (the session is busy). A refusal is sent instead of 220. */
  async #greetAfterPolicy(): Promise<void> {
    this.#busy = true;
    let refused: Reply | null;
    try {
      refused = await connectPolicy(this);
    } catch (err) {
      this.log.error('connect policy failed', { error: err });
      refused = R.internalError;
    } finally {
      this.#busy = false;
    }
    if (this.#closed) return;
    if (refused) return this.close(refused);
    this.send(R.greeting(this.config.hostname));
    this.flush();
    this.#armCommandTimer();
    if (this.#buf.length > 0) void this.#pump();
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Called once when the connection is gone. */
  onClosed(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClosed.push(fn);
  }

  /** Queue a reply; written at the next flush, in order. */
  send(r: Reply): void {
    this.#out.push(serializeReply(r));
  }

  flush(): void {
    if (this.#out.length === 0 || this.#closed) return;
    const data = this.#out.length === 1 ? this.#out[0] : this.#out.join('');
    this.#out = [];
    this.socket.write(data);
  }

  /** Sends `r` (if given) after what is queued and closes the connection. */
  close(r?: Reply): void {
    if (this.#closed) return;
    if (r) this.send(r);
    this.flush();
    this.mode = 'closed';
    this.#clearTimers();
    this.socket.end();
    // A client that never reads must not keep the socket: destroy after a bound.
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.#teardown();
  }

  /** Graceful shutdown: idle sessions are told 421 4.3.2 now; a session in
   * DATA/BDAT or in the middle of a command finishes it first. */
  shutdown(): void {
    this.shuttingDown = true;
    if (!this.#busy && this.mode === 'command') this.close(R.shuttingDown);
  }

  /** Forced end of a graceful shutdown. */
  abort(): void {
    if (this.#closed) return;
    this.close(R.shuttingDown);
    this.socket.destroy();
  }

  /** Switch to reading DATA content (after 354). */
  beginData(): void {
    const l = this.config.limits;
    this.decoder = new DataDecoder({ maxSize: l.message_size, maxLine: l.text_line });
    this.mode = 'data';
    this.#startDataTimers();
  }

  /** Switch to reading a BDAT chunk of `size` octets (RFC 3030 §2). */
  beginBdat(size: number, last: boolean, error: Reply | null): void {
    const checker = error ? null : (this.tx?.bdat?.checker ?? null);
    this.bdat = { remaining: size, last, error, checker };
    this.mode = 'bdat';
    this.#startDataTimers();
  }

  #attach(sock: Socket): void {
    const h = this.#handlers;
    sock.on('data', h.data).on('error', h.error).on('close', h.close).on('end', h.end);
  }

  #detach(sock: Socket): void {
    const h = this.#handlers;
    sock.off('data', h.data).off('error', h.error).off('close', h.close).off('end', h.end);
  }

  /** RFC 3207 §4: after `220 Ready to start TLS` the handshake starts at once.
   * Anything the client pipelined after STARTTLS is plaintext that must never
   * be executed inside the TLS session (CVE-2011-0411): it is dropped here.
   * RFC 3207 §4.2: the session then starts over; the client must EHLO again. */
  async startTls(): Promise<void> {
    const tls = this.services.tls!;
    this.send(R.tlsReady);
    this.flush();
    if (this.#buf.length > 0) {
      this.log.warn('discarded plaintext pipelined after STARTTLS', { bytes: this.#buf.length });
      this.#buf = Buffer.alloc(0);
    }
    const plain = this.socket;
    this.mode = 'tls';
    this.#detach(plain);
    plain.pause();
    // Until the TLS socket takes over, a dropped connection must still end the session.
    plain.once('close', this.#handlers.close);
    plain.on('error', () => {});
    let secure: TLSSocket;
    try {
      secure = await tls.upgrade(plain);
    } catch (err) {
      this.log.info('TLS handshake failed', { error: err });
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
    this.tlsInfo = tls.describe(secure);
    this.log.debug('TLS established', { ...this.tlsInfo });
    this.state = 'fresh';
    this.helo = null;
    this.esmtp = false;
    this.tx = null;
    this.mode = 'command';
  }

  #onData(chunk: Buffer): void {
    if (this.#closed) return;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.mode === 'data' || this.mode === 'bdat') this.#dataBytes += chunk.length;
    if (this.#buf.length > MAX_BUFFERED_INPUT) this.socket.pause();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (!this.#closed) {
        if (this.mode === 'command' || this.mode === 'auth') {
          const line = this.#takeLine();
          if (line === null) break;
          this.#clearCommandTimer();
          if (this.mode === 'auth') await continueAuth(this, line);
          else await handleLine(this, line);
        } else if (this.mode === 'data') {
          if (this.#buf.length === 0) break;
          const dec = this.decoder!;
          const n = dec.feed(this.#buf);
          this.#buf = this.#buf.subarray(n);
          if (!dec.done) break;
          this.#endDataTimers();
          this.mode = 'command';
          this.decoder = null;
          await finishMessage(this, { chunks: dec.tooLarge ? [] : dec.chunks(), size: dec.size, tooLarge: dec.tooLarge, bareNewline: dec.bareNewline, lineTooLong: dec.lineTooLong });
        } else if (this.mode === 'bdat') {
          if (!(await this.#readBdat())) break;
        } else {
          break;
        }
      }
    } catch (err) {
      this.log.error('session failed', { error: err });
      this.close(R.internalError);
    } finally {
      this.#busy = false;
    }
    if (this.#closed) return;
    if (this.mode === 'command' && this.shuttingDown) {
      this.close(R.shuttingDown);
      return;
    }
    this.flush();
    if (this.socket.isPaused() && this.#buf.length <= MAX_BUFFERED_INPUT) this.socket.resume();
    if (this.mode === 'command' || this.mode === 'auth') this.#armCommandTimer();
  }

  /** Takes one command line (without its line end) or null if none is complete.
   * RFC 5321 §4.5.3.1.4 bounds the line; a longer one is answered 500 5.5.6
   * and skipped up to its line end. Commands ending in a bare LF are tolerated:
   * only DATA content is strict about line ends (smuggling happens there). */
  #takeLine(): Buffer | null {
    const base = this.mode === 'auth' ? AUTH_LINE_MAX : this.config.limits.command_line;
    for (;;) {
      const max = this.mode === 'command' && MAIL_OR_RCPT.test(this.#buf.subarray(0, 5).toString('latin1')) ? base + DSN_LINE_EXTRA : base;
      const lf = this.#buf.indexOf(10);
      if (lf < 0) {
        if (this.#buf.length >= max) {
          if (!this.#discardingLongLine) this.#rejectLongLine();
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
        this.#rejectLongLine();
        continue;
      }
      return raw.length > 0 && raw[raw.length - 1] === 13 ? raw.subarray(0, raw.length - 1) : raw;
    }
  }

  #rejectLongLine(): void {
    this.send(R.lineTooLong);
    this.junkCount++;
  }

  /** Reads BDAT chunk bytes; returns false when more input is needed. */
  async #readBdat(): Promise<boolean> {
    const b = this.bdat!;
    if (b.remaining > 0) {
      if (this.#buf.length === 0) return false;
      const take = Math.min(b.remaining, this.#buf.length);
      const piece = this.#buf.subarray(0, take);
      this.#buf = this.#buf.subarray(take);
      b.remaining -= take;
      const bd = this.tx?.bdat;
      if (!b.error && bd) {
        bd.size += take;
        if (bd.size > this.config.limits.message_size) bd.tooLarge = true;
        if (!bd.tooLarge) {
          bd.chunks.push(piece);
          bd.checker.feed(piece);
        }
      }
      if (b.remaining > 0) return false;
    }
    this.#endDataTimers();
    this.mode = 'command';
    this.bdat = null;
    await finishBdatChunk(this, b.last, b.error);
    return true;
  }

  #armCommandTimer(): void {
    if (this.#commandTimer || this.#closed) return;
    this.#commandTimer = setTimeout(() => this.#timeout('command'), this.config.timeouts.command);
  }

  #clearCommandTimer(): void {
    if (this.#commandTimer) clearTimeout(this.#commandTimer);
    this.#commandTimer = null;
  }

  /** RFC 5321 §4.5.3.2.6 bounds waiting between blocks; we bound the whole
   * transfer and require an average rate after a grace period (slowloris). */
  #startDataTimers(): void {
    this.#clearCommandTimer();
    this.#dataStartedAt = Date.now();
    this.#dataBytes = this.#buf.length;
    const t = this.config.timeouts;
    const tick = Math.max(50, Math.min(1000, t.data_rate_grace));
    const check = () => {
      const elapsed = Date.now() - this.#dataStartedAt;
      if (elapsed >= t.data) return this.#timeout('data');
      if (elapsed >= t.data_rate_grace && this.#dataBytes < (t.data_min_rate * elapsed) / 1000) {
        return this.#timeout('data rate');
      }
      this.#dataTimer = setTimeout(check, tick);
    };
    this.#dataTimer = setTimeout(check, tick);
  }

  #endDataTimers(): void {
    if (this.#dataTimer) clearTimeout(this.#dataTimer);
    this.#dataTimer = null;
  }

  #timeout(what: string): void {
    if (this.#closed) return;
    this.log.info('timeout, closing', { timeout: what, state: this.state });
    this.close(R.timeout);
  }

  #clearTimers(): void {
    this.#clearCommandTimer();
    this.#endDataTimers();
    if (this.#sessionTimer) clearTimeout(this.#sessionTimer);
    this.#sessionTimer = null;
  }

  #teardown(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.mode = 'closed';
    this.#clearTimers();
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.destroy();
    for (const fn of this.#onClosed.splice(0)) fn();
  }
}

export { normalizeIp } from '../../net/networks.ts';
