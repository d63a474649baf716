// The sliding-window estimate the rate limits use.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { slidingEstimate } from './rate-limit.ts';

test('at the start of a window the previous one counts fully, at its end not at all', () => {
  assert.equal(slidingEstimate(0, 100, 3_600_000, 3_600_000), 100);
  assert.equal(slidingEstimate(10, 100, 3_600_000 + 1_800_000, 3_600_000), 60);
  assert.ok(Math.abs(slidingEstimate(10, 100, 2 * 3_600_000 - 1, 3_600_000) - 10) < 0.001);
});

test('property: between the current count and current + previous, monotone in both counts', () => {
  fc.assert(
    fc.property(fc.nat(10_000), fc.nat(10_000), fc.nat(1e12), fc.integer({ min: 1, max: 86_400_000 }), (cur, prev, now, w) => {
      const e = slidingEstimate(cur, prev, now, w);
      assert.ok(e >= cur && e <= cur + prev);
      assert.ok(slidingEstimate(cur + 1, prev, now, w) > e);
      assert.ok(slidingEstimate(cur, prev + 1, now, w) >= e);
    }),
  );
});
