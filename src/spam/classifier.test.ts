// The naive-Bayes classifier: Robinson's estimates, chi-square combining,
// and that a trained model separates what it was taught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { chi2Q, classify, mergeCounts, tokenProbability } from './classifier.ts';
import type { TokenCounts } from '../store/abuse-store.ts';

test('chi2Q: known values (even degrees of freedom)', () => {
  // P(χ²₂ ≥ x) = e^{-x/2}
  assert.ok(Math.abs(chi2Q(2, 2) - Math.exp(-1)) < 1e-12);
  assert.ok(Math.abs(chi2Q(0, 10) - 1) < 1e-12);
  assert.ok(chi2Q(1000, 4) < 1e-100);
});

test('token probability: rare tokens stay near 0.5, frequent ones move', () => {
  const totals = { spam: 100, ham: 100 };
  assert.equal(tokenProbability({ spam: 0, ham: 0 }, totals), 0.5);
  const once = tokenProbability({ spam: 1, ham: 0 }, totals);
  const often = tokenProbability({ spam: 50, ham: 0 }, totals);
  assert.ok(once > 0.5 && once < often && often < 1);
  assert.ok(tokenProbability({ spam: 0, ham: 50 }, totals) < 0.05);
});

test('a trained model separates spam and ham words; unknown words say nothing', () => {
  const counts = new Map<string, TokenCounts>([
    ['viagra', { spam: 40, ham: 0 }],
    ['winner', { spam: 30, ham: 1 }],
    ['meeting', { spam: 1, ham: 40 }],
    ['agenda', { spam: 0, ham: 30 }],
  ]);
  const totals = { spam: 50, ham: 50 };
  assert.ok(classify(['viagra', 'winner'], counts, totals).probability > 0.95);
  assert.ok(classify(['meeting', 'agenda'], counts, totals).probability < 0.05);
  assert.equal(classify(['unknown'], counts, totals).probability, 0.5);
});

test('mergeCounts adds user counts to global ones without changing either', () => {
  const g = new Map([['a', { spam: 1, ham: 2 }]]);
  const u = new Map([['a', { spam: 3, ham: 0 }], ['b', { spam: 0, ham: 1 }]]);
  assert.deepEqual(Object.fromEntries(mergeCounts(g, u)), { a: { spam: 4, ham: 2 }, b: { spam: 0, ham: 1 } });
  assert.deepEqual(g.get('a'), { spam: 1, ham: 2 });
});

test('property: the probability is always in [0, 1]', () => {
  const counts = fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.record({ spam: fc.nat(1000), ham: fc.nat(1000) }));
  fc.assert(
    fc.property(counts, fc.nat(2000), fc.nat(2000), (c, s, h) => {
      const map = new Map(Object.entries(c));
      const p = classify([...map.keys()], map, { spam: s, ham: h }).probability;
      assert.ok(p >= 0 && p <= 1, String(p));
    }),
    { numRuns: 300 },
  );
});
