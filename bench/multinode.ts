// SMTP throughput with the store on PostgreSQL, one node against two nodes
// sharing one database, beside the embedded SQLite store for reference. Each
// node is bench/serve-for-bench.ts in its own process (on PostgreSQL all in
// one fresh schema); the load (bench/smtp-load.ts: sessions × 10 KB × 1
// recipient on the SMTP port, pipelined, plaintext) is split evenly across the
// nodes and runs at the same time; msg/s = accepted over the longest elapsed.
// Every 250 means the message is committed (PostgreSQL: synchronous_commit =
// on; SQLite: fsync). Afterwards the stored count is checked against the
// accepted count. The database server runs on the same machine, so the nodes
// and PostgreSQL share its cores.
//
// Run: node bench/multinode.ts [--store postgres://postgres@127.0.0.1/postgres]
//      [--messages 5000] [--sessions 50] [--nodes 1,2] [--no-sqlite]

import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { runSmtpLoad, type LoadResult } from './smtp-load.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));

interface Node {
  child: ChildProcess;
  port: number;
  stop(): Promise<number | undefined>;
}

function startNode(args: string[]): Promise<Node> {
  const child = spawn(process.execPath, [`${HERE}serve-for-bench.ts`, '--port', '0', '--no-submission', '--exit-with-stdin', '--log', 'warn', ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const msgs: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('a node did not start in 120 s')), 120_000);
    lines.on('line', (line) => {
      let m: Record<string, unknown>;
      try {
        m = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      msgs.push(m);
      if (m.ready === true) {
        clearTimeout(t);
        resolve({
          child,
          port: Number(m.port),
          async stop() {
            const exited = new Promise<void>((r) => child.once('exit', () => r()));
            child.kill('SIGTERM');
            await exited;
            const s = msgs.find((x) => typeof x.stored === 'number');
            return s ? Number(s.stored) : undefined;
          },
        });
      } else if (m.ready === false) {
        clearTimeout(t);
        reject(new Error(String(m.error)));
      }
    });
    child.once('exit', (code) => reject(new Error(`node exited with ${code}`)));
  });
}

interface Row {
  name: string;
  accepted: number;
  sent: number;
  msgPerSec: number;
  p50: number;
  p99: number;
  stored: number | undefined;
}

async function scenario(name: string, nodeArgs: string[][], messages: number, sessions: number): Promise<Row> {
  // Start one at a time: the first creates the schema, domain and users.
  const nodes: Node[] = [];
  for (const a of nodeArgs) nodes.push(await startNode(a));
  try {
    const per = Math.ceil(sessions / nodes.length);
    const perSession = Math.ceil(messages / (per * nodes.length));
    process.stderr.write(`multinode: ${name}: ${nodes.length} node(s) × ${per} sessions × ${perSession} messages …\n`);
    const results: LoadResult[] = await Promise.all(
      nodes.map((n) => runSmtpLoad({ host: '127.0.0.1', port: n.port, sessions: per, messages: perSession, size: 10 * 1024, rcpts: 1 })),
    );
    const accepted = results.reduce((s, r) => s + r.accepted, 0);
    const sent = results.reduce((s, r) => s + r.sent, 0);
    const elapsed = Math.max(...results.map((r) => r.elapsed));
    const p50 = Math.max(...results.map((r) => r.latency.p50));
    const p99 = Math.max(...results.map((r) => r.latency.p99));
    // On a shared database every node counts every message: take the first's.
    const stored = (await Promise.all(nodes.map((n) => n.stop())))[0];
    nodes.length = 0;
    return { name, accepted, sent, msgPerSec: accepted / elapsed, p50, p99, stored };
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      store: { type: 'string', default: process.env.MAILROOM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
      messages: { type: 'string', default: '5000' },
      sessions: { type: 'string', default: '50' },
      nodes: { type: 'string', default: '1,2' },
      'no-sqlite': { type: 'boolean' },
    },
  });
  const messages = Number(values.messages);
  const sessions = Number(values.sessions);
  const rows: Row[] = [];
  if (!values['no-sqlite']) rows.push(await scenario('SQLite, 1 node', [[]], messages, sessions));
  for (const n of values.nodes!.split(',').map(Number)) {
    const schema = `bench_mn_${randomBytes(4).toString('hex')}`;
    const u = new URL(values.store!);
    u.searchParams.set('schema', schema);
    try {
      rows.push(await scenario(`PostgreSQL, ${n} node${n > 1 ? 's' : ''}`, Array.from({ length: n }, () => ['--store-url', u.href]), messages, sessions));
    } finally {
      const base = new URL(values.store!);
      const c = new pg.Client({ connectionString: base.href });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`).finally(() => c.end());
    }
  }
  const head = ['store', 'accepted/sent', 'msg/s', 'p50 ms', 'p99 ms', 'stored'];
  const body = rows.map((r) => [r.name, `${r.accepted}/${r.sent}`, r.msgPerSec.toFixed(0), r.p50.toFixed(1), r.p99.toFixed(1), r.stored === undefined ? '-' : `${r.stored}${r.stored === r.accepted ? '' : ' (!)'}`]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(w[i]!)).join(' | ') + ' |';
  console.log(line(head));
  console.log('|' + w.map((x) => '-'.repeat(x + 2)).join('|') + '|');
  for (const b of body) console.log(line(b));
  console.log(`\n${sessions} sessions in total × 10 KB × 1 recipient, pipelined, plaintext on the SMTP port; every 250 after a durable commit.`);
}

main().catch((err: unknown) => {
  console.error(`multinode: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
