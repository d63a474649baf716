// Outbound figure: how fast Mailroom's queue delivers to remote domains. The
// rig: the test DNS server (test/helpers/dns-server.ts) on 127.0.0.1 answers
// MX for d1..dN.bench.test → mx.sink.bench.test → 127.0.0.5, and
// bench/sink.ts (in this process) listens on 127.0.0.5, counting what it
// takes. Mailroom runs in a child process (bench/serve-for-bench.ts) with
// `[dns] servers` = the bench's DNS server, `[delivery] port` = the
// sink's port, and `relay.trusted_networks = ["127.0.0.0/8"]`, so messages
// injected on its SMTP port for the remote domains are accepted (stored and
// queued before 250) and then delivered by the queue to the sink.
// A warm-up batch is injected and drained first (JIT, DNS cache, first
// connections). Then N messages of S bytes, one recipient each
// (user{n}@d{n}.bench.test, spread over the domains), are injected by
// bench/smtp-load.ts sessions, and the clock runs until the sink has taken
// all N. Figures: end-to-end msg/s (first MAIL of the injection → last message
// at the sink), the injection (SMTP accept) rate, the sink's rate from its
// first to its last message, and the drain time after injection ended. The
// sink must end with exactly N (a short wait afterwards catches duplicates).
// Then (unless --no-backlog) the queue's own pace, apart from injection: the
// sink holds every new connection without a greeting while another N are
// injected (so they pile up in the queue), then greets them all at once; the
// backlog drain rate is N / (release → last message at the sink).
// Mailroom's queue runs with its defaults (20 connections in total, 4 per
// domain) unless told otherwise. The sink offers no STARTTLS: plaintext.
//
// Run: node bench/outbound.ts [--messages 5000] [--domains 50] [--sessions 50] [--size 10k]
//      [--warmup 500] [--sink-host 127.0.0.5] [--queue-concurrency N] [--queue-concurrency-per-domain N]
//      [--no-backlog] [--timeout 600 (s)] [--json]
// `run.ts` uses startOutboundRig() + runOutbound() for its `outbound` scenarios.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startDnsServer, type DnsRecord, type DnsServer } from '../test/helpers/dns-server.ts';
import { startSink, type Sink } from './sink.ts';
import { fmtBytes, parseSize, runSmtpLoad, startRssSampler, type LoadResult, type RssStats } from './smtp-load.ts';

export interface OutboundRig {
  dns: DnsServer;
  sink: Sink;
  domains: string[];
  /** serve-for-bench arguments that point Mailroom's queue at this rig. */
  serverArgs: string[];
  close(): Promise<void>;
}

export interface OutboundOptions {
  host: string;
  port: number;
  messages: number;
  sessions: number;
  size: number;
  warmup: number;
  /** Sampled over the whole run (injection and drain). */
  serverPid?: number;
  /** Give up waiting for the sink after this long (ms). */
  timeoutMs: number;
  /** Then also measure the drain of a backlog: the same N injected while the sink holds its greeting, then released. */
  backlog: boolean;
}

export interface BacklogResult {
  /** Accepted into the queue while the sink held every connection. */
  queued: number;
  inject: { msgPerSec: number; elapsed: number };
  /** Messages the sink took after the release. */
  delivered: number;
  extra: number;
  /** Release → last message at the sink, seconds, and the rate. */
  drainSeconds: number;
  drainMsgPerSec: number;
  sinkConnections: number;
  timedOut: boolean;
}

export interface OutboundResult {
  messages: number;
  domains: number;
  size: number;
  /** The injection, as smtp-load saw it. */
  inject: LoadResult;
  /** Messages the sink took in the measured run (should equal inject.accepted). */
  delivered: number;
  /** Extra messages that arrived after all were in (duplicates); 0 expected. */
  extra: number;
  /** First MAIL of the injection → last message at the sink, seconds. */
  e2eSeconds: number;
  /** delivered / e2eSeconds. */
  e2eMsgPerSec: number;
  /** The sink's first → last message, seconds, and its rate. */
  deliverySeconds: number;
  deliveryMsgPerSec: number;
  /** From the end of the injection to the last message at the sink, seconds. */
  drainSeconds: number;
  /** Connections the sink got in the measured run (connection reuse: far fewer than messages). */
  sinkConnections: number;
  warmupDelivered: number;
  server?: RssStats;
  timedOut: boolean;
  backlog?: BacklogResult;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startOutboundRig(o: { domains: number; sinkHost?: string; extraServerArgs?: string[] }): Promise<OutboundRig> {
  const sinkHost = o.sinkHost ?? '127.0.0.5';
  if (!sinkHost.startsWith('127.')) throw new Error('the sink listens on loopback only');
  const sink = await startSink({ host: sinkHost, port: 0 });
  let dns: DnsServer;
  try {
    const domains = Array.from({ length: o.domains }, (_, i) => `d${i + 1}.bench.test`);
    const records: DnsRecord[] = [
      { name: 'mx.sink.bench.test', type: 'A', data: sinkHost, ttl: 3600 },
      ...domains.map((d): DnsRecord => ({ name: d, type: 'MX', data: { preference: 10, exchange: 'mx.sink.bench.test' }, ttl: 3600 })),
    ];
    dns = await startDnsServer(records);
    return {
      dns,
      sink,
      domains,
      serverArgs: ['--relay-trusted', '127.0.0.0/8', '--dns-server', dns.address, '--remote-port', String(sink.port), ...(o.extraServerArgs ?? [])],
      async close() {
        await sink.close();
        await dns.close();
      },
    };
  } catch (err) {
    await sink.close();
    throw err;
  }
}

/** Waits until the sink has taken `want` messages (or the deadline passes); true if it has. */
async function drained(sink: Sink, want: number, deadline: number): Promise<boolean> {
  while (sink.stats.messages < want) {
    if (Date.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}

export async function runOutbound(rig: OutboundRig, o: OutboundOptions): Promise<OutboundResult> {
  const stats = rig.sink.stats;
  const n = rig.domains.length;
  const load = {
    host: o.host,
    port: o.port,
    size: o.size,
    rcpts: 1,
    from: 'bench@example.net',
    // One domain: 100 mailboxes; several: user{n}@d{n}, so the domains take turns.
    to: n === 1 ? `user{n}@${rig.domains[0]}` : 'user{n}@d{n}.bench.test',
    toRange: n === 1 ? 100 : n,
    totalTimeoutMs: o.timeoutMs,
    replyTimeoutMs: 60_000,
  };
  const deadline = () => Date.now() + o.timeoutMs;

  let warmupDelivered = 0;
  if (o.warmup > 0) {
    const w = await runSmtpLoad({ ...load, sessions: 10, messages: Math.ceil(o.warmup / 10), totalTimeoutMs: 120_000 });
    await drained(rig.sink, w.accepted, Date.now() + 120_000);
    await sleep(200);
    warmupDelivered = stats.messages;
  }
  const base = stats.messages;
  const baseConnections = stats.connections;
  stats.firstAt = 0;
  stats.lastAt = 0;

  const sampler = o.serverPid ? startRssSampler(o.serverPid) : null;
  const perSession = Math.max(1, Math.round(o.messages / o.sessions));
  const end = deadline();
  const inject = await runSmtpLoad({ ...load, sessions: o.sessions, messages: perSession });
  const injectEnd = Date.now();
  const all = await drained(rig.sink, base + inject.accepted, end);
  const server = sampler?.stop();
  const lastAt = stats.lastAt;
  const delivered = Math.min(stats.messages - base, inject.accepted);
  // Anything more within a second would be a message sent twice.
  await sleep(1000);
  const extra = Math.max(0, stats.messages - base - inject.accepted);

  const e2eSeconds = Math.max(1e-9, (lastAt - inject.startedAt) / 1000);
  const deliverySeconds = Math.max(1e-9, (lastAt - stats.firstAt) / 1000);
  const backlog = o.backlog && all && !extra ? await measureBacklog(rig, { ...load, sessions: o.sessions, messages: perSession }, o.timeoutMs) : undefined;
  return {
    messages: inject.sent,
    domains: n,
    size: o.size,
    inject,
    delivered,
    extra,
    e2eSeconds,
    e2eMsgPerSec: delivered / e2eSeconds,
    deliverySeconds,
    deliveryMsgPerSec: delivered > 1 ? (delivered - 1) / deliverySeconds : 0,
    drainSeconds: Math.max(0, (lastAt - injectEnd) / 1000),
    sinkConnections: stats.connections - baseConnections,
    warmupDelivered,
    server,
    timedOut: !all,
    backlog,
  };
}

/** The queue's own pace: N messages queued while the sink keeps Mailroom's
 * connections waiting for a greeting, then released at once. */
async function measureBacklog(rig: OutboundRig, load: Parameters<typeof runSmtpLoad>[0], timeoutMs: number): Promise<BacklogResult> {
  const stats = rig.sink.stats;
  rig.sink.hold();
  let released = false;
  try {
    const base = stats.messages;
    const baseConnections = stats.connections;
    const inject = await runSmtpLoad(load);
    stats.firstAt = 0;
    stats.lastAt = 0;
    const t0 = Date.now();
    rig.sink.release();
    released = true;
    const all = await drained(rig.sink, base + inject.accepted, Date.now() + timeoutMs);
    const lastAt = stats.lastAt;
    const delivered = Math.min(stats.messages - base, inject.accepted);
    await sleep(1000);
    const drainSeconds = Math.max(1e-9, (lastAt - t0) / 1000);
    return {
      queued: inject.accepted,
      inject: { msgPerSec: inject.msgPerSec, elapsed: inject.elapsed },
      delivered,
      extra: Math.max(0, stats.messages - base - inject.accepted),
      drainSeconds,
      drainMsgPerSec: delivered / drainSeconds,
      sinkConnections: stats.connections - baseConnections,
      timedOut: !all,
    };
  } finally {
    if (!released) rig.sink.release();
  }
}

export function formatOutbound(r: OutboundResult): string {
  const x = r.inject;
  const lines = [
    `${r.messages} × ${fmtBytes(r.size)} to ${r.domains} domain${r.domains === 1 ? '' : 's'}: ${r.delivered} of ${x.accepted} accepted delivered to the sink${r.extra ? `, ${r.extra} EXTRA (duplicates)` : ''}${r.timedOut ? ' (timed out)' : ''}`,
    `end to end (first MAIL → last at sink)  ${r.e2eMsgPerSec.toFixed(0)} msg/s  (${r.e2eSeconds.toFixed(2)} s)`,
    `injection (SMTP accept, ${x.sessions} sessions)  ${x.msgPerSec.toFixed(0)} msg/s  (${x.elapsed.toFixed(2)} s; p50/p99 ${x.latency.p50.toFixed(1)}/${x.latency.p99.toFixed(1)} ms)`,
    `delivery (sink's first → last message)  ${r.deliveryMsgPerSec.toFixed(0)} msg/s  (${r.deliverySeconds.toFixed(2)} s; drained ${r.drainSeconds.toFixed(2)} s after injection ended)`,
    `sink connections ${r.sinkConnections}${r.server ? `; server peak RSS ${fmtBytes(r.server.peakRss)}` : ''}`,
  ];
  const b = r.backlog;
  if (b)
    lines.push(
      `backlog drain (${b.queued} queued while the sink held its greeting, then released)  ${b.drainMsgPerSec.toFixed(0)} msg/s  (${b.drainSeconds.toFixed(2)} s; ${b.delivered} delivered${b.extra ? `, ${b.extra} EXTRA` : ''}${b.timedOut ? ', timed out' : ''}; ${b.sinkConnections} connections; queued at ${b.inject.msgPerSec.toFixed(0)} msg/s)`,
    );
  if (x.rejectedTotal) lines.push(`refused ${JSON.stringify(x.rejected)}`);
  if (x.errorsTotal) lines.push(`errors ${JSON.stringify(x.errors)}`);
  return lines.join('\n');
}

/** Starts bench/serve-for-bench.ts; resolves when it prints ready. */
function startServer(args: string[]): Promise<{ port: number; pid: number; stop(): Promise<void> }> {
  const script = fileURLToPath(new URL('./serve-for-bench.ts', import.meta.url));
  const child = spawn(process.execPath, [script, '--port', '0', '--no-submission', '--exit-with-stdin', ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  process.on('exit', () => child.kill('SIGKILL'));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('serve-for-bench did not get ready in 120 s'));
    }, 120_000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let info: Record<string, unknown>;
      try {
        info = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!('ready' in info)) return;
      clearTimeout(timer);
      if (info.ready !== true) return reject(new Error(String(info.error)));
      resolve({
        port: Number(info.port),
        pid: child.pid!,
        async stop() {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
          await exited;
          clearTimeout(t);
        },
      });
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error('serve-for-bench exited before it was ready'));
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '5000' },
      domains: { type: 'string', default: '50' },
      sessions: { type: 'string', default: '50' },
      size: { type: 'string', default: '10k' },
      warmup: { type: 'string', default: '500' },
      'sink-host': { type: 'string', default: '127.0.0.5' },
      'queue-concurrency': { type: 'string' },
      'queue-concurrency-per-domain': { type: 'string' },
      timeout: { type: 'string', default: '600' },
      'no-backlog': { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const extra = [
    ...(values['queue-concurrency'] ? ['--queue-concurrency', values['queue-concurrency']] : []),
    ...(values['queue-concurrency-per-domain'] ? ['--queue-concurrency-per-domain', values['queue-concurrency-per-domain']] : []),
  ];
  const rig = await startOutboundRig({ domains: Number(values.domains), sinkHost: values['sink-host'], extraServerArgs: extra });
  let server: Awaited<ReturnType<typeof startServer>> | null = null;
  try {
    server = await startServer(rig.serverArgs);
    const r = await runOutbound(rig, {
      host: '127.0.0.1',
      port: server.port,
      messages: Number(values.messages),
      sessions: Number(values.sessions),
      size: parseSize(values.size!),
      warmup: Number(values.warmup),
      serverPid: server.pid,
      timeoutMs: Number(values.timeout) * 1000,
      backlog: !values['no-backlog'],
    });
    process.stdout.write((values.json ? JSON.stringify(r) : formatOutbound(r)) + '\n');
    const b = r.backlog;
    if (r.timedOut || r.extra || r.delivered !== r.inject.accepted || (b && (b.timedOut || b.extra || b.delivered !== b.queued))) process.exitCode = 1;
  } finally {
    await server?.stop();
    await rig.close();
  }
}

if (import.meta.main) {
  main().catch((err: unknown) => {
    process.stderr.write(`outbound: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  });
}
