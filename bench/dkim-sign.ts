// DKIM signing throughput: messages per second signed by Mailroom's signer
// (src/message/dkim-sign.ts: relaxed/relaxed, the full header list with
// oversigning) with an RSA-2048 or an Ed25519 key, `concurrency` messages in
// flight as sessions would have them (canonicalization and hashing on the
// event loop, the private-key step on libuv's thread pool), and the time per
// message from start to signature. Also reports
// the event loop's longest stall while signing, measured by
// perf_hooks.monitorEventLoopDelay, and messages per CPU second (process
// CPU time), which stays meaningful when other work shares the machine. `runDkimSignBench(opts)` for bench/run.ts.
//
// Run: node bench/dkim-sign.ts [--algorithm rsa|ed25519|both] [--messages 2000] [--size 10k] [--concurrency 4] [--json]

import { generateKeyPairSync } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { dkimSign, type DkimSignAlgorithm } from '../src/message/dkim-sign.ts';

export interface DkimBenchOptions {
  algorithm: DkimSignAlgorithm;
  messages: number;
  /** Message size in bytes (headers + body). */
  size: number;
  /** Signed first, not counted (JIT). */
  warmup?: number;
  /** Messages in flight at once (the private-key step runs on libuv's thread pool). */
  concurrency?: number;
}

export interface DkimBenchResult {
  algorithm: DkimSignAlgorithm;
  concurrency: number;
  messages: number;
  size: number;
  seconds: number;
  msgPerSec: number;
  /** Messages per second of this thread's CPU time: the figure on an idle core, whatever else the machine runs. */
  msgPerCpuSec: number;
  latency: { p50: number; p99: number; max: number };
  /** Longest event-loop delay seen while signing, ms. */
  loopDelayMaxMs: number;
}

/** A plausible message of about `size` bytes: the usual headers, 76-character body lines. */
export function benchMessage(size: number, n: number): Buffer {
  const head =
    `From: Alice Example <alice@example.org>\r\nTo: Bob <bob@example.net>\r\nCc: carol@example.net\r\n` +
    `Subject: Benchmark message ${n}\r\nDate: Sat, 28 Nov 2026 01:00:00 +0000\r\nMessage-ID: <${n}.bench@example.org>\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n`;
  // Prose as mail apps send it: nothing for relaxed canonicalization to change (the common case).
  const line = 'The quick brown fox jumps over the lazy dog, again and again and again and again.\r\n';
  const lines = Math.max(1, Math.ceil((size - head.length) / line.length));
  return Buffer.from(head + line.repeat(lines));
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function runDkimSignBench(o: DkimBenchOptions): Promise<DkimBenchResult> {
  const pair = o.algorithm === 'rsa-sha256' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ed25519');
  const key = { domain: 'example.org', selector: 'bench', algorithm: o.algorithm, privateKey: pair.privateKey };
  const msgs = Array.from({ length: 16 }, (_, i) => benchMessage(o.size, i));
  const now = new Date();
  for (let i = 0; i < (o.warmup ?? Math.min(200, o.messages)); i++) await dkimSign([msgs[i % msgs.length]!], [key], { now });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const times: number[] = [];
  const concurrency = Math.max(1, o.concurrency ?? 1);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < o.messages) {
      const i = next++;
      const s = performance.now();
      const r = await dkimSign([msgs[i % msgs.length]!], [key], { now });
      times.push(performance.now() - s);
      if (!r.ok) throw new Error(`signing failed: ${r.reason}`);
      // Let the loop turn, as a server would between messages, so the monitor sees one signature's stall.
      await new Promise((res) => setImmediate(res));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  loop.disable();
  times.sort((a, b) => a - b);
  return {
    algorithm: o.algorithm,
    concurrency,
    messages: o.messages,
    size: msgs[0]!.length,
    seconds,
    msgPerSec: o.messages / seconds,
    msgPerCpuSec: o.messages / Math.max(cpuSeconds, 1e-9),
    latency: { p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1] ?? 0 },
    loopDelayMaxMs: loop.max / 1e6,
  };
}

function parseSize(s: string): number {
  const m = /^(\d+)([kKmM]?)$/.exec(s);
  if (!m) throw new Error(`bad size ${s}`);
  return Number(m[1]) * (m[2]?.toLowerCase() === 'k' ? 1024 : m[2]?.toLowerCase() === 'm' ? 1 << 20 : 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      algorithm: { type: 'string', default: 'both' },
      messages: { type: 'string', default: '2000' },
      size: { type: 'string', default: '10k' },
      concurrency: { type: 'string', default: '4' },
      json: { type: 'boolean' },
    },
  });
  const algs: DkimSignAlgorithm[] = values.algorithm === 'rsa' ? ['rsa-sha256'] : values.algorithm === 'ed25519' ? ['ed25519-sha256'] : ['rsa-sha256', 'ed25519-sha256'];
  const results: DkimBenchResult[] = [];
  for (const algorithm of algs) results.push(await runDkimSignBench({ algorithm, messages: Number(values.messages), size: parseSize(values.size!), concurrency: Number(values.concurrency) }));
  if (values.json) {
    process.stdout.write(JSON.stringify(results) + '\n');
    return;
  }
  for (const r of results) {
    process.stdout.write(
      `${r.algorithm.padEnd(15)} ${r.messages} × ${r.size} B, ${r.concurrency} at a time: ${r.msgPerSec.toFixed(0)} msg/s (${r.msgPerCpuSec.toFixed(0)} per CPU second), per message p50 ${r.latency.p50.toFixed(2)} ms, ` +
        `p99 ${r.latency.p99.toFixed(2)} ms, max ${r.latency.max.toFixed(2)} ms; longest event-loop stall ${r.loopDelayMaxMs.toFixed(1)} ms\n`,
    );
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`dkim-sign bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
