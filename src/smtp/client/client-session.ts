// SmtpClientConnection: one outbound SMTP connection, as the queue drives it.
// connect() opens TCP, reads the greeting (RFC 5321 §3.1, §4.3.1), says EHLO
// (HELO if EHLO is refused, §3.2), upgrades with STARTTLS when offered and the
// TLS mode allows (RFC 3207; opportunistic by default per RFC 7435, so the
// certificate is not verified then), and says EHLO again (RFC 3207 §4.2).
// send() runs one mail transaction (transaction.ts); rset() and quit() do what
// they say. Every wait has a deadline, and every failure is an
// SmtpClientError whose kind the queue maps to a deferral or a bounce. If the
// TLS handshake itself fails the connection is gone: reconnecting without TLS
// is the caller's decision (the error says kind 'tls', phase 'tls-handshake';
// queue/remote-delivery.ts retries once in plaintext in opportunistic mode).
// With `auth` set it logs in after the last EHLO (RFC 4954, AUTH PLAIN or
// LOGIN); mode 'implicit' does TLS before the greeting (port 465 style).

import { connect as netConnect, isIP } from 'node:net';
import type { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { SecureVersion, TLSSocket } from 'node:tls';
import type { Reply } from '../protocol/reply.ts';
import { noCapabilities, parseEhlo } from './ehlo.ts';
import type { Capabilities } from './ehlo.ts';
import { SmtpClientError, replyText } from './errors.ts';
import type { SmtpClientPhase } from './errors.ts';
import { ReplyReader } from './reply-reader.ts';
import type { ReplyParserLimits } from './reply-parser.ts';
import { runTransaction } from './transaction.ts';
import type { SendResult, Wire } from './transaction.ts';
import type { OutboundEnvelope } from './commands.ts';

export type { SendResult, RecipientResult } from './transaction.ts';
export type { OutboundEnvelope, OutboundRecipient } from './commands.ts';

export interface ClientTlsOptions {
  /** 'opportunistic': STARTTLS when offered, else plaintext; 'required': no STARTTLS → error; 'none': never;
   * 'implicit': TLS from the first byte (port 465 style, RFC 8314 §3.3). */
  mode: 'opportunistic' | 'required' | 'none' | 'implicit';
  /** SNI and, when verifying, the name the certificate must match (ignored if it is an IP). */
  servername?: string;
  /** Verify the certificate. Default: false for opportunistic (RFC 7435 §1.3), true for required. */
  rejectUnauthorized?: boolean;
  /** Default TLSv1.2 (RFC 8996, RFC 9325 §3.1.1). */
  minVersion?: SecureVersion;
  /** Trust anchors instead of the system's (tests, private smart hosts). */
  ca?: string | Buffer | (string | Buffer)[];
}

export interface ConnectOptions {
  /** IP address of the server (the queue resolves names first). */
  host: string;
  port: number;
  localAddress?: string;
  /** Our name for EHLO/HELO (RFC 5321 §4.1.1.1: a domain or address literal). */
  heloName: string;
  /** TCP connect deadline. Default 30 s. */
  connectTimeoutMs?: number;
  /** Deadline for each reply to a command, and the greeting (RFC 5321 §4.5.3.2: 5 min). Default 5 min. */
  commandTimeoutMs?: number;
  /** Deadline for sending the message content and getting its final reply (§4.5.3.2.6: 10 min). Default 10 min. */
  dataTimeoutMs?: number;
  tls: ClientTlsOptions;
  /** Log in after TLS (RFC 4954): AUTH PLAIN, or LOGIN when PLAIN is not offered. A refusal is
   * an SmtpClientError kind 'reply' phase 'auth'. The password never appears in a trace. */
  auth?: { username: string; password: string };
  /** Reply size limits (defaults in reply-parser.ts). */
  replyLimits?: ReplyParserLimits;
  /** Sees every command line sent ("C: …", message content excluded) and reply received ("S: …"). */
  onTrace?: (line: string) => void;
}

export interface TlsInfo {
  version: string;
  cipher: string;
  /** The certificate verified against the trust anchors for `servername`. */
  authorized: boolean;
  authorizationError: string | null;
}

type ResolvedOptions = ConnectOptions & Required<Pick<ConnectOptions, 'connectTimeoutMs' | 'commandTimeoutMs' | 'dataTimeoutMs'>>;

export class SmtpClientConnection {
  #socket: Socket | TLSSocket;
  #reader: ReplyReader;
  readonly #opts: ResolvedOptions;
  #caps: Capabilities = noCapabilities();
  #greeting: Reply | null = null;
  #ehlo: Reply | null = null;
  #tls: TlsInfo | null = null;
  #starttlsRefused: Reply | null = null;
  #busy = false;
  #dirty = false;
  #closed = false;

  private constructor(socket: Socket, opts: ResolvedOptions) {
    this.#socket = socket;
    this.#opts = opts;
    this.#reader = this.#newReader(socket);
  }

  /** Connects, reads the greeting, says EHLO (or HELO) and does STARTTLS as `tls.mode` says. */
  static async connect(options: ConnectOptions): Promise<SmtpClientConnection> {
    // The name goes into a command line: nothing that could end or split it.
    if (!/^[\x21-\x7e]+$/.test(options.heloName)) throw new TypeError(`bad EHLO name ${JSON.stringify(options.heloName)}`);
    const opts = { connectTimeoutMs: 30_000, commandTimeoutMs: 300_000, dataTimeoutMs: 600_000, ...options };
    const socket = await openSocket(opts);
    const conn = new SmtpClientConnection(socket, opts);
    try {
      if (opts.tls.mode === 'implicit') await conn.#handshake();
      await conn.#start();
      if (opts.auth) await conn.#authenticate(opts.auth);
      return conn;
    } catch (err) {
      conn.close();
      throw err;
    }
  }

  /** What the server advertised in its last EHLO (nothing after HELO). */
  get capabilities(): Capabilities {
    return this.#caps;
  }

  get greeting(): Reply | null {
    return this.#greeting;
  }

  /** The EHLO (or HELO) reply in force. */
  get ehloReply(): Reply | null {
    return this.#ehlo;
  }

  /** TLS in use, or null for plaintext. */
  get tlsInfo(): TlsInfo | null {
    return this.#tls;
  }

  /** The server's answer when it offered STARTTLS but refused it (opportunistic mode went on in plaintext). */
  get starttlsRefused(): Reply | null {
    return this.#starttlsRefused;
  }

  get remoteAddress(): string {
    return this.#opts.host;
  }

  /** False once the connection failed, was closed or the server said 421. */
  get usable(): boolean {
    return !this.#closed && this.#reader.failure === null;
  }

  /**
   * One mail transaction (see transaction.ts). Negative replies are results,
   * not errors; errors are timeouts, protocol violations and lost connections.
   */
  async send(envelope: OutboundEnvelope, content: Buffer | readonly Buffer[]): Promise<SendResult> {
    if (this.#busy) throw new Error('SmtpClientConnection.send: a transaction is already running');
    this.#checkOpen('mail');
    this.#busy = true;
    try {
      if (this.#dirty) await this.rset();
      const wire: Wire = {
        caps: this.#caps,
        commandTimeoutMs: this.#opts.commandTimeoutMs,
        dataTimeoutMs: this.#opts.dataTimeoutMs,
        write: (text) => this.#write(text),
        writeBody: (pieces, deadline) => this.#writeBody(pieces, deadline),
        read: (timeoutMs, phase) => this.#read(timeoutMs, phase),
      };
      const result = await runTransaction(wire, envelope, content);
      this.#dirty = result.open;
      return result.result;
    } catch (err) {
      this.close();
      throw err;
    } finally {
      this.#busy = false;
    }
  }

  /** RSET (RFC 5321 §4.1.1.5): ends any transaction; throws unless 250. */
  async rset(): Promise<void> {
    this.#checkOpen('rset');
    this.#write('RSET\r\n');
    const r = await this.#read(this.#opts.commandTimeoutMs, 'rset');
    if (r.code !== 250) {
      this.close();
      throw new SmtpClientError('reply', 'rset', `RSET refused: ${replyText(r)}`, { reply: r });
    }
    this.#dirty = false;
  }

  /** QUIT (RFC 5321 §4.1.1.10), waiting briefly for 221, then closes. Never throws. */
  async quit(): Promise<void> {
    if (this.usable) {
      try {
        this.#write('QUIT\r\n');
        await this.#read(Math.min(this.#opts.commandTimeoutMs, 10_000), 'quit');
      } catch {
        // The server may close before answering; that is a fine way to say goodbye.
      }
    }
    this.close();
  }

  /** Closes the connection at once. */
  close(): void {
    this.#closed = true;
    this.#socket.destroy();
  }

  // ---- connection set-up

  async #start(): Promise<void> {
    // RFC 5321 §3.1 / §4.3.1: 220 greets; 554 (or anything else) means no service here.
    const greeting = await this.#read(this.#opts.commandTimeoutMs, 'greeting');
    this.#greeting = greeting;
    if (greeting.code < 200 || greeting.code > 299) {
      await this.quit();
      throw new SmtpClientError('reply', 'greeting', `server greeting refused service: ${replyText(greeting)}`, { reply: greeting });
    }
    await this.#hello();
    const mode = this.#opts.tls.mode;
    if (mode === 'none' || mode === 'implicit') return;
    if (!this.#caps.startTls) {
      if (mode === 'required') {
        await this.quit();
        throw new SmtpClientError('tls', 'starttls', 'TLS is required but the server does not offer STARTTLS');
      }
      return;
    }
    await this.#startTls();
  }

  /** EHLO, falling back to HELO when EHLO gets a 5xx (RFC 5321 §3.2, §4.1.4). */
  async #hello(): Promise<void> {
    this.#write(`EHLO ${this.#opts.heloName}\r\n`);
    const ehlo = await this.#read(this.#opts.commandTimeoutMs, 'ehlo');
    if (ehlo.code === 250) {
      this.#ehlo = ehlo;
      this.#caps = parseEhlo(ehlo);
      return;
    }
    if (ehlo.code < 500 || this.#tls) {
      // A 4xx (e.g. 421) is the server's state, not EHLO support; after TLS, HELO would lose the extensions.
      await this.quit();
      throw new SmtpClientError('reply', 'ehlo', `EHLO refused: ${replyText(ehlo)}`, { reply: ehlo });
    }
    this.#write(`HELO ${this.#opts.heloName}\r\n`);
    const helo = await this.#read(this.#opts.commandTimeoutMs, 'helo');
    if (helo.code !== 250) {
      await this.quit();
      throw new SmtpClientError('reply', 'helo', `HELO refused: ${replyText(helo)}`, { reply: helo });
    }
    this.#ehlo = helo;
    this.#caps = noCapabilities();
  }

  async #startTls(): Promise<void> {
    const t = this.#opts.tls;
    this.#write('STARTTLS\r\n');
    const r = await this.#read(this.#opts.commandTimeoutMs, 'starttls');
    if (r.code !== 220) {
      // RFC 3207 §4: 454 (or a 5xx) refuses TLS; the session goes on in plaintext if we allow it.
      if (t.mode === 'required') {
        await this.quit();
        throw new SmtpClientError('tls', 'starttls', `STARTTLS refused: ${replyText(r)}`, { reply: r });
      }
      this.#starttlsRefused = r;
      return;
    }
    // Bytes after the 220 were sent before TLS and would be read as if protected
    // (reply injection, cf. CVE-2011-0411 on the server side): refuse them.
    if (this.#reader.pending) throw new SmtpClientError('protocol', 'starttls', 'the server sent data after its STARTTLS reply, before TLS');
    await this.#handshake();
    // RFC 3207 §4.2: forget what was learnt before TLS and ask again.
    this.#caps = noCapabilities();
    await this.#hello();
  }

  /** TLS over the current (plaintext) socket: after STARTTLS's 220, or at once for implicit TLS. */
  async #handshake(): Promise<void> {
    const t = this.#opts.tls;
    this.#reader.detach();
    const plain = this.#socket as Socket;
    const servername = t.servername && isIP(t.servername) === 0 ? t.servername : undefined; // RFC 6066 §3: no IPs in SNI
    const secure = tlsConnect({
      socket: plain,
      servername,
      rejectUnauthorized: t.rejectUnauthorized ?? (t.mode === 'required' || t.mode === 'implicit'),
      minVersion: t.minVersion ?? 'TLSv1.2',
      ca: t.ca,
    });
    this.#socket = secure;
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error & { code?: string }) => {
        clearTimeout(timer);
        reject(new SmtpClientError('tls', 'tls-handshake', `TLS handshake failed: ${err.message}`, { code: err.code, cause: err }));
      };
      const timer = setTimeout(() => fail(new Error('timed out')), this.#opts.commandTimeoutMs);
      secure.once('error', fail);
      secure.once('secureConnect', () => {
        clearTimeout(timer);
        secure.off('error', fail);
        resolve();
      });
    });
    const cipher = secure.getCipher();
    this.#tls = {
      version: secure.getProtocol() ?? 'unknown',
      cipher: cipher?.standardName ?? cipher?.name ?? 'unknown',
      authorized: secure.authorized,
      authorizationError: secure.authorizationError ? String(secure.authorizationError) : null,
    };
    this.#reader = this.#newReader(secure);
  }

  /** RFC 4954: AUTH PLAIN (RFC 4616), or LOGIN when only that is offered; 235 = logged in. */
  async #authenticate(auth: { username: string; password: string }): Promise<void> {
    const mechs = this.#caps.auth;
    const fail = async (message: string, reply?: Reply) => {
      await this.quit();
      throw new SmtpClientError('reply', 'auth', message, { reply });
    };
    const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
    const t = this.#opts.commandTimeoutMs;
    let r: Reply;
    if (mechs.includes('PLAIN')) {
      this.#writeSecret(`AUTH PLAIN ${b64(`\0${auth.username}\0${auth.password}`)}\r\n`, 'AUTH PLAIN <credentials>');
      r = await this.#read(t, 'auth');
    } else if (mechs.includes('LOGIN')) {
      this.#write('AUTH LOGIN\r\n');
      r = await this.#read(t, 'auth');
      if (r.code === 334) {
        this.#writeSecret(`${b64(auth.username)}\r\n`, '<user name>');
        r = await this.#read(t, 'auth');
        if (r.code === 334) {
          this.#writeSecret(`${b64(auth.password)}\r\n`, '<password>');
          r = await this.#read(t, 'auth');
        }
      }
    } else {
      return fail(`the server offers no login mechanism we use (PLAIN, LOGIN); it offers: ${mechs.join(' ') || 'none'}`);
    }
    if (r.code === 334) {
      // A challenge we did not expect: cancel the exchange (RFC 4954 §4).
      this.#write('*\r\n');
      await this.#read(t, 'auth').catch(() => null);
      return fail(`login refused: unexpected challenge ${replyText(r)}`, r);
    }
    if (r.code !== 235) return fail(`login refused: ${replyText(r)}`, r);
  }

  // ---- I/O

  #newReader(socket: Socket | TLSSocket): ReplyReader {
    const trace = this.#opts.onTrace;
    return new ReplyReader(socket, this.#opts.replyLimits, trace ? (line) => trace(`S: ${line}`) : undefined);
  }

  #checkOpen(phase: SmtpClientPhase): void {
    if (this.#reader.failure) throw this.#reader.failure;
    if (this.#closed) throw new SmtpClientError('closed', phase, 'the connection is closed');
  }

  /** Writes a line with credentials; a trace shows `shown` instead. */
  #writeSecret(text: string, shown: string): void {
    this.#opts.onTrace?.(`C: ${shown}`);
    this.#socket.write(text);
  }

  #write(text: string): void {
    if (this.#opts.onTrace) for (const line of text.split('\r\n').slice(0, -1)) this.#opts.onTrace(`C: ${line}`);
    this.#socket.write(text);
  }

  async #read(timeoutMs: number, phase: SmtpClientPhase): Promise<Reply> {
    const r = await this.#reader.read(timeoutMs, phase);
    // RFC 5321 §3.8: 421 means the server is closing the channel.
    if (r.code === 421) this.#closed = true;
    return r;
  }

  /** Writes the content in batches of about 64 KiB, waiting for the socket to drain, by `deadline`. */
  async #writeBody(pieces: Iterable<Buffer>, deadline: number): Promise<void> {
    const socket = this.#socket;
    let batch: Buffer[] = [];
    let size = 0;
    const flush = async () => {
      const data = batch.length === 1 ? batch[0] : Buffer.concat(batch);
      batch = [];
      size = 0;
      if (socket.write(data)) return;
      await new Promise<void>((resolve, reject) => {
        const done = (err?: SmtpClientError) => {
          clearTimeout(timer);
          socket.off('drain', onDrain);
          socket.off('close', onClose);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = () => done();
        const onClose = () => done(this.#reader.failure ?? new SmtpClientError('closed', 'data', 'the connection closed while sending the message'));
        const timer = setTimeout(() => {
          socket.destroy();
          done(new SmtpClientError('timeout', 'data', 'the server did not take the message content in time'));
        }, Math.max(0, deadline - Date.now()));
        socket.on('drain', onDrain);
        socket.on('close', onClose);
      });
    };
    for (const piece of pieces) {
      if (this.#reader.failure) throw this.#reader.failure;
      batch.push(piece);
      size += piece.length;
      if (size >= 65536) await flush();
    }
    if (batch.length > 0) await flush();
  }
}

function openSocket(opts: ConnectOptions & { connectTimeoutMs: number }): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = netConnect({ host: opts.host, port: opts.port, localAddress: opts.localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SmtpClientError('timeout', 'connect', `connecting to ${where(opts)} timed out`));
    }, opts.connectTimeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new SmtpClientError('connect', 'connect', `cannot connect to ${where(opts)}: ${err.code ?? err.message}`, { code: err.code, cause: err }));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

function where(opts: ConnectOptions): string {
  return isIP(opts.host) === 6 ? `[${opts.host}]:${opts.port}` : `${opts.host}:${opts.port}`;
}
