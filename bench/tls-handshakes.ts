// TLS handshake rate of an implicit-TLS port (submissions, RFC 8314 §3.3, or
// any server that speaks TLS from the first byte and then sends an SMTP
// greeting): N concurrent loops, each opening a connection, completing the TLS
// handshake, reading the whole 220 greeting, sending QUIT and waiting for the
// server to close, then starting over — for a duration or a number of
// handshakes. Prints handshakes/second and the latency from opening the
// connection to the end of the greeting (p50/p90/p99; that is TCP connect +
// handshake + the server's first write, so with many loops it includes
// queueing), the client-side handshake time (connect → secureConnect), the
// negotiated version and cipher, and with --server-pid the server's peak RSS.
//
// By default every handshake is a full one: the client never offers a session
// ticket (the server may still send tickets; they go unused). --resume keeps
// each loop's latest ticket and offers it on the next connection (TLS 1.3 PSK
// resumption, RFC 8446 §2.2), to compare. TLS 1.3 only unless --tls-min 1.2
// (and --tls-max 1.2 to force TLS 1.2). The certificate is not verified
// (benchmark servers use self-signed ones). `runTlsHandshakes(opts)` runs it
// in-process.
//
// Run: node bench/tls-handshakes.ts --port 465 [--concurrency 50] [--duration 10s | --count 5000]
//      [--resume] [--tls-min 1.3] [--tls-max 1.3] [--servername NAME] [--server-pid PID] [--json]

import tls from 'node:tls';
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { Latencies, parseDuration, parseTlsVersion, startRssSampler, tlsClientOptions } from './smtp-load.ts';
import type { LoadResult, RssStats } from './smtp-load.ts';

export interface HandshakeOptions {
  host: string;
  port: number;
  /** Concurrent connect/handshake/greeting/close loops. */
  concurrency: number;
  /** Stop starting handshakes after this long; 0 = no duration limit (then `count` must be set). */
  durationMs: number;
  /** Stop after this many handshakes have been started; 0 = no limit. */
  count: number;
  /** Offer the loop's previous session ticket (resumption); false measures full handshakes. */
  resume: boolean;
  minVersion: tls.SecureVersion;
  maxVersion?: tls.SecureVersion;
  servername?: string;
  /** Connect + handshake + greeting must finish within this (ms). */
  connectTimeoutMs: number;
  /** After QUIT, the server must close within this (ms), else we do. */
  closeTimeoutMs: number;
  /** The whole run ends by this (ms), whatever happens. */
  totalTimeoutMs: number;
  serverPid?: number;
  serverTree: boolean;
  progress: boolean;
}

export interface HandshakeResult {
  target: string;
  concurrency: number;
  resume: boolean;
  /** Connections opened. */
  attempted: number;
  /** Handshakes that got through to the end of a 220 greeting. */
  completed: number;
  /** Of those, handshakes the client saw resumed (--resume). */
  resumed: number;
  errors: Record<string, number>;
  errorsTotal: number;
  /** Seconds from the first connection until the last loop finished. */
  elapsed: number;
  /** completed / elapsed. */
  perSec: number;
  /** Milliseconds, connection opened → whole 220 greeting read. */
  latency: LoadResult['latency'];
  /** Milliseconds, connection opened → client's secureConnect. */
  handshake: LoadResult['latency'];
  /** As negotiated by the first handshake. */
  protocol: string;
  cipher: string;
  clientCpu: number;
  server?: RssStats;
  timedOut: boolean;
}

export const HANDSHAKE_DEFAULTS: HandshakeOptions = {
  host: '127.0.0.1',
  port: 465,
  concurrency: 50,
  durationMs: 10_000,
  count: 0,
  resume: false,
  minVersion: 'TLSv1.3',
  maxVersion: undefined,
  servername: undefined,
  connectTimeoutMs: 30_000,
  closeTimeoutMs: 5_000,
  totalTimeoutMs: 300_000,
  serverPid: undefined,
  serverTree: false,
  progress: false,
};

function inc(rec: Record<string, number>, key: string): void {
  rec[key] = (rec[key] ?? 0) + 1;
}

export async function runTlsHandshakes(partial: Partial<HandshakeOptions> = {}): Promise<HandshakeResult> {
  const opts: HandshakeOptions = { ...HANDSHAKE_DEFAULTS, ...partial };
  if (opts.concurrency < 1) throw new Error('concurrency must be ≥ 1');
  if (opts.durationMs <= 0 && opts.count <= 0) throw new Error('give a duration or a count');
  const base = tlsClientOptions({ minVersion: opts.minVersion, maxVersion: opts.maxVersion, servername: opts.servername });
  const result: HandshakeResult = {
    target: `${opts.host}:${opts.port}`,
    concurrency: opts.concurrency,
    resume: opts.resume,
    attempted: 0,
    completed: 0,
    resumed: 0,
    errors: {},
    errorsTotal: 0,
    elapsed: 0,
    perSec: 0,
    latency: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
    handshake: { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
    protocol: '',
    cipher: '',
    clientCpu: 0,
    timedOut: false,
  };
  const lat = new Latencies();
  const hs = new Latencies();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const deadline = opts.durationMs > 0 ? t0 + opts.durationMs : Infinity;
  let stopping = false;
  const live = new Set<tls.TLSSocket>();
  const rss = opts.serverPid ? startRssSampler(opts.serverPid, opts.serverTree, opts.serverTree ? 500 : 100) : null;
  const wantsMore = () => !stopping && performance.now() < deadline && (opts.count <= 0 || result.attempted < opts.count);

  /** One connection; resolves when it is closed, with the session to offer next (if any). */
  const once = (session: Buffer | undefined): Promise<Buffer | undefined> =>
    new Promise((resolve) => {
      result.attempted++;
      const start = performance.now();
      const sock = tls.connect({ ...base, host: opts.host, port: opts.port, session });
      live.add(sock);
      let next: Buffer | undefined;
      let greeted = false;
      let failed = false;
      let buf = '';
      let closeTimer: NodeJS.Timeout | undefined;
      const fail = (kind: string) => {
        if (failed || greeted) return;
        failed = true;
        inc(result.errors, kind);
        sock.destroy();
      };
      const connectTimer = setTimeout(() => fail('timeout'), opts.connectTimeoutMs);
      if (opts.resume) sock.on('session', (s: Buffer) => (next = s));
      sock.once('secureConnect', () => {
        hs.add(performance.now() - start);
        if (!result.protocol) {
          result.protocol = sock.getProtocol() ?? '?';
          const c = sock.getCipher();
          result.cipher = c?.standardName ?? c?.name ?? '?';
        }
        if (sock.isSessionReused()) result.resumed++;
      });
      sock.on('data', (chunk: Buffer) => {
        if (greeted || failed) return;
        buf += chunk.toString('latin1');
        // The greeting may span lines ("220-…" continuation); it ends at "220 …" or a bare "220".
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl).replace(/\r$/, '');
          buf = buf.slice(nl + 1);
          if (!line.startsWith('220')) return fail(`greeting ${line.slice(0, 3)}`);
          if (line.length > 3 && line[3] === '-') continue;
          greeted = true;
          clearTimeout(connectTimer);
          lat.add(performance.now() - start);
          result.completed++;
          sock.write('QUIT\r\n');
          closeTimer = setTimeout(() => {
            inc(result.errors, 'close-timeout');
            sock.destroy();
          }, opts.closeTimeoutMs);
          return;
        }
        if (buf.length > 4096) fail('greeting too long');
      });
      sock.on('error', (err: NodeJS.ErrnoException) => {
        // After the greeting, a reset while closing is not a handshake failure.
        if (!greeted) fail(err.code ?? 'error');
      });
      sock.once('close', () => {
        clearTimeout(connectTimer);
        clearTimeout(closeTimer);
        live.delete(sock);
        if (!greeted) fail('closed-before-greeting');
        resolve(next ?? session);
      });
    });

  const loop = async () => {
    let session: Buffer | undefined;
    while (wantsMore()) {
      const s = await once(opts.resume ? session : undefined);
      if (opts.resume) session = s;
    }
  };

  let lastDone = 0;
  let lastT = t0;
  const progress = opts.progress
    ? setInterval(() => {
        const now = performance.now();
        const rate = ((result.completed - lastDone) * 1000) / (now - lastT);
        lastDone = result.completed;
        lastT = now;
        process.stderr.write(`  ${((now - t0) / 1000).toFixed(1)}s handshakes ${result.completed} (${rate.toFixed(0)}/s)\n`);
      }, 1000)
    : null;
  const total = setTimeout(() => {
    result.timedOut = true;
    stopping = true;
    for (const s of live) s.destroy();
  }, opts.totalTimeoutMs);
  await Promise.all(Array.from({ length: opts.concurrency }, loop));
  clearTimeout(total);
  if (progress) clearInterval(progress);

  result.elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  result.clientCpu = (cpu.user + cpu.system) / 1e6;
  result.perSec = result.elapsed > 0 ? result.completed / result.elapsed : 0;
  result.latency = lat.summary();
  result.handshake = hs.summary();
  result.errorsTotal = Object.values(result.errors).reduce((a, b) => a + b, 0);
  if (rss) result.server = rss.stop();
  return result;
}

export function formatHandshakeResult(r: HandshakeResult): string {
  const ms = (l: LoadResult['latency']) => `${l.p50.toFixed(2)} / ${l.p90.toFixed(2)} / ${l.p99.toFixed(2)} ms (max ${l.max.toFixed(2)})`;
  const rows: [string, string][] = [
    ['target', `${r.target} (implicit TLS, ${r.protocol || '?'}, ${r.cipher || '?'})`],
    ['concurrency', String(r.concurrency)],
    ['session resumption', r.resume ? `offered (${r.resumed} of ${r.completed} resumed)` : 'off (full handshakes)'],
    ['handshakes', `${r.completed} of ${r.attempted} attempted`],
    ['errors', r.errorsTotal ? `${r.errorsTotal} (${Object.entries(r.errors).map(([k, v]) => `${k}: ${v}`).join(', ')})` : '0'],
    ['elapsed', `${r.elapsed.toFixed(2)} s${r.timedOut ? ' (total timeout hit)' : ''}`],
    ['handshakes/second', r.perSec.toFixed(0)],
    ['connect → 220 p50 / p90 / p99', ms(r.latency)],
    ['connect → secureConnect p50 / p90 / p99', ms(r.handshake)],
    ['load generator CPU', `${r.clientCpu.toFixed(2)} s (${((100 * r.clientCpu) / Math.max(r.elapsed, 1e-9)).toFixed(0)}% of one core)`],
  ];
  if (r.server) rows.push([`server peak RSS (pid ${r.server.pid})`, `${(r.server.peakRss / 1024 / 1024).toFixed(1)} MiB`]);
  const w = Math.max(...rows.map((x) => x[0].length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n');
}

const USAGE = `usage: node bench/tls-handshakes.ts [options]
  --host H              target host (default 127.0.0.1); non-loopback needs --allow-remote
  --port P              implicit-TLS port (default 465)
  --concurrency N       concurrent connect/handshake/greeting/close loops (default 50)
  --duration D          run for D (default 10s)
  --count N             stop after N handshakes (instead of, or as well as, --duration)
  --resume              offer the previous session ticket (default: full handshakes only)
  --tls-min V           oldest TLS version offered: 1.3 (default) or 1.2
  --tls-max V           newest TLS version offered (default 1.3)
  --servername NAME     SNI name (default none)
  --server-pid PID      sample the server's RSS every 100 ms
  --timeout D           total (default 5m)
  --progress            a progress line every second on stderr
  --json                print the result as JSON
`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      host: { type: 'string' },
      port: { type: 'string' },
      concurrency: { type: 'string' },
      duration: { type: 'string' },
      count: { type: 'string' },
      resume: { type: 'boolean' },
      'tls-min': { type: 'string' },
      'tls-max': { type: 'string' },
      servername: { type: 'string' },
      'server-pid': { type: 'string' },
      timeout: { type: 'string' },
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
  const int = (v: string, name: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a non-negative integer`);
    return n;
  };
  const o: Partial<HandshakeOptions> = {};
  if (values.host) o.host = values.host;
  if (values.port) o.port = int(values.port, 'port');
  if (values.concurrency) o.concurrency = int(values.concurrency, 'concurrency');
  if (values.count) {
    o.count = int(values.count, 'count');
    if (!values.duration) o.durationMs = 0;
  }
  if (values.duration) o.durationMs = parseDuration(values.duration);
  if (values.resume) o.resume = true;
  if (values['tls-max']) {
    o.maxVersion = parseTlsVersion(values['tls-max']);
    if (o.maxVersion === 'TLSv1.2' && !values['tls-min']) o.minVersion = 'TLSv1.2';
  }
  if (values['tls-min']) o.minVersion = parseTlsVersion(values['tls-min']);
  if (values.servername) o.servername = values.servername;
  if (values['server-pid']) o.serverPid = int(values['server-pid'], 'server-pid');
  if (values.timeout) o.totalTimeoutMs = parseDuration(values.timeout);
  if (values.progress) o.progress = true;
  const host = o.host ?? HANDSHAKE_DEFAULTS.host;
  if (!values['allow-remote'] && !/^(127\.|localhost$|::1$|\[::1\]$)/.test(host)) {
    throw new Error(`${host} is not a loopback address; pass --allow-remote to load a server elsewhere`);
  }
  const r = await runTlsHandshakes(o);
  if (values.json) process.stdout.write(JSON.stringify(r) + '\n');
  else process.stdout.write(formatHandshakeResult(r) + '\n');
  process.exitCode = r.completed > 0 ? 0 : 1;
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`tls-handshakes: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    process.exit(2);
  });
}
