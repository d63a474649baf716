import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isExpired, needsDelayWarning, nextAttemptAt, type RetryPolicy } from './retry-policy.ts';

const M = 60_000;
const H = 60 * M;
const p: RetryPolicy = { schedule: [1 * M, 5 * M, 15 * M, 30 * M, 1 * H, 2 * H, 4 * H], maxAge: 5 * 24 * H, delayWarning: 4 * H };
const t0 = new Date('2026-11-27T00:00:00Z');

describe('retry policy', () => {
  it('follows the schedule and repeats its last step', () => {
    const d = (n: number) => nextAttemptAt(p, n, t0).getTime() - t0.getTime();
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 20].map(d), [M, 5 * M, 15 * M, 30 * M, H, 2 * H, 4 * H, 4 * H, 4 * H]);
  });
  it('expires after max age', () => {
    assert.equal(isExpired(p, t0, new Date(t0.getTime() + 5 * 24 * H - 1)), false);
    assert.equal(isExpired(p, t0, new Date(t0.getTime() + 5 * 24 * H)), true);
  });
  it('warns once, after the delay, never for the null sender', () => {
    const late = new Date(t0.getTime() + 4 * H);
    assert.equal(needsDelayWarning(p, t0, late, false, 'a@b'), true);
    assert.equal(needsDelayWarning(p, t0, late, true, 'a@b'), false);
    assert.equal(needsDelayWarning(p, t0, late, false, ''), false);
    assert.equal(needsDelayWarning(p, t0, new Date(t0.getTime() + H), false, 'a@b'), false);
    assert.equal(needsDelayWarning({ ...p, delayWarning: 0 }, t0, late, false, 'a@b'), false);
  });
  it('always moves forward', () => {
    fc.assert(fc.property(fc.integer({ min: -5, max: 1000 }), (n) => nextAttemptAt(p, n, t0).getTime() > t0.getTime()));
  });
});
