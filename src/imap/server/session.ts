// One IMAP server session (RFC 9051, also serving RFC 3501 clients): reads
// the socket, feeds the incremental command reader (protocol/tokenizer.ts)
// one line at a time so that a command that changes the input mode (IDLE,
// AUTHENTICATE) sees the bytes after it as lines, runs each command through
// the state machine in commands.ts, and writes responses in order. Also here:
// the autologout timer (RFC 9051 §5.4), STARTTLS's socket swap with plaintext
// injection protection, change notifications from the store (store.watch)
// pushed during IDLE (RFC 2177) and otherwise at the next allowed moment, and
// the per-connection catch: no exception crosses a connection (DESIGN 8).
import { normalizeIp } from '../../net/networks.ts';
import type { Socket } from 'node:net';
import type { AuthUser, SaslExchange } from '../../auth/types.ts';
import type { Config } from '../../config/types.ts';
import type { Logger } from '../../log/logger.ts';
import type { MailboxChange } from '../../store/mailbox-store.ts';
import { CommandReader, type ReaderEvent } from '../protocol/tokenizer.ts';
import type { ImapServices, Summarize } from './ports.ts';
import type { SelectedMailbox } from './selected.ts';
import { runCommand, continueAuthenticate, continueIdle } from './commands.ts';
import { syncSelected } from './notify.ts';

/** RFC 9051 §3: the session states; `logout` once BYE went out. */
export type ImapState = 'not_authenticated' | 'authenticated' | 'selected' | 'logout';
/** command: input goes to the command reader; auth: lines answer a SASL
 * challenge; idle: waiting for DONE; tls: handshake in progress. */
export type InputMode = 'command' | 'auth' | 'idle' | 'tls' | 'closed';

export interface ImapSessionOptions {
  socket: Socket;
  sessionId: string;
  /** 'imap' (STARTTLS available) or 'imaps' (TLS from the first byte). */
  role: 'imap' | 'imaps';
  config: Config;
  services: ImapServices;
  logger: Logger;
  summarize: Summarize;
  now?: () => Date;
}

/** Bytes buffered beyond this stop reading from the socket until commands catch up. */
const MAX_BUFFERED_INPUT = 1 << 20;
/** Responses beyond this wait for the socket to drain (large FETCH). */
const MAX_UNFLUSHED_OUTPUT = 1 << 20;
/** RFC 4954-like bound on one SASL answer line (base64 of credentials). */
const AUTH_LINE_MAX = 12288;

export class ImapSession {
  readonly id: string;
  socket: Socket;
  readonly role: 'imap' | 'imaps';
  readonly config: Config;
  readonly services: ImapServices;
  readonly log: Logger;
  readonly clientIp: string;
  readonly now: () => Date;
  readonly summarize: Summarize;

  state: ImapState = 'not_authenticated';
  tls: boolean;
  user: AuthUser | null = null;
  /** RFC 5161 ENABLE: CONDSTORE, QRESYNC, UTF8=ACCEPT, IMAP4rev2. */
  readonly enabled = new Set<string>();
  selected: SelectedMailbox | null = null;
  /** An AUTHENTICATE waiting for the client's next line. */
  auth: { tag: string; exchange: SaslExchange; mechanism: string } | null = null;
  /** The tag of the IDLE command in progress. */
  idleTag: string | null = null;
  mode: InputMode = 'command';
  /** RFC 9051 §6.4.4.1 / RFC 5182: the saved search result ($), as UIDs. */
  savedSearch: number[] = [];
  shuttingDown = false;

  #reader: CommandReader;
  #buf: Buffer = Buffer.alloc(0);
  #events: ReaderEvent[] = [];
  #out: (string | Buffer)[] = [];
  #outBytes = 0;
  #busy = false;
  #closed = false;
  #onClosed: (() => void)[] = [];
  #unwatch: (() => void) | null = null;
  #commands = 0;
  readonly #startedAt = Date.now();
  readonly #handlers = {
    data: (chunk: Buffer) => this.#onData(chunk),
    error: (err: Error) => {
      this.log.debug('socket error', { error: err });
      this.#teardown();
    },
    close: () => this.#teardown(),
    end: () => this.#teardown(),
    timeout: () => this.#onTimeout(),
  };

  constructor(o: ImapSessionOptions) {
    this.id = o.sessionId;
    this.socket = o.socket;
    this.role = o.role;
    this.config = o.config;
    this.services = o.services;
    this.summarize = o.summarize;
    this.clientIp = normalizeIp(o.socket.remoteAddress ?? 'unknown');
    this.log = o.logger.child({ session: o.sessionId, client: this.clientIp, proto: 'imap' });
    this.now = o.now ?? (() => new Date());
    this.tls = o.role === 'imaps';
    this.#reader = this.#newReader();
  }

  #newReader(): CommandReader {
    const l = this.config.imap;
    return new CommandReader({ maxLineLength: l.max_line, maxLiteralSize: l.max_literal, maxCommandSize: l.max_command, nonSyncLiterals: 'plus' });
  }

  start(): void {
    this.socket.setNoDelay(true);
    this.#attach(this.socket);
    this.#armTimer();
    // RFC 9051 §7.1.1: the greeting carries the capabilities so clients skip CAPABILITY.
    this.untagged(`OK [CAPABILITY ${capabilityList(this)}] ${this.config.hostname} IMAP ready`);
    this.flush();
  }

  get closed(): boolean {
    return this.#closed;
  }

  onClosed(fn: () => void): void {
    if (this.#closed) fn();
    else this.#onClosed.push(fn);
  }

  // ---- output

  /** Queue raw response bytes (must end with CRLF where the grammar needs it). */
  write(data: string | Buffer): void {
    this.#out.push(data);
    this.#outBytes += data.length;
  }

  untagged(text: string): void {
    this.write(`* ${text}\r\n`);
  }

  /** A tagged completion: `tag OK|NO|BAD [code] text`. */
  tagged(tag: string, status: 'OK' | 'NO' | 'BAD', text: string, code?: string): void {
    this.write(`${tag} ${status} ${code ? `[${code}] ` : ''}${text}\r\n`);
  }

  flush(): void {
    if (this.#out.length === 0 || this.#closed) return;
    const parts = this.#out;
    this.#out = [];
    this.#outBytes = 0;
    if (parts.length === 1) this.socket.write(parts[0]!);
    else {
      this.socket.cork();
      for (const p of parts) this.socket.write(p);
      this.socket.uncork();
    }
  }

  /** Flushes and, when the socket holds a lot, waits until it drained (large FETCH responses). */
  async flushIfLarge(): Promise<void> {
    if (this.#outBytes < MAX_UNFLUSHED_OUTPUT) return;
    this.flush();
    if (this.socket.writableLength > MAX_UNFLUSHED_OUTPUT && !this.#closed) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.socket.off('drain', done);
          this.socket.off('close', done);
          resolve();
        };
        this.socket.on('drain', done);
        this.socket.on('close', done);
      });
    }
  }

  /** Sends BYE (if given) after what is queued and closes the connection. */
  close(bye?: string): void {
    if (this.#closed) return;
    if (bye) this.untagged(`BYE ${bye}`);
    this.flush();
    this.mode = 'closed';
    this.state = 'logout';
    this.socket.end();
    // A client that never reads must not keep the socket: destroy after a bound.
    setTimeout(() => this.socket.destroy(), 5000).unref();
    this.#teardown();
  }

  /** Graceful shutdown (RFC 9051 §7.1.5): BYE now unless a command is running, then after it. */
  shutdown(): void {
    this.shuttingDown = true;
    if (!this.#busy) this.close('Server shutting down');
  }

  abort(): void {
    if (this.#closed) return;
    this.close('Server shutting down');
    this.socket.destroy();
  }

  // ---- login and change notifications

  /** After LOGIN/AUTHENTICATE succeeded: authenticated state, watch the account's mailboxes. */
  loggedIn(user: AuthUser): void {
    this.user = user;
    this.state = 'authenticated';
    this.log.info('authenticated', { user: user.address, app_password: user.appPassword ?? undefined });
    this.#armTimer();
    try {
      this.#unwatch = this.services.store.watch(user.accountId, (c) => this.#onChange(c));
    } catch (err) {
      this.log.warn('store.watch failed; changes are seen on the next command only', { error: err });
    }
  }

  #onChange(c: MailboxChange): void {
    const sel = this.selected;
    if (!sel || this.#closed || c.mailboxId !== sel.mailboxId) return;
    sel.dirty = true;
    // RFC 2177: during IDLE changes go out at once.
    if (this.mode === 'idle') void this.#pump();
  }

  // ---- input

  /** RFC 9051 §6.2.1: after `OK Begin TLS`, the handshake. Anything the
   * client pipelined after STARTTLS is plaintext that must never be executed
   * inside the TLS session (CVE-2011-0411): it is dropped here. */
  async startTls(): Promise<void> {
    const tls = this.services.tls!;
    this.flush();
    if (this.#buf.length > 0 || this.#events.length > 0 || !this.#reader.idle) {
      this.log.warn('discarded plaintext pipelined after STARTTLS', { bytes: this.#buf.length });
    }
    this.#buf = Buffer.alloc(0);
    this.#events = [];
    this.#reader = this.#newReader();
    const plain = this.socket;
    this.mode = 'tls';
    this.#detach(plain);
    plain.pause();
    plain.setTimeout(0);
    plain.once('close', this.#handlers.close);
    plain.on('error', () => {});
    let secure: Socket;
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
    this.#armTimer();
    this.tls = true;
    this.mode = 'command';
    this.log.debug('TLS established');
  }

  #attach(sock: Socket): void {
    const h = this.#handlers;
    sock.on('data', h.data).on('error', h.error).on('close', h.close).on('end', h.end).on('timeout', h.timeout);
  }

  #detach(sock: Socket): void {
    const h = this.#handlers;
    sock.off('data', h.data).off('error', h.error).off('close', h.close).off('end', h.end).off('timeout', h.timeout);
  }

  /** RFC 9051 §5.4: the autologout timer; shorter before login. */
  #armTimer(): void {
    if (this.#closed) return;
    const l = this.config.imap;
    this.socket.setTimeout(this.state === 'not_authenticated' ? l.login_timeout : l.autologout);
  }

  #onTimeout(): void {
    if (this.#closed) return;
    this.log.info('autologout', { state: this.state, mode: this.mode });
    this.close('Autologout; idle for too long');
  }

  #onData(chunk: Buffer): void {
    if (this.#closed || this.mode === 'tls') return;
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    if (this.#buf.length > MAX_BUFFERED_INPUT) this.socket.pause();
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (!this.#closed) {
        if (this.mode === 'command') {
          const ev = this.#events.shift();
          if (ev) {
            await this.#handleEvent(ev);
            continue;
          }
          // One line at a time (a literal's bytes pass through the reader
          // as they are), so bytes after IDLE or AUTHENTICATE stay here.
          if (this.#buf.length === 0) break;
          const lf = this.#buf.indexOf(10);
          const piece = lf < 0 ? this.#buf : this.#buf.subarray(0, lf + 1);
          this.#buf = lf < 0 ? Buffer.alloc(0) : this.#buf.subarray(lf + 1);
          for (const e of this.#reader.push(piece)) this.#events.push(e);
        } else if (this.mode === 'idle') {
          if (this.selected?.dirty) {
            await syncSelected(this, { expunge: true });
            this.flush();
            continue;
          }
          const line = this.#takeLine(AUTH_LINE_MAX);
          if (line === null) break;
          await continueIdle(this, line);
        } else if (this.mode === 'auth') {
          const line = this.#takeLine(AUTH_LINE_MAX);
          if (line === null) break;
          await continueAuthenticate(this, line);
        } else {
          break;
        }
        if (this.#outBytes >= MAX_UNFLUSHED_OUTPUT) this.flush();
      }
    } catch (err) {
      this.log.error('session failed', { error: err });
      this.close('Internal server error, closing');
    } finally {
      this.#busy = false;
    }
    if (this.#closed) return;
    if (this.shuttingDown && this.mode !== 'tls') {
      this.close('Server shutting down');
      return;
    }
    this.flush();
    if (this.socket.isPaused() && this.#buf.length <= MAX_BUFFERED_INPUT && this.mode !== 'tls') this.socket.resume();
  }

  async #handleEvent(ev: ReaderEvent): Promise<void> {
    switch (ev.type) {
      case 'continue':
        // RFC 9051 §7.5: the server is ready for the synchronizing literal.
        this.write('+ Ready for literal data\r\n');
        this.flush();
        return;
      case 'error': {
        const e = ev.error;
        // RFC 9051 §7.1.3 / RFC 7889: a line or literal over the limit is a tagged BAD (TOOBIG).
        const code = e.kind === 'syntax' ? 'PARSE' : 'TOOBIG';
        if (e.tag) this.tagged(e.tag, 'BAD', capitalize(e.message), code);
        else this.untagged(`BAD [${code}] ${capitalize(e.message)}`);
        return;
      }
      case 'command':
        this.#commands++;
        this.#armTimer();
        await runCommand(this, ev.tag, ev.tokens);
        return;
    }
  }

  /** One line (without CRLF) in auth/idle mode, or null if none is complete. */
  #takeLine(max: number): Buffer | null {
    const lf = this.#buf.indexOf(10);
    if (lf < 0) {
      if (this.#buf.length > max) {
        this.close('Line too long');
      }
      return null;
    }
    const raw = this.#buf.subarray(0, lf);
    this.#buf = this.#buf.subarray(lf + 1);
    return raw.length > 0 && raw[raw.length - 1] === 13 ? raw.subarray(0, raw.length - 1) : raw;
  }

  #teardown(): void {
    if (this.#closed) return;
    this.#closed = true;
    // One line per session for operators (DESIGN 15): who, how long, how much.
    this.log.info('session closed', { user: this.user?.address, tls: this.tls, commands: this.#commands, ms: Date.now() - this.#startedAt });
    this.mode = 'closed';
    this.state = 'logout';
    this.#unwatch?.();
    this.#unwatch = null;
    this.selected = null;
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.destroy();
    for (const fn of this.#onClosed.splice(0)) fn();
  }
}

function capitalize(s: string): string {
  return s.length > 0 ? s[0]!.toUpperCase() + s.slice(1) : s;
}

export { normalizeIp } from '../../net/networks.ts';

export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

/** RFC 9051 §6.2.3: LOGINDISABLED until TLS, unless the operator allows plaintext from loopback. */
export function plaintextLoginAllowed(s: ImapSession): boolean {
  return s.tls || (s.config.auth.allow_plaintext_loopback && isLoopback(s.clientIp));
}

/** The CAPABILITY list for the session's current state (RFC 9051 §7.2.2).
 * Only what works is advertised. */
export function capabilityList(s: ImapSession): string {
  const caps = ['IMAP4rev2', 'IMAP4rev1'];
  if (s.state === 'not_authenticated') {
    if (!s.tls && s.services.tls) caps.push('STARTTLS');
    if (!plaintextLoginAllowed(s)) caps.push('LOGINDISABLED');
    else if (s.services.auth) caps.push('AUTH=PLAIN', 'AUTH=LOGIN');
    caps.push('SASL-IR', 'LITERAL+', 'ENABLE', 'ID', 'IDLE');
    return caps.join(' ');
  }
  caps.push(
    'LITERAL+', 'ENABLE', 'ID', 'IDLE', 'NAMESPACE', 'UIDPLUS', 'MOVE', 'UNSELECT', 'CHILDREN', 'LIST-EXTENDED', 'LIST-STATUS',
    'SPECIAL-USE', 'CREATE-SPECIAL-USE', 'ESEARCH', 'SEARCHRES', 'CONDSTORE', 'QRESYNC', 'QUOTA', 'QUOTA=RES-STORAGE',
    `APPENDLIMIT=${s.config.imap.max_literal}`, 'UTF8=ACCEPT', 'STATUS=SIZE', 'BINARY',
  );
  return caps.join(' ');
}
