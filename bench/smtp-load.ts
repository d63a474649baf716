// SMTP load generator that can target any SMTP server (Mailroom, Postfix, a
// sink): N concurrent sessions, each on one connection that it reuses for many
// transactions, sending M messages (or for a duration) of S bytes to R
// recipients each. MAIL+RCPTs+DATA go out in one write when the server
// advertises PIPELINING (RFC 2920), the body after 354; with --bdat the whole
// transaction (MAIL+RCPTs+BDAT n LAST+chunk) is one write (RFC 3030). The
// message is built once (RFC 5322 headers, printable lines ≤ 78 chars,
// dot-stuffed for DATA per RFC 5321 §4.5.2) and each session patches its own
// copy's Message-ID in place, so steady state allocates next to nothing per
// message; replies are parsed incrementally with indexOf on the chunk. Prints
// messages sent/accepted/rejected, msg/s, p50/p90/p99 latency (MAIL → final
// reply) and, with --server-pid, the server's peak RSS. Always ends: per-reply
// and total timeouts. `runSmtpLoad(opts)` runs it in-process.
//
// Submission: --tls speaks TLS from the first byte (RFC 8314 §3.3, port 465),
// --starttls upgrades after EHLO (RFC 3207: EHLO, STARTTLS, 220, handshake,
// EHLO again), and --auth user:password logs in with AUTH PLAIN and an
// initial response (RFC 4954, RFC 4616) once TLS is up. Each session does its
// handshake and login once, then pipelines its transactions as above. The
// server's certificate is not verified (benchmark servers use self-signed
// ones) but nothing older than TLS 1.2 is offered.

import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';

export interface LoadOptions {
  host: string;
  port: number;
  /** Concurrent sessions (connections). */
  sessions: number;
  /** Messages per session; 0 = unlimited (then `durationMs` must be set). */
  messages: number;
  /** Stop starting new transactions after this long; 0 = no duration limit. */
  durationMs: number;
  /** Message size in bytes (headers + body, CRLF line ends, before dot-stuffing). */
  size: number;
  /** Recipients per message. */
  rcpts: number;
  /** Recipient template with `{n}` (n runs over toFirst..toFirst+toRange-1), or a fixed list. */
  to: string | string[];
  toFirst: number;
  toRange: number;
  from: string;
  /** Use BDAT (RFC 3030) when the server advertises CHUNKING. */
  bdat: boolean;
  /** false: never pipeline even if advertised. */
  pipelining: boolean;
  ehloName: string;
  /** One reply must come within this (ms). */
  replyTimeoutMs: number;
  /** The whole run ends by this (ms), whatever happens. */
  totalTimeoutMs: number;
  /** Connect timeout (ms). */
  connectTimeoutMs: number;
  /** Reconnects allowed per session after the server closes or says 421. */
  maxReconnects: number;
  /** Sample this process's RSS (and, with serverTree, its descendants'). */
  serverPid?: number;
  serverTree: boolean;
  /** Sampling interval (ms); default 100, or 500 with serverTree (reading
   * smaps_rollup costs ~0.2 ms per process, and that CPU is taken from the run). */
  rssIntervalMs?: number;
  /** Progress line on stderr every second. */
  progress: boolean;
  /** 'implicit': TLS from the first byte; 'starttls': EHLO, STARTTLS, EHLO again; 'none': plaintext. */
  tls: TlsMode;
  /** Oldest TLS version offered (≥ TLSv1.2). */
  tlsMinVersion: tls.SecureVersion;
  /** Newest TLS version offered (default: Node's, i.e. TLSv1.3). */
  tlsMaxVersion?: tls.SecureVersion;
  /** SNI name; none by default (the target is an IP address). */
  tlsServername?: string;
  /** AUTH PLAIN with these credentials after TLS (and after EHLO); `from` should then be the user's address. */
  auth?: { user: string; password: string };
  /** Allow AUTH without TLS (servers allow it on loopback at most, e.g. Mailroom's auth.allow_plaintext_loopback). */
  authInClear: boolean;
}

export type TlsMode = 'none' | 'implicit' | 'starttls';

export interface RssStats {
  pid: number;
  tree: boolean;
  /** Largest sampled VmRSS (with serverTree: largest sum of Pss over the tree), bytes. */
  peakRss: number;
  /** VmHWM of the pid itself (lifetime peak), bytes; 0 if unreadable. */
  vmHwm: number;
  samples: number;
  intervalMs: number;
}

export interface LoadResult {
  target: string;
  sessions: number;
  size: number;
  rcpts: number;
  mode: 'DATA' | 'BDAT';
  pipelining: boolean;
  /** Wall clock when the first connection was opened (ms since epoch). */
  startedAt: number;
  /** Transactions started (MAIL sent). */
  sent: number;
  /** Final reply 2xx. */
  accepted: number;
  /** Transactions refused, by "STAGE CODE" (e.g. "RCPT 550", "DATA 554", "END 451"). */
  rejected: Record<string, number>;
  rejectedTotal: number;
  /** Single recipients refused in transactions that went on with others. */
  rcptRejected: Record<string, number>;
  /** Transactions cut short by an error, plus connections that failed, by kind. */
  errors: Record<string, number>;
  errorsTotal: number;
  /** Seconds from start until the last session finished. */
  elapsed: number;
  /** accepted / elapsed. */
  msgPerSec: number;
  /** Milliseconds, MAIL written → final reply, accepted and refused transactions. */
  latency: { p50: number; p90: number; p99: number; max: number; mean: number };
  /** Load generator's own CPU seconds (user+system) — near elapsed means it is the bottleneck. */
  clientCpu: number;
  /** Milliseconds from opening a connection until it could send MAIL: TCP
   * connect, greeting, EHLO, and TLS handshake / STARTTLS / AUTH when used. */
  setup: { count: number; p50: number; p99: number; max: number; mean: number };
  /** accepted/s while every session was busy: from when the last one had
   * finished its setup (connect, TLS, AUTH) to when the first one ended; null
   * if that window was under a fifth of the run. The rate without the login storm. */
  steadyMsgPerSec: number | null;
  /** TLS as negotiated by the first session that got through it. */
  tls?: { mode: TlsMode; version: string; cipher: string; authenticated: boolean };
  server?: RssStats;
  timedOut: boolean;
}

export const DEFAULTS: LoadOptions = {
  host: '127.0.0.1',
  port: 2525,
  sessions: 50,
  messages: 100,
  durationMs: 0,
  size: 10 * 1024,
  rcpts: 1,
  to: 'user{n}@example.org',
  toFirst: 1,
  toRange: 100,
  from: 'bench@example.net',
  bdat: false,
  pipelining: true,
  ehloName: 'loadgen.example.net',
  replyTimeoutMs: 30_000,
  totalTimeoutMs: 600_000,
  connectTimeoutMs: 10_000,
  maxReconnects: 5,
  serverPid: undefined,
  serverTree: false,
  progress: false,
  tls: 'none',
  tlsMinVersion: 'TLSv1.2',
  tlsMaxVersion: undefined,
  tlsServername: undefined,
  auth: undefined,
  authInClear: false,
};

// ---------------------------------------------------------------- message

export interface BuiltMessage {
  /** Raw message (CRLF), exactly `size` bytes; what BDAT sends. */
  raw: Buffer;
  /** Dot-stuffed message followed by ".\r\n"; what goes after 354. */
  data: Buffer;
  /** Offsets of the 12-digit counter inside the Message-ID, in raw and data. */
  idOffsetRaw: number;
  idOffsetData: number;
}

const ID_DIGITS = 12;
const LINE_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,;:-_+=/()!?';

/** RFC 5321 §4.5.2: a line starting with "." gets one more "." in DATA; the
 * content ends with CRLF "." CRLF. The input must use CRLF line ends and end with CRLF. */
export function dotStuff(raw: Buffer): Buffer {
  const parts: Buffer[] = [];
  let start = 0;
  let lineStart = 0;
  while (lineStart < raw.length) {
    if (raw[lineStart] === 0x2e) {
      parts.push(raw.subarray(start, lineStart), Buffer.from('.'));
      start = lineStart;
    }
    const nl = raw.indexOf(10, lineStart);
    if (nl < 0) break;
    lineStart = nl + 1;
  }
  parts.push(raw.subarray(start), Buffer.from('.\r\n'));
  return Buffer.concat(parts);
}

/** Builds a valid RFC 5322 message of exactly `size` bytes (minimum ~400). */
export function buildMessage(opts: { size: number; from: string; to: string; sessionTag?: string; date?: Date }): BuiltMessage {
  const date = (opts.date ?? new Date()).toUTCString().replace('GMT', '+0000');
  const tag = opts.sessionTag ?? `${process.pid}`;
  const idPlaceholder = '0'.repeat(ID_DIGITS);
  const headers =
    `Date: ${date}\r\n` +
    `From: Load Generator <${opts.from}>\r\n` +
    `To: <${opts.to}>\r\n` +
    `Subject: Mailroom load test message\r\n` +
    `Message-ID: <bench.${tag}.${idPlaceholder}@loadgen.example.net>\r\n` +
    `MIME-Version: 1.0\r\n` +
    `Content-Type: text/plain; charset=us-ascii\r\n` +
    `\r\n`;
  const body: string[] = [];
  // One line starting with "." so that the server's dot-unstuffing is exercised.
  const dotLine = '. this line starts with a dot, which DATA sends doubled\r\n';
  body.push(dotLine);
  let len = headers.length + dotLine.length;
  let seed = 12345;
  // Every line is 1..78 printable characters + CRLF (RFC 5322 §2.1.1).
  const target = Math.max(opts.size, len + 3);
  while (len < target) {
    const remaining = target - len;
    // The last line takes what is left; otherwise 78, or 75 so that ≥ 3 bytes remain for a last line.
    const n = remaining <= 80 ? remaining - 2 : remaining - 80 < 3 ? 75 : 78;
    let line = '';
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      line += LINE_CHARS[seed % LINE_CHARS.length];
    }
    // No trailing or leading space (keeps it canonical for DKIM and friends).
    if (line.endsWith(' ')) line = line.slice(0, -1) + 'z';
    if (line.startsWith(' ')) line = 'z' + line.slice(1);
    body.push(line + '\r\n');
    len += n + 2;
  }
  const raw = Buffer.from(headers + body.join(''), 'latin1');
  const data = dotStuff(raw);
  const marker = Buffer.from(`bench.${tag}.`);
  const idOffsetRaw = raw.indexOf(marker) + marker.length;
  const idOffsetData = data.indexOf(marker) + marker.length;
  return { raw, data, idOffsetRaw, idOffsetData };
}

/** Writes `n` as ID_DIGITS decimal digits into buf at off, in place. */
function patchCounter(buf: Buffer, off: number, n: number): void {
  for (let i = off + ID_DIGITS - 1; i >= off; i--) {
    buf[i] = 48 + (n % 10);
    n = Math.floor(n / 10);
  }
}

// ---------------------------------------------------------------- envelopes

class Envelopes {
  readonly period: number;
  private readonly addr: (k: number) => string;
  private readonly cache = new Map<string, (Buffer | undefined)[]>();
  private readonly rcpts: number;
  private readonly from: string;

  constructor(opts: LoadOptions) {
    this.rcpts = opts.rcpts;
    this.from = opts.from;
    if (Array.isArray(opts.to)) {
      const list = opts.to;
      if (list.length === 0) throw new Error('empty recipient list');
      this.period = list.length;
      this.addr = (k) => list[k % list.length]!;
    } else {
      const tpl = opts.to;
      const first = opts.toFirst;
      const range = Math.max(1, opts.toRange);
      this.period = tpl.includes('{n}') ? range : 1;
      this.addr = (k) => tpl.replaceAll('{n}', String(first + (k % range)));
    }
  }

  firstAddress(): string {
    return this.addr(0);
  }

  /** Envelope for global message number g; `tail` is "DATA\r\n" or "BDAT n LAST\r\n". */
  get(g: number, mailParams: string, tail: string): Buffer {
    const key = mailParams + '|' + tail;
    let arr = this.cache.get(key);
    // Message g starts at recipient index g*R; the envelope repeats with this period.
    const p = this.period;
    const idx = p <= 100_000 ? (g % p) : -1;
    if (idx >= 0) {
      if (!arr) {
        arr = new Array<Buffer | undefined>(p);
        this.cache.set(key, arr);
      }
      const hit = arr[idx];
      if (hit) return hit;
    }
    let s = `MAIL FROM:<${this.from}>${mailParams}\r\n`;
    const base = (idx >= 0 ? idx : g) * this.rcpts;
    for (let j = 0; j < this.rcpts; j++) s += `RCPT TO:<${this.addr(base + j)}>\r\n`;
    s += tail;
    const buf = Buffer.from(s, 'latin1');
    if (idx >= 0) arr![idx] = buf;
    return buf;
  }
}

// ---------------------------------------------------------------- stats

export class Latencies {
  private buf = new Float64Array(1 << 16);
  n = 0;
  add(ms: number): void {
    if (this.n === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.n++] = ms;
  }
  summary(): LoadResult['latency'] {
    if (this.n === 0) return { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
    const a = this.buf.subarray(0, this.n).sort();
    const q = (p: number) => a[Math.min(a.length - 1, Math.max(0, Math.ceil(p * a.length) - 1))]!;
    let sum = 0;
    for (let i = 0; i < a.length; i++) sum += a[i]!;
    return { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: a[a.length - 1]!, mean: sum / a.length };
  }
}

function inc(rec: Record<string, number>, key: string): void {
  rec[key] = (rec[key] ?? 0) + 1;
}

// ---------------------------------------------------------------- RSS sampling

function readStatusKb(pid: number, field: 'VmRSS' | 'VmHWM' | 'Pss'): number {
  try {
    // Pss (proportional set size: shared pages divided among their users) adds
    // up correctly over a process tree; VmRSS would count shared libraries once per process.
    const s = fs.readFileSync(field === 'Pss' ? `/proc/${pid}/smaps_rollup` : `/proc/${pid}/status`, 'latin1');
    const i = s.indexOf(field + ':');
    if (i < 0) return 0;
    return parseInt(s.slice(i + field.length + 1), 10) || 0;
  } catch {
    return 0;
  }
}

/** The pid and its descendants, from /proc/PID/task/TID/children (cheap:
 * no scan of every process on the machine). */
function descendants(root: number): number[] {
  const out: number[] = [];
  const stack = [root];
  while (stack.length) {
    const p = stack.pop()!;
    out.push(p);
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      continue; // gone
    }
    for (const t of tasks) {
      let kids: string;
      try {
        kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'latin1');
      } catch {
        continue;
      }
      for (const k of kids.split(' ')) if (k.length > 0) stack.push(Number(k));
    }
  }
  return out;
}

/** Samples VmRSS every `intervalMs` (with `tree`: Pss summed over the pid and its descendants). */
export function startRssSampler(pid: number, tree = false, intervalMs = 100): { stop(): RssStats } {
  let peak = 0;
  let samples = 0;
  const sample = () => {
    let kb = 0;
    if (tree) for (const p of descendants(pid)) kb += readStatusKb(p, 'Pss');
    else kb = readStatusKb(pid, 'VmRSS');
    if (kb > peak) peak = kb;
    samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { pid, tree, peakRss: peak * 1024, vmHwm: readStatusKb(pid, 'VmHWM') * 1024, samples, intervalMs };
    },
  };
}

// ---------------------------------------------------------------- sessions

const S_CONNECT = 0; // TCP connect (and, for implicit TLS, the handshake)
const S_GREETING = 1;
const S_EHLO = 2;
const S_STARTTLS = 3; // STARTTLS sent, waiting for 220
const S_HANDSHAKE = 4; // STARTTLS handshake in progress
const S_AUTH = 5; // AUTH PLAIN sent, waiting for 235
const S_IDLE = 6;
const S_ENVELOPE = 7; // waiting for RSET?/MAIL/RCPT/DATA|BDAT replies
const S_BODY = 8; // body written, waiting for the final reply
const S_QUIT = 9;
const S_DONE = 10;

const MAX_LINE = 8192;

interface Shared {
  opts: LoadOptions;
  msg: BuiltMessage;
  env: Envelopes;
  lat: Latencies;
  /** Connection opened → ready for MAIL. */
  setupLat: Latencies;
  /** TLS client options shared by every session (null: plaintext). */
  tlsOpts: tls.ConnectionOptions | null;
  /** "AUTH PLAIN <base64>\r\n", or null. */
  authLine: string | null;
  result: LoadResult;
  /** Global message counter (patched into Message-ID, picks the envelope). */
  next: number;
  deadline: number; // performance.now() after which no new transaction starts (Infinity if none)
  stopping: boolean;
  /** Sessions that have been ready at least once; when all are: the time and accepted count then. */
  everReady: number;
  allReadyAt: number;
  acceptedAtAllReady: number;
  /** When the first session ended, and the accepted count then. */
  firstDoneAt: number;
  acceptedAtFirstDone: number;
}

class Session {
  private readonly sh: Shared;
  private readonly id: number;
  private socket: net.Socket | null = null;
  private state = S_CONNECT;
  private partial: Buffer | null = null;
  private ehloLines: string[] | null = null;
  private caps = { pipelining: false, chunking: false, size: false, starttls: false };
  /** The current connection speaks TLS. */
  private secure = false;
  /** performance.now() when the current connection was opened. */
  private connectStart = 0;
  private wasReady = false;
  private useBdat = false;
  private pipelined = false;
  private mailParams = '';
  private tail = 'DATA\r\n';
  /** This session's copy of the message (patched in place), DATA or BDAT form. */
  private body: Buffer;
  private idOffset: number;

  private remaining: number; // messages left (Infinity if duration-bound)
  private reconnects = 0;
  waitingSince = 0; // performance.now() when we started waiting for a reply; 0 = not waiting

  // Transaction in flight.
  private txStart = 0;
  private replyIdx = 0; // -1 = RSET reply expected first
  private pending: Buffer | null = null; // non-pipelined: envelope lines still to send
  private pendingPos = 0;
  private mailOk = false;
  private rcptOk = 0;
  private needRset = false;
  private inTx = false;
  private failedKey: string | null = null;
  private firstRcptCode: number | null = null;
  private onDone: () => void;

  constructor(sh: Shared, id: number, onDone: () => void) {
    this.sh = sh;
    this.id = id;
    this.onDone = onDone;
    this.remaining = sh.opts.messages > 0 ? sh.opts.messages : Infinity;
    const useBdatForm = sh.opts.bdat;
    this.body = Buffer.from(useBdatForm ? sh.msg.raw : sh.msg.data);
    this.idOffset = useBdatForm ? sh.msg.idOffsetRaw : sh.msg.idOffsetData;
  }

  start(): void {
    this.connect();
  }

  private connect(): void {
    const { opts } = this.sh;
    this.state = S_CONNECT;
    this.partial = null;
    this.ehloLines = null;
    this.caps = { pipelining: false, chunking: false, size: false, starttls: false };
    const implicit = opts.tls === 'implicit';
    this.secure = implicit;
    const sock: net.Socket = implicit
      ? tls.connect({ ...this.sh.tlsOpts!, host: opts.host, port: opts.port })
      : net.connect({ host: opts.host, port: opts.port, noDelay: true });
    if (implicit) sock.setNoDelay(true);
    this.socket = sock;
    this.connectStart = this.waitingSince = performance.now();
    const connectTimer = setTimeout(() => this.fail('connect-timeout', sock), opts.connectTimeoutMs);
    // For implicit TLS the greeting can only come after the handshake.
    sock.once(implicit ? 'secureConnect' : 'connect', () => {
      clearTimeout(connectTimer);
      if (this.socket !== sock) return;
      if (implicit) this.noteTls(sock as tls.TLSSocket);
      this.state = S_GREETING;
      this.waitingSince = performance.now();
    });
    this.listen(sock, connectTimer);
  }

  private listen(sock: net.Socket, connectTimer?: NodeJS.Timeout): void {
    sock.on('data', (chunk: Buffer) => {
      if (this.socket === sock) this.onData(chunk);
    });
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(connectTimer);
      this.fail(err.code ?? 'socket-error', sock);
    });
    sock.on('close', () => {
      clearTimeout(connectTimer);
      if (this.socket === sock && this.state !== S_DONE) {
        this.fail(this.state === S_QUIT ? '' : 'closed-by-server', sock);
      }
    });
  }

  /** After "220 Ready to start TLS": the handshake over the same connection.
   * Only what the TLS socket reads counts from here on (RFC 3207 §4.2). */
  private startTls(): void {
    const plain = this.socket!;
    plain.removeAllListeners('data');
    this.state = S_HANDSHAKE;
    const sock = tls.connect({ ...this.sh.tlsOpts!, socket: plain });
    this.socket = sock;
    // The plaintext socket's own 'error'/'close' handlers now see this.socket
    // !== plain and stay quiet; the TLS socket reports for both.
    sock.once('secureConnect', () => {
      if (this.socket !== sock) return;
      this.secure = true;
      this.noteTls(sock);
      this.state = S_EHLO;
      this.ehloLines = [];
      this.caps = { pipelining: false, chunking: false, size: false, starttls: false };
      this.waitingSince = performance.now();
      sock.write(`EHLO ${this.sh.opts.ehloName}\r\n`);
    });
    this.listen(sock);
  }

  private noteTls(sock: tls.TLSSocket): void {
    const r = this.sh.result;
    if (r.tls) return;
    r.tls = {
      mode: this.sh.opts.tls,
      version: sock.getProtocol() ?? '?',
      cipher: sock.getCipher()?.standardName ?? sock.getCipher()?.name ?? '?',
      authenticated: false,
    };
  }

  /** Connection-level failure: count the transaction in flight, maybe reconnect. */
  fail(kind: string, sock: net.Socket | null = this.socket): void {
    if (sock !== this.socket || this.state === S_DONE) return;
    const r = this.sh.result;
    const wasQuit = this.state === S_QUIT;
    if (kind) {
      if (this.inTx) {
        inc(r.errors, kind);
        this.inTx = false;
      } else if (!wasQuit) {
        inc(r.errors, this.state <= S_AUTH ? `connect:${kind}` : kind);
      }
    }
    this.socket = null;
    sock?.destroy();
    this.waitingSince = 0;
    // A refused connection or a failed TLS handshake would only fail the same way again.
    const hopeless = kind === 'ECONNREFUSED' || kind.startsWith('ERR_SSL_') || kind.startsWith('ERR_TLS_');
    if (!wasQuit && this.wantsMore() && this.reconnects < this.sh.opts.maxReconnects && !hopeless) {
      this.reconnects++;
      this.state = S_CONNECT;
      setTimeout(() => this.connect(), 50 * this.reconnects).unref();
      return;
    }
    this.finish();
  }

  private finish(): void {
    if (this.state === S_DONE) return;
    this.state = S_DONE;
    this.waitingSince = 0;
    const s = this.socket;
    this.socket = null;
    if (s) s.destroy();
    this.onDone();
  }

  stopNow(): void {
    if (this.state === S_DONE) return;
    if (this.inTx) {
      inc(this.sh.result.errors, 'total-timeout');
      this.inTx = false;
    }
    this.finish();
  }

  private wantsMore(): boolean {
    return this.remaining > 0 && !this.sh.stopping && performance.now() < this.sh.deadline;
  }

  // Incremental reply parser: lines end at LF; a reply ends at a line whose 4th byte is not '-'.
  private onData(chunk: Buffer): void {
    const sock = this.socket;
    let buf = chunk;
    if (this.partial) {
      buf = Buffer.concat([this.partial, chunk]);
      this.partial = null;
    }
    let start = 0;
    const n = buf.length;
    while (start < n) {
      const nl = buf.indexOf(10, start);
      if (nl < 0) break;
      const len = nl - start;
      const c0 = buf[start]! - 48;
      const c1 = buf[start + 1]! - 48;
      const c2 = buf[start + 2]! - 48;
      if (len < 3 || c0 < 0 || c0 > 9 || c1 < 0 || c1 > 9 || c2 < 0 || c2 > 9) {
        this.protocolError();
        return;
      }
      const sep = len > 3 ? buf[start + 3] : 32;
      if (this.ehloLines) {
        const end = buf[nl - 1] === 13 ? nl - 1 : nl;
        this.ehloLines.push(buf.toString('latin1', Math.min(start + 4, end), end));
      }
      start = nl + 1;
      if (sep === 45) continue; // '-': more lines follow
      this.onReply(c0 * 100 + c1 * 10 + c2);
      if (this.socket === null || this.state === S_DONE) return;
      if (this.socket !== sock) {
        // Upgraded after "220" to STARTTLS: a well-behaved server sent nothing after it.
        if (start < n) this.fail('bytes-after-starttls-220');
        return;
      }
    }
    if (start < n) {
      if (n - start > MAX_LINE) {
        this.protocolError();
        return;
      }
      this.partial = buf.subarray(start);
    }
  }

  private protocolError(): void {
    this.fail('bad-reply');
  }

  private write(b: Buffer | string): void {
    this.socket!.write(b);
  }

  private onReply(code: number): void {
    const now = performance.now();
    this.waitingSince = now;
    switch (this.state) {
      case S_GREETING:
        if (code !== 220) return this.refuseSession(`greeting ${code}`);
        this.state = S_EHLO;
        this.ehloLines = [];
        this.write(`EHLO ${this.sh.opts.ehloName}\r\n`);
        return;
      case S_EHLO: {
        const lines = this.ehloLines ?? [];
        this.ehloLines = null;
        if (code !== 250) return this.refuseSession(`ehlo ${code}`);
        for (const l of lines) {
          const kw = l.split(' ')[0]!.toUpperCase();
          if (kw === 'PIPELINING') this.caps.pipelining = true;
          else if (kw === 'CHUNKING') this.caps.chunking = true;
          else if (kw === 'SIZE') this.caps.size = true;
          else if (kw === 'STARTTLS') this.caps.starttls = true;
        }
        const { opts } = this.sh;
        if (opts.tls === 'starttls' && !this.secure) {
          if (!this.caps.starttls) return this.refuseSession('no-starttls');
          this.state = S_STARTTLS;
          this.write('STARTTLS\r\n');
          return;
        }
        if (this.sh.authLine) {
          this.state = S_AUTH;
          this.write(this.sh.authLine);
          return;
        }
        return this.ready();
      }
      case S_STARTTLS:
        if (code !== 220) return this.refuseSession(`starttls ${code}`);
        return this.startTls();
      case S_AUTH:
        if (code !== 235) return this.refuseSession(`auth ${code}`);
        if (this.sh.result.tls) this.sh.result.tls.authenticated = true;
        return this.ready();
      case S_ENVELOPE:
        return this.onEnvelopeReply(code, now);
      case S_BODY:
        return this.onFinalReply(code, now);
      case S_QUIT:
        this.finish();
        return;
      default:
        // Unsolicited reply (e.g. 421 while idle).
        if (code === 421) this.fail('421-idle');
        return;
    }
  }

  /** Greeted (and secured and logged in, as asked): set up the transaction shape and start. */
  private ready(): void {
    const { opts, result } = this.sh;
    const now = performance.now();
    this.sh.setupLat.add(now - this.connectStart);
    if (!this.wasReady) {
      this.wasReady = true;
      if (++this.sh.everReady === opts.sessions) {
        this.sh.allReadyAt = now;
        this.sh.acceptedAtAllReady = result.accepted;
      }
    }
    this.pipelined = opts.pipelining && this.caps.pipelining;
    this.useBdat = opts.bdat && this.caps.chunking;
    if (opts.bdat && !this.useBdat) return this.refuseSession('no-chunking');
    if (this.id === 0) {
      result.pipelining = this.pipelined;
      result.mode = this.useBdat ? 'BDAT' : 'DATA';
    }
    this.mailParams = this.caps.size ? ` SIZE=${this.sh.msg.raw.length}` : '';
    this.tail = this.useBdat ? `BDAT ${this.body.length} LAST\r\n` : 'DATA\r\n';
    this.state = S_IDLE;
    this.reconnects = 0;
    this.nextTransaction();
  }

  private refuseSession(why: string): void {
    inc(this.sh.result.errors, `session:${why}`);
    this.remaining = 0;
    this.quit();
  }

  private quit(): void {
    if (!this.socket) return this.finish();
    this.state = S_QUIT;
    this.waitingSince = performance.now();
    this.socket.write('QUIT\r\n');
    this.socket.end();
  }

  private nextTransaction(): void {
    if (!this.wantsMore()) return this.quit();
    const sh = this.sh;
    const g = sh.next++;
    this.remaining--;
    patchCounter(this.body, this.idOffset, g);
    const env = sh.env.get(g, this.mailParams, this.tail);
    const sock = this.socket!;
    this.state = S_ENVELOPE;
    this.inTx = true;
    this.mailOk = false;
    this.rcptOk = 0;
    this.replyIdx = this.needRset ? -1 : 0;
    sh.result.sent++;
    this.txStart = performance.now();
    this.waitingSince = this.txStart;
    if (this.pipelined) {
      sock.cork();
      if (this.needRset) sock.write('RSET\r\n');
      sock.write(env);
      if (this.useBdat) sock.write(this.body); // RFC 3030 §4.2: BDAT may be pipelined with its chunk
      sock.uncork();
      this.pending = null;
    } else {
      // One command at a time: send the first line now, the rest as replies arrive.
      this.pending = env;
      this.pendingPos = 0;
      if (this.needRset) sock.write('RSET\r\n');
      else this.sendNextCommand();
    }
    this.needRset = false;
  }

  private sendNextCommand(): void {
    const env = this.pending!;
    const nl = env.indexOf(10, this.pendingPos);
    const line = env.subarray(this.pendingPos, nl + 1);
    this.pendingPos = nl + 1;
    this.socket!.write(line);
    if (this.pendingPos >= env.length) {
      this.pending = null;
      if (this.useBdat) this.socket!.write(this.body);
    }
  }

  private onEnvelopeReply(code: number, now: number): void {
    const idx = this.replyIdx++;
    const R = this.sh.opts.rcpts;
    const r = this.sh.result;
    const ok = code >= 200 && code < 300;
    if (code === 421) {
      // RFC 5321 §3.8: the server is closing the channel.
      this.endTx(`${stageOf(idx, R, this.useBdat)} 421`, now);
      this.fail('');
      return;
    }
    if (idx === -1) {
      // RSET reply; nothing to record.
    } else if (idx === 0) {
      this.mailOk = ok;
      if (!ok) {
        this.failedKey = `MAIL ${code}`;
        if (!this.pipelined) return this.endTx(this.failedKey, now, true);
      }
    } else if (idx <= R) {
      if (ok) this.rcptOk++;
      else {
        // After a refused MAIL the RCPTs' 503s say nothing about the recipients.
        if (this.mailOk) inc(r.rcptRejected, String(code));
        this.firstRcptCode ??= code;
      }
      if (idx === R && this.rcptOk === 0 && this.failedKey === null) {
        this.failedKey = `RCPT ${this.firstRcptCode}`;
        if (!this.pipelined) return this.endTx(this.failedKey, now, true);
      }
    } else if (this.useBdat) {
      // BDAT n LAST: this is the final reply.
      return this.endTx(ok && this.failedKey === null ? null : (this.failedKey ?? `BDAT ${code}`), now, true);
    } else if (code === 354) {
      this.state = S_BODY;
      this.socket!.write(this.body);
      return;
    } else {
      return this.endTx(this.failedKey ?? `DATA ${code}`, now, true);
    }
    if (this.pending) this.sendNextCommand();
  }

  private onFinalReply(code: number, now: number): void {
    const ok = code >= 200 && code < 300;
    const key = ok && this.failedKey === null ? null : (this.failedKey ?? `END ${code}`);
    this.endTx(key, now, code !== 421);
    if (code === 421) this.fail('');
  }

  /** Records the transaction's outcome (null key = accepted) and, if `next`, starts the next one. */
  private endTx(key: string | null, now: number, next = false): void {
    const r = this.sh.result;
    this.sh.lat.add(now - this.txStart);
    this.inTx = false;
    if (key === null) {
      r.accepted++;
    } else {
      inc(r.rejected, key);
      r.rejectedTotal++;
      // A refused transaction may leave the server mid-transaction (MAIL accepted): reset first.
      this.needRset = this.mailOk || key.startsWith('END') || key.startsWith('BDAT');
    }
    this.failedKey = null;
    this.firstRcptCode = null;
    this.pending = null;
    this.state = S_IDLE;
    if (next) this.nextTransaction();
  }
}

function stageOf(idx: number, rcpts: number, bdat: boolean): string {
  if (idx === -1) return 'RSET';
  if (idx === 0) return 'MAIL';
  if (idx <= rcpts) return 'RCPT';
  return bdat ? 'BDAT' : 'DATA';
}

// ---------------------------------------------------------------- TLS

const TLS_VERSIONS: readonly tls.SecureVersion[] = ['TLSv1.2', 'TLSv1.3'];

/** Client options for a benchmark target: its certificate is not verified
 * (self-signed), but only TLS 1.2 and 1.3 are offered (RFC 8996). */
export function tlsClientOptions(o: { minVersion?: tls.SecureVersion; maxVersion?: tls.SecureVersion; servername?: string } = {}): tls.ConnectionOptions {
  const minVersion = o.minVersion ?? 'TLSv1.2';
  if (!TLS_VERSIONS.includes(minVersion)) throw new Error(`TLS minimum version must be TLSv1.2 or TLSv1.3, not ${minVersion}`);
  if (o.maxVersion !== undefined && !TLS_VERSIONS.includes(o.maxVersion)) throw new Error(`TLS maximum version must be TLSv1.2 or TLSv1.3, not ${o.maxVersion}`);
  if (o.maxVersion !== undefined && TLS_VERSIONS.indexOf(o.maxVersion) < TLS_VERSIONS.indexOf(minVersion)) throw new Error('TLS maximum version is below the minimum');
  const opts: tls.ConnectionOptions = { rejectUnauthorized: false, minVersion };
  if (o.maxVersion) opts.maxVersion = o.maxVersion;
  if (o.servername) opts.servername = o.servername;
  return opts;
}

export function parseTlsVersion(s: string): tls.SecureVersion {
  const v = ({ '1.2': 'TLSv1.2', '1.3': 'TLSv1.3', 'tlsv1.2': 'TLSv1.2', 'tlsv1.3': 'TLSv1.3' } as Record<string, tls.SecureVersion>)[s.toLowerCase()];
  if (!v) throw new Error(`bad TLS version ${s} (1.2 or 1.3)`);
  return v;
}

// ---------------------------------------------------------------- run

export async function runSmtpLoad(partial: Partial<LoadOptions> = {}): Promise<LoadResult> {
  const opts: LoadOptions = { ...DEFAULTS, ...partial };
  // A logged-in user sends as themself unless told otherwise.
  if (partial.auth && partial.from === undefined) opts.from = partial.auth.user;
  if (opts.sessions < 1) throw new Error('sessions must be ≥ 1');
  if (opts.rcpts < 1) throw new Error('rcpts must be ≥ 1');
  if (opts.messages <= 0 && opts.durationMs <= 0) throw new Error('give messages > 0 or a duration');
  const env = new Envelopes(opts);
  const msg = buildMessage({ size: opts.size, from: opts.from, to: env.firstAddress() });
  const result: LoadResult = {
    target: `${opts.host}:${opts.port}`,
    sessions: opts.sessions,
    size: msg.raw.length,
    rcpts: opts.rcpts,
    mode: opts.bdat ? 'BDAT' : 'DATA',
    pipelining: false,
    startedAt: Date.now(),
    sent: 0,
    accepted: 0,
    rejected: {},
    rejectedTotal: 0,
    rcptRejected: {},
    errors: {},
    errorsTotal: 0,
    elapsed: 0,
    msgPerSec: 0,
    latency: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
    clientCpu: 0,
    setup: { count: 0, p50: 0, p99: 0, max: 0, mean: 0 },
    steadyMsgPerSec: null,
    timedOut: false,
  };
  const tlsOpts =
    opts.tls === 'none'
      ? null
      : tlsClientOptions({ minVersion: opts.tlsMinVersion, maxVersion: opts.tlsMaxVersion, servername: opts.tlsServername });
  if (opts.auth && opts.tls === 'none' && !opts.authInClear) throw new Error('AUTH is only sent over TLS: add --tls or --starttls (or --auth-in-clear)');
  const authLine = opts.auth ? `AUTH PLAIN ${Buffer.from(`\0${opts.auth.user}\0${opts.auth.password}`, 'utf8').toString('base64')}\r\n` : null;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const sh: Shared = {
    opts,
    msg,
    env,
    lat: new Latencies(),
    setupLat: new Latencies(),
    tlsOpts,
    authLine,
    result,
    next: 0,
    deadline: opts.durationMs > 0 ? t0 + opts.durationMs : Infinity,
    stopping: false,
    everReady: 0,
    allReadyAt: 0,
    acceptedAtAllReady: 0,
    firstDoneAt: 0,
    acceptedAtFirstDone: 0,
  };
  const rss = opts.serverPid
    ? startRssSampler(opts.serverPid, opts.serverTree, opts.rssIntervalMs ?? (opts.serverTree ? 500 : 100))
    : null;

  await new Promise<void>((resolve) => {
    let live = opts.sessions;
    const sessions: Session[] = [];
    const done = () => {
      if (live === opts.sessions) {
        sh.firstDoneAt = performance.now();
        sh.acceptedAtFirstDone = result.accepted;
      }
      if (--live === 0) {
        clearInterval(watchdog);
        clearTimeout(total);
        if (progress) clearInterval(progress);
        resolve();
      }
    };
    // One timer for every session's reply timeout instead of a timer per reply.
    const watchdog = setInterval(() => {
      const now = performance.now();
      for (const s of sessions) {
        if (s.waitingSince > 0 && now - s.waitingSince > opts.replyTimeoutMs) s.fail('reply-timeout');
      }
    }, Math.min(250, Math.max(10, opts.replyTimeoutMs / 4)));
    const total = setTimeout(() => {
      result.timedOut = true;
      sh.stopping = true;
      for (const s of sessions) s.stopNow();
    }, opts.totalTimeoutMs);
    let lastSent = 0;
    let lastT = t0;
    const progress = opts.progress
      ? setInterval(() => {
          const now = performance.now();
          const rate = ((result.accepted - lastSent) * 1000) / (now - lastT);
          lastSent = result.accepted;
          lastT = now;
          process.stderr.write(
            `  ${((now - t0) / 1000).toFixed(1)}s sent ${result.sent} accepted ${result.accepted} (${rate.toFixed(0)}/s)\n`,
          );
        }, 1000)
      : null;
    for (let i = 0; i < opts.sessions; i++) sessions.push(new Session(sh, i, done));
    for (const s of sessions) s.start();
  });

  const tEnd = performance.now();
  const elapsed = (tEnd - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  // Only meaningful if a fair share of the run had every session busy.
  const busy = sh.firstDoneAt - sh.allReadyAt;
  if (sh.allReadyAt > 0 && busy > 0.2 * (tEnd - t0)) {
    result.steadyMsgPerSec = ((sh.acceptedAtFirstDone - sh.acceptedAtAllReady) * 1000) / busy;
  }
  result.elapsed = elapsed;
  result.msgPerSec = elapsed > 0 ? result.accepted / elapsed : 0;
  result.latency = sh.lat.summary();
  const su = sh.setupLat.summary();
  result.setup = { count: sh.setupLat.n, p50: su.p50, p99: su.p99, max: su.max, mean: su.mean };
  result.errorsTotal = Object.values(result.errors).reduce((a, b) => a + b, 0);
  result.clientCpu = (cpu.user + cpu.system) / 1e6;
  if (rss) result.server = rss.stop();
  return result;
}

// ---------------------------------------------------------------- output

export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size: ${s}`);
  const mult = { '': 1, k: 1024, m: 1024 * 1024, g: 1024 * 1024 * 1024 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(m[1]) * mult);
}

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad duration: ${s}`);
  const mult = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * mult);
}

export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024 * 1024) return (n / 1024 / 1024 / 1024).toFixed(2) + ' GiB';
  if (n >= 1024 * 1024) return (n / 1024 / 1024).toFixed(1) + ' MiB';
  if (n >= 1024) return (n / 1024).toFixed(1) + ' KiB';
  return n + ' B';
}

function fmtRec(rec: Record<string, number>): string {
  const keys = Object.keys(rec);
  return keys.length ? keys.map((k) => `${k}: ${rec[k]}`).join(', ') : '-';
}

export function formatResult(r: LoadResult): string {
  const rows: [string, string][] = [
    ['target', `${r.target} (${r.mode}${r.pipelining ? ', pipelined' : ''})`],
    ['sessions × size × rcpts', `${r.sessions} × ${fmtBytes(r.size)} × ${r.rcpts}`],
    ['messages sent', String(r.sent)],
    ['accepted (2xx)', String(r.accepted)],
    ['rejected', r.rejectedTotal ? `${r.rejectedTotal} (${fmtRec(r.rejected)})` : '0'],
    ['single rcpts refused', fmtRec(r.rcptRejected)],
    ['errors', r.errorsTotal ? `${r.errorsTotal} (${fmtRec(r.errors)})` : '0'],
    ['elapsed', `${r.elapsed.toFixed(2)} s${r.timedOut ? ' (total timeout hit)' : ''}`],
    ['messages/second', r.msgPerSec.toFixed(0) + (r.steadyMsgPerSec !== null ? ` (${r.steadyMsgPerSec.toFixed(0)} while all ${r.sessions} sessions were busy)` : '')],
    ['latency p50 / p90 / p99', `${r.latency.p50.toFixed(2)} / ${r.latency.p90.toFixed(2)} / ${r.latency.p99.toFixed(2)} ms`],
    ['latency max / mean', `${r.latency.max.toFixed(2)} / ${r.latency.mean.toFixed(2)} ms`],
    ['load generator CPU', `${r.clientCpu.toFixed(2)} s (${((100 * r.clientCpu) / Math.max(r.elapsed, 1e-9)).toFixed(0)}% of one core)`],
  ];
  if (r.tls) {
    rows.splice(1, 0, ['TLS', `${r.tls.mode === 'implicit' ? 'implicit' : 'STARTTLS'}, ${r.tls.version}, ${r.tls.cipher}${r.tls.authenticated ? ', AUTH PLAIN' : ''}`]);
  }
  if (r.setup.count > 0) {
    rows.push([
      'session setup p50 / p99 / max',
      `${r.setup.p50.toFixed(2)} / ${r.setup.p99.toFixed(2)} / ${r.setup.max.toFixed(2)} ms (${r.setup.count} connections; connect → ready for MAIL)`,
    ]);
  }
  if (r.server) {
    rows.push([
      r.server.tree ? `server peak memory (PSS, pid ${r.server.pid} + children)` : `server peak RSS (pid ${r.server.pid})`,
      `${fmtBytes(r.server.peakRss)} sampled every ${r.server.intervalMs} ms${r.server.tree ? '' : `; VmHWM ${fmtBytes(r.server.vmHwm)}`}`,
    ]);
  }
  const w = Math.max(...rows.map((x) => x[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

// ---------------------------------------------------------------- CLI

const USAGE = `usage: node bench/smtp-load.ts [options]
  --host H              target host (default 127.0.0.1); non-loopback needs --allow-remote
  --port P              target port (default 2525)
  --sessions N          concurrent sessions (default 50)
  --messages M          messages per session (default 100; 0 with --duration = unlimited)
  --duration D          run for D (e.g. 30s, 2m) instead of / as well as --messages
  --size S              message size, e.g. 10k, 1m (default 10k)
  --rcpts R             recipients per message (default 1)
  --to T                template with {n} (default 'user{n}@example.org') or a comma-separated list
  --to-first N          first n for {n} (default 1)
  --to-range K          n cycles over K values (default 100)
  --from A              envelope sender (default bench@example.net)
  --bdat                use BDAT (CHUNKING) instead of DATA
  --tls                 implicit TLS from the first byte (submissions, port 465)
  --starttls            EHLO, STARTTLS, EHLO again (submission, port 587)
  --auth USER:PASSWORD  AUTH PLAIN after TLS; --from defaults to USER
  --auth-in-clear       allow --auth without TLS (loopback servers that permit it)
  --tls-min V           oldest TLS version offered: 1.2 (default) or 1.3
  --tls-max V           newest TLS version offered (default 1.3)
  --servername NAME     SNI name (default none: the target is an IP address)
  --no-pipelining       one command at a time even if PIPELINING is advertised
  --reply-timeout D     per reply (default 30s)
  --timeout D           total (default 10m)
  --server-pid PID      sample the server's RSS every 100 ms
  --server-tree         sum PSS over PID and its descendants (multi-process servers; every 500 ms)
  --rss-interval D      sampling interval (default 100ms, 500ms with --server-tree)
  --progress            a progress line every second on stderr
  --json                print the result as JSON
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      sessions: { type: 'string' },
      messages: { type: 'string' },
      duration: { type: 'string' },
      size: { type: 'string' },
      rcpts: { type: 'string' },
      to: { type: 'string' },
      'to-first': { type: 'string' },
      'to-range': { type: 'string' },
      from: { type: 'string' },
      bdat: { type: 'boolean' },
      tls: { type: 'boolean' },
      starttls: { type: 'boolean' },
      auth: { type: 'string' },
      'auth-in-clear': { type: 'boolean' },
      'tls-min': { type: 'string' },
      'tls-max': { type: 'string' },
      servername: { type: 'string' },
      'no-pipelining': { type: 'boolean' },
      'reply-timeout': { type: 'string' },
      timeout: { type: 'string' },
      'server-pid': { type: 'string' },
      'server-tree': { type: 'boolean' },
      'rss-interval': { type: 'string' },
      progress: { type: 'boolean' },
      json: { type: 'boolean' },
      'allow-remote': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const int = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
    return n;
  };
  const o: Partial<LoadOptions> = {};
  if (values.host) o.host = values.host;
  if (values.port) o.port = int(values.port, 'port');
  if (values.sessions) o.sessions = int(values.sessions, 'sessions');
  if (values.messages !== undefined) o.messages = int(values.messages, 'messages');
  if (values.duration) {
    o.durationMs = parseDuration(values.duration);
    if (values.messages === undefined) o.messages = 0;
  }
  if (values.size) o.size = parseSize(values.size);
  if (values.rcpts) o.rcpts = int(values.rcpts, 'rcpts');
  if (values.to) o.to = values.to.includes(',') && !values.to.includes('{n}') ? values.to.split(',').map((s) => s.trim()) : values.to;
  if (values['to-first']) o.toFirst = int(values['to-first'], 'to-first');
  if (values['to-range']) o.toRange = int(values['to-range'], 'to-range');
  if (values.from) o.from = values.from;
  if (values.bdat) o.bdat = true;
  if (values.tls && values.starttls) throw new Error('--tls and --starttls exclude each other');
  if (values.tls) o.tls = 'implicit';
  if (values.starttls) o.tls = 'starttls';
  if (values['tls-min']) o.tlsMinVersion = parseTlsVersion(values['tls-min']);
  if (values['tls-max']) o.tlsMaxVersion = parseTlsVersion(values['tls-max']);
  if (values.servername) o.tlsServername = values.servername;
  if (values.auth !== undefined) {
    const i = values.auth.indexOf(':');
    if (i <= 0) throw new Error('--auth must be user:password');
    o.auth = { user: values.auth.slice(0, i), password: values.auth.slice(i + 1) };
    if (values['auth-in-clear']) o.authInClear = true;
    else if (!values.tls && !values.starttls) throw new Error('--auth needs --tls or --starttls (servers refuse AUTH in clear; --auth-in-clear to try anyway)');
    if (!values.from) o.from = o.auth.user;
    else if (values.from.toLowerCase() !== o.auth.user.toLowerCase())
      process.stderr.write(`smtp-load: note: MAIL FROM <${values.from}> is not the logged-in user ${o.auth.user}; the server may refuse it (553)\n`);
  }
  if (values['no-pipelining']) o.pipelining = false;
  if (values['reply-timeout']) o.replyTimeoutMs = parseDuration(values['reply-timeout']);
  if (values.timeout) o.totalTimeoutMs = parseDuration(values.timeout);
  else if (o.durationMs) o.totalTimeoutMs = o.durationMs + 60_000;
  if (values['server-pid']) o.serverPid = int(values['server-pid'], 'server-pid');
  if (values['server-tree']) o.serverTree = true;
  if (values['rss-interval']) o.rssIntervalMs = parseDuration(values['rss-interval']);
  if (values.progress) o.progress = true;
  // This project's machines may only send traffic to themselves; other hosts need an explicit flag.
  const host = o.host ?? DEFAULTS.host;
  if (!values['allow-remote'] && !/^(127\.|localhost$|::1$|\[::1\]$)/.test(host)) {
    throw new Error(`${host} is not a loopback address; pass --allow-remote to load a server elsewhere`);
  }
  const r = await runSmtpLoad(o);
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(formatResult(r) + '\n');
  process.exitCode = r.accepted > 0 ? 0 : 1;
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`smtp-load: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  });
}
