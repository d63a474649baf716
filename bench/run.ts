// `npm run bench`: runs the standard SMTP scenarios with bench/smtp-load.ts and
// prints one table (msg/s, p50/p99 latency, server peak RSS). The target is
// Mailroom by default — started fresh for each scenario in a child process
// (bench/serve-for-bench.ts: temp data dir, example.org, user1..user100) so its
// memory is measured apart from the load generator, and the number of stored
// messages is checked against the number accepted; `--target host:port` runs
// the same scenarios against any running server instead (e.g. Postfix), and
// `--target sink` against bench/sink.ts to show the load generator's ceiling.
// Scenarios: 50 sessions × 10 KB × 1 recipient; 50 sessions × 10 KB × 5
// recipients; 1 session sending one message after another (all on the SMTP
// port, plaintext, no login); then TLS: the handshake rate of the
// implicit-TLS port (bench/tls-handshakes.ts: 50 loops of connect, full TLS
// 1.3 handshake, 220 greeting, close; handshakes/s go in the msg/s column),
// and 50 sessions × 10 KB × 1 recipient on submissions (implicit TLS, port
// 465) and on submission (STARTTLS, port 587), each session logging in with
// AUTH PLAIN once as user1@example.org and then pipelining its messages.
// Then outbound (bench/outbound.ts, Mailroom only): 5,000 × 10 KB relayed
// through the SMTP port to 50 remote domains, and to 1, delivered by the
// queue to bench/sink.ts on 127.0.0.5 through the test DNS server; msg/s from
// the first MAIL until the sink has them all, and the drain rate of the same
// number queued while the sink held its greeting.
// Then POP3 (bench/pop3.ts, Mailroom only, in process): 1,000 × 10 KB stored
// through the store, downloaded and deleted by one pop3s session (RETR, DELE,
// then QUIT's durable expunge).
// Then DKIM signing (bench/dkim-sign.ts, in process): 2,000 × 10 KB signed
// with RSA-2048 and with Ed25519, 4 in flight (msg/s; p50/p99 per message);
// and 465x50-dkim: the 465 scenario with both keys, so every message is signed twice.
// Then IMAP (bench/imap.ts, Mailroom only, server in a child process): an INBOX
// of 10,000 messages — LOGIN+SELECT+FETCH 1:* (FLAGS ENVELOPE RFC822.SIZE),
// FETCH of 1,000 full bodies, SEARCH over headers and body text, and the
// server's memory with 1,000 connections in IDLE; printed after the table.
// Every step is bounded in time; child processes are stopped on the way out.
//
// Run: npm run bench -- [--target host:port|sink] [--server-pid PID] [--messages 10000]
//      [--sequential 500] [--size 10k] [--bdat] [--warmup 1000] [--only 50x1,465x50] [--json]
//      [--handshake-duration 10s] [--submission-port P] [--submissions-port P] [--auth user:pw]
//      [--outbound-messages 5000] [--store postgres://USER@HOST/DB]
// --store runs every server the bench starts on PostgreSQL (a fresh schema
// each); bench/multinode.ts measures one node against two on one database.

import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runSmtpLoad, fmtBytes, parseDuration, parseSize } from './smtp-load.ts';
import type { LoadOptions, LoadResult, TlsMode } from './smtp-load.ts';
import { runTlsHandshakes } from './tls-handshakes.ts';
import type { HandshakeResult } from './tls-handshakes.ts';
import { runOutbound, startOutboundRig } from './outbound.ts';
import type { OutboundResult } from './outbound.ts';
import { runPop3Bench, type Pop3BenchResult } from './pop3.ts';
import { runImapBench, imapTable, type ImapBenchResult } from './imap.ts';
import { runDkimSignBench, type DkimBenchResult } from './dkim-sign.ts';

interface Scenario {
  id: string;
  name: string;
  /** 'load': smtp-load; 'handshakes': tls-handshakes on the implicit-TLS port;
   * 'outbound': bench/outbound.ts (relay through the queue to the sink). */
  kind: 'load' | 'handshakes' | 'outbound' | 'pop3' | 'dkim';
  /** Remote domains, for 'outbound'. */
  domains?: number;
  sessions: number;
  messagesPerSession: number;
  rcpts: number;
  /** Which listener: the SMTP port, submission (587) or submissions (465). */
  listener: 'smtp' | 'submission' | 'submissions';
  tls: TlsMode;
  /** Log in (AUTH PLAIN) once per session. */
  auth: boolean;
  /** Extra serve-for-bench arguments (Mailroom mode). */
  serverArgs?: string[];
  /** Only with --only. */
  optional?: boolean;
}

interface Row {
  scenario: Scenario;
  result?: LoadResult;
  /** For the 'handshakes' scenario. */
  hs?: HandshakeResult;
  /** For the 'outbound' scenarios. */
  ob?: OutboundResult;
  /** For the 'pop3' scenario (bench/pop3.ts). */
  pop?: Pop3BenchResult;
  /** For the 'dkim' scenarios (bench/dkim-sign.ts). */
  dk?: DkimBenchResult;
  /** Messages the server says it stored (Mailroom mode), warm-up included. */
  stored?: number;
  warmupAccepted: number;
  error?: string;
  /** Not run (e.g. the target has no TLS port); why. */
  skipped?: string;
}

interface Target {
  host: string;
  port: number;
  /** Submission (STARTTLS) and submissions (implicit TLS) ports, when the target has them. */
  submission?: number;
  submissions?: number;
  /** Credentials for AUTH; from addresses are the user's. */
  auth?: { user: string; password: string };
  pid?: number;
  tree?: boolean;
  /** Stops the server and returns what it reports having stored, if it says. */
  stop(): Promise<number | undefined>;
}

const HERE = fileURLToPath(new URL('.', import.meta.url));
const children = new Set<ChildProcess>();

function killChildren(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
}
process.on('exit', killChildren);
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    killChildren();
    process.exit(130);
  });
}

/** Spawns `node <script> args`, resolves with the first JSON line on stdout that has `key`. */
function spawnJson(script: string, args: string[], key: string, timeoutMs: number) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  child.on('exit', () => children.delete(child));
  const lines = createInterface({ input: child.stdout! });
  const later: Record<string, unknown>[] = [];
  const ready = new Promise<Record<string, unknown>>((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => {
      if (done) return;
      done = true;
      child.kill('SIGKILL');
      reject(new Error(`${script} did not report ready within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    lines.on('line', (line) => {
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      if (!done && key in obj) {
        done = true;
        clearTimeout(timer);
        resolve(obj);
      } else later.push(obj);
    });
    child.on('exit', (code, sig) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      reject(new Error(`${script} exited (${sig ?? code}) before it was ready`));
    });
  });
  const stop = async (): Promise<Record<string, unknown>[]> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(t);
    }
    return later;
  };
  return { child, ready, stop };
}

/** [store] url for the servers the bench starts (--store); undefined = SQLite. */
let STORE_URL: string | undefined;

async function startMailroom(extraArgs: readonly string[] = []): Promise<Target> {
  const s = spawnJson(`${HERE}serve-for-bench.ts`, ['--port', '0', '--exit-with-stdin', ...(STORE_URL ? ['--store-url', STORE_URL] : []), ...extraArgs], 'ready', 120_000);
  const info = await s.ready;
  if (info.ready !== true) {
    await s.stop();
    throw new Error(String(info.error ?? 'not ready'));
  }
  return {
    host: '127.0.0.1',
    port: Number(info.port),
    submission: typeof info.submission === 'number' ? info.submission : undefined,
    submissions: typeof info.submissions === 'number' ? info.submissions : undefined,
    auth: typeof info.password === 'string' ? { user: 'user1@example.org', password: info.password } : undefined,
    pid: s.child.pid,
    async stop() {
      const msgs = await s.stop();
      const st = msgs.find((m) => typeof m.stored === 'number');
      return st ? Number(st.stored) : undefined;
    },
  };
}

/** A throwaway EC P-256 certificate (as the server makes for itself) for the
 * sink's implicit-TLS port; null without the openssl program. */
function makeSinkCert(): { cert: string; key: string; dir: string } | null {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mailroom-bench-sink-'));
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=sink.example.net', '-days', '2', '-keyout', key, '-out', cert],
      { stdio: 'ignore', timeout: 30_000 },
    );
    return { cert, key, dir };
  } catch {
    fs.rmSync(dir, { recursive: true, force: true });
    return null;
  }
}

async function startSinkChild(): Promise<Target> {
  const pem = makeSinkCert();
  const args = ['--port', '0', '--quiet', ...(pem ? ['--tls-cert', pem.cert, '--tls-key', pem.key] : [])];
  const s = spawnJson(`${HERE}sink.ts`, args, 'sink', 30_000);
  const info = await s.ready;
  if (pem) fs.rmSync(pem.dir, { recursive: true, force: true }); // read at start
  return {
    host: '127.0.0.1',
    port: Number(info.port),
    submissions: typeof info.tlsPort === 'number' ? info.tlsPort : undefined,
    // The sink says 235 to any AUTH.
    auth: { user: 'bench@example.net', password: 'sink' },
    pid: s.child.pid,
    async stop() {
      await s.stop();
      return undefined;
    },
  };
}

function parseTarget(t: string): { host: string; port: number } {
  const i = t.lastIndexOf(':');
  const host = t.slice(0, i).replace(/^\[|\]$/g, '') || '127.0.0.1';
  const port = Number(t.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`--target must be host:port, got ${t}`);
  if (!/^(127\.|localhost$|::1$)/.test(host)) throw new Error('this project sends load to loopback addresses only (127.0.0.0/8, ::1)');
  return { host, port };
}

/** Copies the server should hold: one per recipient of every accepted message. */
function expectedStored(r: Row): number {
  const x = r.result!;
  let refused = 0;
  for (const k in x.rcptRejected) refused += x.rcptRejected[k]!;
  return (x.accepted + r.warmupAccepted) * r.scenario.rcpts - refused;
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function table(rows: Row[], what: string): string {
  const head = ['scenario', 'accepted/sent', 'refused', 'errors', 'msg/s', 'p50 ms', 'p99 ms', 'peak RSS', 'stored copies'];
  const body = rows.flatMap((r): string[][] => {
    if (r.skipped) return [[r.scenario.name, 'skipped', '', '', '', '', '', '', '']];
    const ob = r.ob;
    if (ob) {
      const x = ob.inject;
      const b = ob.backlog;
      const atSink = (got: number, want: number, extra: number) => `${got}${got === want && !extra ? '' : ` (!${extra ? ` +${extra}` : ''})`} at sink`;
      return [
        [
          r.scenario.name,
          `${x.accepted}/${x.sent}`,
          String(x.rejectedTotal),
          String(x.errorsTotal),
          ob.e2eMsgPerSec.toFixed(0),
          x.latency.p50.toFixed(1),
          x.latency.p99.toFixed(1),
          ob.server ? fmtBytes(ob.server.peakRss) : '-',
          atSink(ob.delivered, x.accepted, ob.extra),
        ],
        ...(b ? [['  └ backlog drain (queued, then released)', `${b.queued}`, '-', '-', b.drainMsgPerSec.toFixed(0), '-', '-', '-', atSink(b.delivered, b.queued, b.extra)]] : []),
      ];
    }
    const dk = r.dk;
    if (dk) return [[r.scenario.name, `${dk.messages}/${dk.messages}`, '-', '-', dk.msgPerSec.toFixed(0), dk.latency.p50.toFixed(2), dk.latency.p99.toFixed(2), '-', '-']];
    const pop = r.pop;
    if (pop) {
      return [[r.scenario.name, `${pop.retrieved}/${pop.messages}`, '-', '-', pop.msgPerSec.toFixed(0), pop.latency.p50.toFixed(1), pop.latency.p99.toFixed(1), fmtBytes(pop.peakRss), `${pop.left} left`]];
    }
    const h = r.hs;
    if (h) {
      return [[
        r.scenario.name,
        `${h.completed}/${h.attempted}`,
        '-',
        String(h.errorsTotal),
        `${h.perSec.toFixed(0)} hs/s`,
        h.latency.p50.toFixed(1),
        h.latency.p99.toFixed(1),
        h.server ? fmtBytes(h.server.peakRss) : '-',
        '-',
      ]];
    }
    const x = r.result;
    if (!x) return [[r.scenario.name, `failed: ${r.error ?? '?'}`, '', '', '', '', '', '', '']];
    const storedOk = r.stored === undefined ? '-' : `${r.stored}${r.stored === expectedStored(r) ? '' : ' (!)'}`;
    return [[
      r.scenario.name,
      `${x.accepted}/${x.sent}`,
      String(x.rejectedTotal),
      String(x.errorsTotal),
      x.msgPerSec.toFixed(0),
      x.latency.p50.toFixed(1),
      x.latency.p99.toFixed(1),
      x.server ? fmtBytes(x.server.peakRss) : '-',
      storedOk,
    ]];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, w[i]!, i > 0)).join('  ');
  const out = [`${what}`, line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)];
  const notes: string[] = [];
  for (const r of rows) {
    if (r.skipped) notes.push(`${r.scenario.name}: skipped: ${r.skipped}`);
    const ob = r.ob;
    if (ob) {
      const x = ob.inject;
      const b = ob.backlog;
      notes.push(
        `${r.scenario.name}: msg/s = first MAIL → last message at the sink (${ob.e2eSeconds.toFixed(2)} s); p50/p99 are the injection's; ` +
          `injected at ${x.msgPerSec.toFixed(0)} msg/s, the sink took ${ob.deliveryMsgPerSec.toFixed(0)} msg/s from its first to its last message, ` +
          `drained ${ob.drainSeconds.toFixed(2)} s after injection ended; ${ob.sinkConnections} connections to the sink` +
          (b ? `; backlog: ${b.queued} queued at ${b.inject.msgPerSec.toFixed(0)} msg/s while the sink held its greeting, drained in ${b.drainSeconds.toFixed(2)} s over ${b.sinkConnections} connections` : '') +
          (ob.timedOut || b?.timedOut ? '; TIMED OUT' : ''),
      );
      if (x.rejectedTotal) notes.push(`${r.scenario.name}: refused ${JSON.stringify(x.rejected)}`);
      if (x.errorsTotal) notes.push(`${r.scenario.name}: errors ${JSON.stringify(x.errors)}`);
      if (r.error) notes.push(`${r.scenario.name}: ${r.error}`);
      continue;
    }
    if (r.dk) {
      notes.push(
        `${r.scenario.name}: signed in the bench process, ${r.dk.concurrency} at a time (relaxed/relaxed, oversigned headers; the key operation on libuv's thread pool); p50/p99 per message, start to signature; ` +
          `${r.dk.msgPerCpuSec.toFixed(0)} msg per CPU second; longest event-loop stall ${r.dk.loopDelayMaxMs.toFixed(1)} ms`,
      );
      continue;
    }
    if (r.pop) {
      notes.push(
        `${r.scenario.name}: one pop3s session, RETR then DELE per message (p50/p99), then QUIT whose expunge took ${r.pop.quitMs.toFixed(1)} ms; ` +
          `${r.pop.seconds.toFixed(2)} s from USER to the QUIT reply; server and client in one process (peak RSS is both)`,
      );
      continue;
    }
    const h = r.hs;
    if (h) {
      notes.push(
        `${r.scenario.name}: handshakes/s in the msg/s column; p50/p99 = connect → whole 220 greeting ` +
          `(${h.protocol} ${h.cipher}, ${h.resume ? `resumption offered, ${h.resumed} resumed` : 'full handshakes, no resumption'}, ` +
          `${h.concurrency} loops, so it includes queueing); client-side handshake p50/p99 ${h.handshake.p50.toFixed(1)}/${h.handshake.p99.toFixed(1)} ms; ` +
          `load generator CPU ${((100 * h.clientCpu) / Math.max(h.elapsed, 1e-9)).toFixed(0)}% of one core`,
      );
      if (h.errorsTotal) notes.push(`${r.scenario.name}: errors ${JSON.stringify(h.errors)}`);
      if (h.timedOut) notes.push(`${r.scenario.name}: hit the total timeout`);
      continue;
    }
    const x = r.result;
    if (!x) continue;
    const tlsPart = x.tls
      ? `${x.tls.mode === 'implicit' ? 'implicit TLS' : 'STARTTLS'} ${x.tls.version} ${x.tls.cipher}${x.tls.authenticated ? ', AUTH PLAIN once per session' : ''}; `
      : r.scenario.auth
        ? 'no TLS, AUTH PLAIN in clear once per session; '
        : 'plaintext; ';
    notes.push(
      `${r.scenario.name}: ${tlsPart}session setup (connect → ready for MAIL) p50/p99 ${x.setup.p50.toFixed(1)}/${x.setup.p99.toFixed(1)} ms` +
        ` over ${x.setup.count} connection${x.setup.count === 1 ? '' : 's'}; ` +
        (x.steadyMsgPerSec === null ? 'no steady-state rate (too short a window with every session busy)' : `${x.steadyMsgPerSec.toFixed(0)} msg/s while all sessions were busy`),
    );
    if (x.rejectedTotal) notes.push(`${r.scenario.name}: refused ${JSON.stringify(x.rejected)}`);
    if (x.errorsTotal) notes.push(`${r.scenario.name}: errors ${JSON.stringify(x.errors)}`);
    if (x.timedOut) notes.push(`${r.scenario.name}: hit the total timeout`);
    if (r.stored !== undefined && r.stored !== expectedStored(r))
      notes.push(
        `${r.scenario.name}: server stored ${r.stored} copies, expected ${expectedStored(r)} = (${x.accepted} accepted + ${r.warmupAccepted} warm-up) × ${r.scenario.rcpts} rcpts` +
          (Object.keys(x.rcptRejected).length ? ' minus single refused recipients' : ''),
      );
  }
  if (notes.length) out.push('', ...notes);
  return out.join('\n');
}

const SCENARIO_IDS = ['50x1', '50x5', 'seq', 'tls-handshakes', '465x50', '465x50-dkim', '587x50', '587plain', 'outbound50', 'outbound1', 'pop3', 'dkim-rsa', 'dkim-ed25519', 'imap'];
/** Names for groups of scenarios in --only. */
const SCENARIO_GROUPS: Record<string, string[]> = { outbound: ['outbound50', 'outbound1'], dkim: ['dkim-rsa', 'dkim-ed25519'] };

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      'server-pid': { type: 'string' },
      'server-tree': { type: 'boolean' },
      'submission-port': { type: 'string' },
      'submissions-port': { type: 'string' },
      auth: { type: 'string' },
      messages: { type: 'string', default: '10000' },
      sequential: { type: 'string', default: '500' },
      size: { type: 'string', default: '10k' },
      bdat: { type: 'boolean' },
      warmup: { type: 'string', default: '1000' },
      'outbound-messages': { type: 'string', default: '5000' },
      'handshake-duration': { type: 'string', default: '10s' },
      'handshake-concurrency': { type: 'string', default: '50' },
      resume: { type: 'boolean' },
      only: { type: 'string' },
      json: { type: 'boolean' },
      store: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  // --store postgres://…: every Mailroom started here runs on PostgreSQL (a fresh schema each).
  STORE_URL = values.store;
  // The IMAP bench's server (bench/imap.ts, a child process) reads it from the environment.
  if (STORE_URL) process.env.MAILROOM_BENCH_STORE = STORE_URL;
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--target host:port|sink] [--server-pid PID [--server-tree]] [--messages 10000]\n' +
        '                        [--sequential 500] [--size 10k] [--bdat] [--warmup 1000] [--only ID,ID] [--json]\n' +
        '                        [--handshake-duration 10s] [--handshake-concurrency 50] [--resume]\n' +
        '                        [--submission-port P] [--submissions-port P] [--auth user:password]   (with --target)\n' +
        '                        [--outbound-messages 5000]\n' +
        `scenario ids: ${SCENARIO_IDS.join(', ')} (587plain only with --only; outbound = outbound50,outbound1; dkim = dkim-rsa,dkim-ed25519)\n`,
    );
    return;
  }
  const total = Number(values.messages);
  const size = parseSize(values.size!);
  const warmup = Number(values.warmup);
  const handshakeMs = parseDuration(values['handshake-duration']!);
  const handshakeConcurrency = Number(values['handshake-concurrency']);
  const kb = fmtBytes(size).replace('.0 ', ' ').replace(' KiB', ' KB');
  const per50 = Math.max(1, Math.round(total / 50));
  const outboundTotal = Number(values['outbound-messages']);
  const plain = { kind: 'load', listener: 'smtp', tls: 'none', auth: false } as const;
  let scenarios: Scenario[] = [
    { ...plain, id: '50x1', name: `50 sessions × ${kb} × 1 rcpt`, sessions: 50, messagesPerSession: per50, rcpts: 1 },
    { ...plain, id: '50x5', name: `50 sessions × ${kb} × 5 rcpts`, sessions: 50, messagesPerSession: per50, rcpts: 5 },
    { ...plain, id: 'seq', name: `1 session, sequential, × 1 rcpt`, sessions: 1, messagesPerSession: Number(values.sequential), rcpts: 1 },
    {
      id: 'tls-handshakes',
      name: `TLS 1.3 handshakes (465), ${handshakeConcurrency} loops`,
      kind: 'handshakes',
      sessions: handshakeConcurrency,
      messagesPerSession: 0,
      rcpts: 0,
      listener: 'submissions',
      tls: 'implicit',
      auth: false,
    },
    { id: '465x50', name: `465 TLS+AUTH: 50 sessions × ${kb} × 1 rcpt`, kind: 'load', sessions: 50, messagesPerSession: per50, rcpts: 1, listener: 'submissions', tls: 'implicit', auth: true },
    // The same with DKIM signing (RSA-2048 + Ed25519 keys for example.org): what signing costs the sessions.
    { id: '465x50-dkim', name: `465 TLS+AUTH+DKIM: 50 sessions × ${kb} × 1 rcpt`, kind: 'load', sessions: 50, messagesPerSession: per50, rcpts: 1, listener: 'submissions', tls: 'implicit', auth: true, serverArgs: ['--dkim'] },
    { id: '587x50', name: `587 STARTTLS+AUTH: 50 × ${kb} × 1 rcpt`, kind: 'load', sessions: 50, messagesPerSession: per50, rcpts: 1, listener: 'submission', tls: 'starttls', auth: true },
    // Not in the default run: submission without TLS (AUTH in clear, allowed on
    // loopback by auth.allow_plaintext_loopback), to tell TLS's cost from the
    // submission path's (login, sender check, header fix-ups).
    {
      id: '587plain',
      name: `587 AUTH, no TLS: 50 × ${kb} × 1 rcpt`,
      kind: 'load',
      sessions: 50,
      messagesPerSession: per50,
      rcpts: 1,
      listener: 'submission',
      tls: 'none',
      auth: true,
      serverArgs: ['--allow-plaintext-auth'],
      optional: true,
    },
    ...[50, 1].map(
      (domains): Scenario => ({
        id: `outbound${domains}`,
        name: `outbound: ${outboundTotal} × ${kb} to ${domains} domain${domains === 1 ? '' : 's'}`,
        kind: 'outbound',
        domains,
        sessions: 50,
        messagesPerSession: Math.max(1, Math.round(outboundTotal / 50)),
        rcpts: 1,
        listener: 'smtp',
        tls: 'none',
        auth: false,
        serverArgs: ['--no-submission'],
      }),
    ),
    // POP3 (bench/pop3.ts): a stored mailbox downloaded and deleted by one pop3s session.
    { id: 'pop3', name: `POP3 995: download+delete 1000 × ${kb}`, kind: 'pop3', sessions: 1, messagesPerSession: 1000, rcpts: 1, listener: 'smtp', tls: 'implicit', auth: true },
    // DKIM signing (bench/dkim-sign.ts): Mailroom's signer in process, no server.
    { id: 'dkim-rsa', name: `DKIM sign: 2000 × ${kb}, RSA-2048`, kind: 'dkim', sessions: 1, messagesPerSession: 2000, rcpts: 1, listener: 'smtp', tls: 'none', auth: false },
    { id: 'dkim-ed25519', name: `DKIM sign: 2000 × ${kb}, Ed25519`, kind: 'dkim', sessions: 1, messagesPerSession: 2000, rcpts: 1, listener: 'smtp', tls: 'none', auth: false },
  ];
  let wantImap = true;
  if (values.only) {
    const ids = values.only.split(',').flatMap((x) => SCENARIO_GROUPS[x.trim()] ?? [x.trim()]);
    wantImap = ids.includes('imap');
    const unknown = ids.filter((id) => !SCENARIO_IDS.includes(id));
    if (unknown.length) throw new Error(`unknown scenario id ${unknown.join(', ')} (ids: ${SCENARIO_IDS.join(', ')})`);
    scenarios = scenarios.filter((s) => ids.includes(s.id));
  } else {
    scenarios = scenarios.filter((s) => !s.optional);
  }

  const mode = values.target === undefined ? 'mailroom' : values.target === 'sink' ? 'sink' : 'target';
  let fixed: Target | null = null;
  if (mode === 'target') {
    const { host, port } = parseTarget(values.target!);
    let auth: Target['auth'];
    if (values.auth !== undefined) {
      const i = values.auth.indexOf(':');
      if (i <= 0) throw new Error('--auth must be user:password');
      auth = { user: values.auth.slice(0, i), password: values.auth.slice(i + 1) };
    }
    fixed = {
      host,
      port,
      submission: values['submission-port'] ? Number(values['submission-port']) : undefined,
      submissions: values['submissions-port'] ? Number(values['submissions-port']) : undefined,
      auth,
      pid: values['server-pid'] ? Number(values['server-pid']) : undefined,
      tree: values['server-tree'],
      stop: async () => undefined,
    };
  } else if (mode === 'sink') {
    fixed = await startSinkChild();
  } else {
    // Fail early and clearly if the server cannot start at all.
    try {
      const probe = await startMailroom();
      await probe.stop();
    } catch (err) {
      process.stderr.write(
        `bench: could not start Mailroom (${(err as Error).message}).\n` +
          `       Until the server is complete, run against a running server: npm run bench -- --target 127.0.0.1:2525\n`,
      );
      process.exitCode = 1;
      return;
    }
  }

  /** Why a scenario cannot run against a fixed target (null: it can). */
  const cannot = (sc: Scenario, t: Target): string | null => {
    if (sc.kind === 'pop3') return 'needs a Mailroom the bench starts (it stores the mailbox first)';
    if (sc.kind === 'dkim') return "measures Mailroom's signer in process (run without --target)";
    if (sc.serverArgs?.includes('--dkim')) return 'needs a Mailroom the bench starts (with DKIM keys)';
    if (sc.kind === 'outbound') return 'needs a Mailroom the bench starts (its queue must point at the bench’s DNS server and sink)';
    if (sc.listener === 'smtp') return null;
    const p = sc.listener === 'submission' ? t.submission : t.submissions;
    if (!p) return mode === 'sink' ? (sc.listener === 'submission' ? 'the sink has no STARTTLS' : 'the sink has no TLS (openssl missing?)') : `no ${sc.listener} port (--${sc.listener}-port)`;
    if (sc.auth && !t.auth) return 'no credentials (--auth user:password)';
    return null;
  };

  const rows: Row[] = [];
  for (const sc of scenarios) {
    const row: Row = { scenario: sc, warmupAccepted: 0 };
    rows.push(row);
    if (fixed) {
      const why = cannot(sc, fixed);
      if (why) {
        row.skipped = why;
        continue;
      }
    }
    let t: Target | null = fixed;
    let rig: Awaited<ReturnType<typeof startOutboundRig>> | null = null;
    try {
      if (sc.kind === 'dkim') {
        if (!values.json) process.stderr.write(`bench: ${sc.name} …\n`);
        row.dk = await runDkimSignBench({ algorithm: sc.id === 'dkim-rsa' ? 'rsa-sha256' : 'ed25519-sha256', messages: sc.messagesPerSession, size, concurrency: 4 });
        continue;
      }
      if (sc.kind === 'pop3') {
        if (!values.json) process.stderr.write(`bench: ${sc.name} …\n`);
        row.pop = await runPop3Bench({ messages: sc.messagesPerSession, size });
        continue;
      }
      if (sc.kind === 'outbound') rig = await startOutboundRig({ domains: sc.domains ?? 1 });
      t ??= await startMailroom([...(sc.serverArgs ?? []), ...(rig?.serverArgs ?? [])]);
      const port = sc.listener === 'smtp' ? t.port : sc.listener === 'submission' ? t.submission : t.submissions;
      if (!port) throw new Error(`the server has no ${sc.listener} port`);
      if (!values.json) process.stderr.write(`bench: ${sc.name} → ${t.host}:${port} …\n`);
      if (rig) {
        row.ob = await runOutbound(rig, {
          host: t.host,
          port,
          messages: sc.sessions * sc.messagesPerSession,
          sessions: sc.sessions,
          size,
          warmup: warmup > 0 ? Math.min(warmup, 500) : 0,
          serverPid: t.pid,
          timeoutMs: 10 * 60_000,
          backlog: true,
        });
        continue;
      }
      if (sc.kind === 'handshakes') {
        // Warm-up: JIT on both ends, and the server's first TLS allocations.
        if (warmup > 0) await runTlsHandshakes({ host: t.host, port, concurrency: 10, durationMs: 0, count: 200, totalTimeoutMs: 120_000 });
        row.hs = await runTlsHandshakes({
          host: t.host,
          port,
          concurrency: sc.sessions,
          durationMs: handshakeMs,
          resume: !!values.resume,
          totalTimeoutMs: handshakeMs + 120_000,
          serverPid: t.pid,
          serverTree: t.tree ?? false,
        });
        continue;
      }
      if (sc.auth && !t.auth) throw new Error('the server gave no credentials for AUTH');
      const base: Partial<LoadOptions> = {
        host: t.host,
        port,
        size,
        rcpts: sc.rcpts,
        bdat: !!values.bdat,
        to: 'user{n}@example.org',
        toRange: 100,
        totalTimeoutMs: 10 * 60_000,
        replyTimeoutMs: 60_000,
        tls: sc.tls,
        ...(sc.auth ? { auth: t.auth, from: t.auth!.user, authInClear: sc.tls === 'none' } : {}),
      };
      if (warmup > 0) {
        // JIT warm-up for both ends (through the same TLS and login path); not counted (but it is stored, and checked).
        const w = await runSmtpLoad({ ...base, sessions: 10, messages: Math.ceil(warmup / 10), totalTimeoutMs: 120_000 });
        row.warmupAccepted = w.accepted;
      }
      row.result = await runSmtpLoad({
        ...base,
        sessions: sc.sessions,
        messages: sc.messagesPerSession,
        serverPid: t.pid,
        serverTree: t.tree ?? false,
      });
    } catch (err) {
      row.error = (err as Error).message;
    } finally {
      if (t && t !== fixed) row.stored = await t.stop();
      await rig?.close();
    }
  }
  if (fixed) await fixed.stop();

  const what =
    mode === 'mailroom' ? 'Mailroom (fresh server per scenario, store fsynced before 250)' : mode === 'sink' ? 'bench/sink.ts (discard): the load generator’s ceiling' : `target ${values.target}`;
  if (values.json) {
    process.stdout.write(
      JSON.stringify({
        target: what,
        rows: rows.map((r) => ({ id: r.scenario.id, name: r.scenario.name, stored: r.stored, warmupAccepted: r.warmupAccepted, error: r.error, skipped: r.skipped, ...r.result, ...r.hs, ...(r.ob ? { outbound: r.ob } : {}), ...(r.pop ? { pop3: r.pop } : {}), ...(r.dk ? { dkim: r.dk } : {}) })),
      }) + '\n',
    );
  } else {
    process.stdout.write(table(rows, what) + '\n');
  }
  if (wantImap && mode === 'mailroom') {
    let imap: ImapBenchResult | null = null;
    try {
      imap = await runImapBench({ messages: 10_000, idle: 1000, log: values.json ? undefined : (x) => process.stderr.write(`bench: ${x}\n`) });
    } catch (err) {
      process.stderr.write(`bench: imap: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
    if (imap) process.stdout.write((values.json ? JSON.stringify({ imap }) : '\n' + imapTable(imap)) + '\n');
  }
  const outboundOk = (o: OutboundResult) =>
    !o.timedOut && !o.extra && o.delivered === o.inject.accepted && o.delivered > 0 && (!o.backlog || (!o.backlog.timedOut && !o.backlog.extra && o.backlog.delivered === o.backlog.queued));
  if (rows.some((r) => !r.skipped && !(r.dk ? r.dk.messages > 0 : r.pop ? r.pop.left === 0 && r.pop.retrieved === r.pop.messages : r.ob ? outboundOk(r.ob) : r.hs ? r.hs.completed > 0 : r.result && r.result.accepted > 0))) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  killChildren();
  process.exit(2);
});
