// The spam filter's evaluation on the constructed labelled set
// (bench/spam-corpus.ts): trained on one half, tested on the other. It must
// flag no ham (false positives matter more than misses) and catch most spam;
// the measured figures are printed. The SpamAssassin-corpus figures come from
// `node bench/spam-eval.ts --corpus DIR` (bench/README.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate } from '../../bench/spam-eval.ts';
import { constructedCorpus } from '../../bench/spam-corpus.ts';

test('constructed set: no false positives, high recall, bounded cost', async (t) => {
  const r = await evaluate(constructedCorpus(150));
  const [rules, trained] = r.runs;
  for (const run of r.runs) {
    t.diagnostic(`${run.label}: junk precision ${(run.junk.precision * 100).toFixed(1)}% recall ${(run.junk.recall * 100).toFixed(1)}% fp ${run.junk.fp}/${run.junk.fp + run.junk.tn}; mean ${run.cost.mean.toFixed(2)} ms p99 ${run.cost.p99.toFixed(2)} ms`);
  }
  assert.equal(rules.junk.fp, 0, `rules alone flagged ham: ${rules.falsePositives.join('; ')}`);
  assert.equal(trained.junk.fp, 0, `classifier flagged ham: ${trained.falsePositives.join('; ')}`);
  assert.equal(trained.reject.fp, 0);
  assert.ok(rules.junk.recall >= 0.8, `rules recall ${rules.junk.recall}`);
  assert.ok(trained.junk.recall >= 0.95, `trained recall ${trained.junk.recall}`);
  assert.ok(trained.cost.mean < 20, `mean scoring cost ${trained.cost.mean} ms`);
});
