// `npm run bench`: runs the standard SMTP scenarios with bench/smtp-load.ts and
// prints one table (msg/s, p50/p99 latency, server peak RSS). The target is
// Mailroom by default — started fresh for each scenario in a child process
// (bench/serve-for-bench.ts: temp data dir, example.org, user1..user100) so its
// memory is measured apart from the load generator, and the number of stored
// messages is checked against the number accepted; `--target host:port` runs
// the same scenarios against any running server instead (e.g. Postfix), and
// `--target sink` against bench/sink.ts to show the load generator's ceiling.
// Scenarios: 50 sessions × 10 KB × 1 recipient; 50 sessions × 10 KB × 5
// recipients; 1 session sending one message after another. Every step is
// bounded in time; child processes are stopped on the way out.
//
// Run: npm run bench -- [--target host:port|sink] [--server-pid PID] [--messages 10000]
//      [--sequential 500] [--size 10k] [--bdat] [--warmup 1000] [--only 5rcpt] [--json]

import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { runSmtpLoad, fmtBytes, parseSize } from './smtp-load.ts';
import type { LoadOptions, LoadResult } from './smtp-load.ts';

interface Scenario {
  id: string;
  name: string;
  sessions: number;
  messagesPerSession: number;
  rcpts: number;
}

interface Row {
  scenario: Scenario;
  result?: LoadResult;
  /** Messages the server says it stored (Mailroom mode), warm-up included. */
  stored?: number;
  warmupAccepted: number;
  error?: string;
}

interface Target {
  host: string;
  port: number;
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

async function startMailroom(): Promise<Target> {
  const s = spawnJson(`${HERE}serve-for-bench.ts`, ['--port', '0', '--exit-with-stdin'], 'ready', 120_000);
  const info = await s.ready;
  if (info.ready !== true) {
    await s.stop();
    throw new Error(String(info.error ?? 'not ready'));
  }
  return {
    host: '127.0.0.1',
    port: Number(info.port),
    pid: s.child.pid,
    async stop() {
      const msgs = await s.stop();
      const st = msgs.find((m) => typeof m.stored === 'number');
      return st ? Number(st.stored) : undefined;
    },
  };
}

async function startSinkChild(): Promise<Target> {
  const s = spawnJson(`${HERE}sink.ts`, ['--port', '0', '--quiet'], 'sink', 30_000);
  const info = await s.ready;
  return {
    host: '127.0.0.1',
    port: Number(info.port),
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
  const body = rows.map((r) => {
    const x = r.result;
    if (!x) return [r.scenario.name, `failed: ${r.error ?? '?'}`, '', '', '', '', '', '', ''];
    const storedOk = r.stored === undefined ? '-' : `${r.stored}${r.stored === expectedStored(r) ? '' : ' (!)'}`;
    return [
      r.scenario.name,
      `${x.accepted}/${x.sent}`,
      String(x.rejectedTotal),
      String(x.errorsTotal),
      x.msgPerSec.toFixed(0),
      x.latency.p50.toFixed(1),
      x.latency.p99.toFixed(1),
      x.server ? fmtBytes(x.server.peakRss) : '-',
      storedOk,
    ];
  });
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, w[i]!, i > 0)).join('  ');
  const out = [`${what}`, line(head), w.map((n) => '-'.repeat(n)).join('  '), ...body.map(line)];
  const notes: string[] = [];
  for (const r of rows) {
    const x = r.result;
    if (!x) continue;
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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      target: { type: 'string' },
      'server-pid': { type: 'string' },
      'server-tree': { type: 'boolean' },
      messages: { type: 'string', default: '10000' },
      sequential: { type: 'string', default: '500' },
      size: { type: 'string', default: '10k' },
      bdat: { type: 'boolean' },
      warmup: { type: 'string', default: '1000' },
      only: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run bench -- [--target host:port|sink] [--server-pid PID [--server-tree]] [--messages 10000]\n' +
        '                        [--sequential 500] [--size 10k] [--bdat] [--warmup 1000] [--only ID] [--json]\n' +
        'scenario ids: 50x1, 50x5, seq\n',
    );
    return;
  }
  const total = Number(values.messages);
  const size = parseSize(values.size!);
  const warmup = Number(values.warmup);
  const kb = fmtBytes(size).replace('.0 ', ' ').replace(' KiB', ' KB');
  let scenarios: Scenario[] = [
    { id: '50x1', name: `50 sessions × ${kb} × 1 rcpt`, sessions: 50, messagesPerSession: Math.max(1, Math.round(total / 50)), rcpts: 1 },
    { id: '50x5', name: `50 sessions × ${kb} × 5 rcpts`, sessions: 50, messagesPerSession: Math.max(1, Math.round(total / 50)), rcpts: 5 },
    { id: 'seq', name: `1 session, sequential, × 1 rcpt`, sessions: 1, messagesPerSession: Number(values.sequential), rcpts: 1 },
  ];
  if (values.only) scenarios = scenarios.filter((s) => values.only!.split(',').includes(s.id));

  const mode = values.target === undefined ? 'mailroom' : values.target === 'sink' ? 'sink' : 'target';
  let fixed: Target | null = null;
  if (mode === 'target') {
    const { host, port } = parseTarget(values.target!);
    fixed = {
      host,
      port,
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

  const rows: Row[] = [];
  for (const sc of scenarios) {
    const row: Row = { scenario: sc, warmupAccepted: 0 };
    rows.push(row);
    let t: Target | null = fixed;
    try {
      t ??= await startMailroom();
      const base: Partial<LoadOptions> = {
        host: t.host,
        port: t.port,
        size,
        rcpts: sc.rcpts,
        bdat: !!values.bdat,
        to: 'user{n}@example.org',
        toRange: 100,
        totalTimeoutMs: 10 * 60_000,
        replyTimeoutMs: 60_000,
      };
      if (warmup > 0) {
        // JIT warm-up for both ends; not counted (but it is stored, and checked).
        const w = await runSmtpLoad({ ...base, sessions: 10, messages: Math.ceil(warmup / 10), totalTimeoutMs: 120_000 });
        row.warmupAccepted = w.accepted;
      }
      if (!values.json) process.stderr.write(`bench: ${sc.name} → ${t.host}:${t.port} …\n`);
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
    }
  }
  if (fixed) await fixed.stop();

  const what =
    mode === 'mailroom' ? 'Mailroom (fresh server per scenario, store fsynced before 250)' : mode === 'sink' ? 'bench/sink.ts (discard): the load generator’s ceiling' : `target ${values.target}`;
  if (values.json) {
    process.stdout.write(JSON.stringify({ target: what, rows: rows.map((r) => ({ id: r.scenario.id, name: r.scenario.name, stored: r.stored, warmupAccepted: r.warmupAccepted, error: r.error, ...r.result })) }) + '\n');
  } else {
    process.stdout.write(table(rows, what) + '\n');
  }
  if (rows.some((r) => !r.result || r.result.accepted === 0)) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  killChildren();
  process.exit(2);
});
