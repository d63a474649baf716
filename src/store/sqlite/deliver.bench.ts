// Delivery throughput of the SQLite store (a script, not a test):
// 5,000 deliveries of 10 KB from 50 concurrent callers, once with the bytes
// inline in the database and once as files, committing in the worker thread
// and on the main thread, printing deliveries/s and the
// average group-commit batch size, and how busy the main thread was. Run:
//   node src/store/sqlite/deliver.bench.ts [count] [concurrency] [sizeBytes] [recipients]

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { openSqliteStore } from './sqlite-store.ts';

const [count = 5000, concurrency = 50, size = 10 * 1024, rcpts = 1] = process.argv.slice(2).map(Number);

async function run(label: string, inlineMaxBytes: number, commitIn: 'worker' | 'main'): Promise<void> {
  // Under the working directory, not /tmp: tmpfs would make fsync free.
  const dataDir = await mkdtemp(join(process.cwd(), '.bench-store-'));
  const store = await openSqliteStore({ dataDir, inlineMaxBytes, commitIn });
  try {
    await store.addDomain('bench.example');
    const ids: number[] = [];
    for (let i = 0; i < rcpts; i++) {
      ids.push((await store.addAccount({ address: `u${i}@bench.example`, passwordHash: 'x', quotaBytes: 0 })).id);
    }
    const header = Buffer.from('Subject: bench\r\n\r\n');
    const filler = randomBytes(size - header.length - 16);
    let next = 0;
    const before = store.commitStats;
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < count; i = next++) {
          // Distinct bytes per message, so no delivery reuses another's blob.
          const unique = Buffer.from(String(i).padStart(16, '0'));
          await store.deliver({
            content: [header, filler, unique],
            internalDate: new Date(),
            recipients: ids.map((accountId) => ({ accountId })),
          });
        }
      }),
    );
    const secs = (performance.now() - t0) / 1000;
    // How busy the main thread was: what is left for SMTP/IMAP sessions.
    const elu = performance.eventLoopUtilization(elu0).utilization;
    const after = store.commitStats;
    const batches = after.batches - before.batches;
    console.log(
      `${label.padEnd(7)} commit in ${commitIn.padEnd(6)} ${count} × ${size} B, ${concurrency} callers, ${rcpts} rcpt: ` +
        `${Math.round(count / secs)} deliveries/s (${secs.toFixed(2)} s, ${batches} commits, ` +
        `${(count / batches).toFixed(1)} per commit, main thread ${Math.round(elu * 100)}% busy)`,
    );
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

for (const commitIn of ['worker', 'main'] as const) {
  await run('inline', 256 * 1024, commitIn);
  await run('files', 0, commitIn);
}
