// Tests for size and duration parsing and formatting.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UnitError, formatDuration, formatSize, formatSizeApprox, parseDuration, parseSize } from './units.ts';

test('sizes: numbers and 1024-based units', () => {
  assert.equal(parseSize(1024), 1024);
  assert.equal(parseSize(0), 0);
  assert.equal(parseSize('1024'), 1024);
  assert.equal(parseSize('512K'), 512 * 1024);
  assert.equal(parseSize('50M'), 50 * 1024 * 1024);
  assert.equal(parseSize('2G'), 2 * 1024 ** 3);
  assert.equal(parseSize('1T'), 1024 ** 4);
  assert.equal(parseSize('50m'), 50 * 1024 * 1024);
  assert.equal(parseSize('50MB'), 50 * 1024 * 1024);
  assert.equal(parseSize('50MiB'), 50 * 1024 * 1024);
  assert.equal(parseSize('1.5K'), 1536);
  assert.equal(parseSize(' 2 G '), 2 * 1024 ** 3);
  assert.equal(parseSize(10n), 10);
});

test('sizes: clear errors', () => {
  for (const bad of ['', 'x', '5X', '-1', '1..5K', '.5K', '5.K', 'K', '1.5', -1, 1.5, true, null, [], {}]) {
    assert.throws(() => parseSize(bad), UnitError, `should reject ${String(bad)}`);
  }
  assert.throws(() => parseSize('5X'), { message: 'expected a size like "512K", "50M" or "2G" (1024-based; a bare number is bytes), got "5X"' });
  assert.throws(() => parseSize('0.3K'), { message: '"0.3K" is not a whole number of bytes' });
  assert.throws(() => parseSize('99999999T'), /too large/);
});

test('durations: units and combinations', () => {
  assert.equal(parseDuration('250ms'), 250);
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('2d'), 172_800_000);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('1.5s'), 1500);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration(0), 0);
});

test('durations: clear errors', () => {
  for (const bad of ['', '5', '5x', 'm', '5 m', '5M', '1h 30m', '-5s', 30, true, null]) {
    assert.throws(() => parseDuration(bad), UnitError, `should reject ${String(bad)}`);
  }
  assert.throws(() => parseDuration('30'), { message: 'expected a duration like "250ms", "30s", "5m", "1h" or "2d" (write the unit, e.g. "30s"), got "30"' });
  assert.throws(() => parseDuration(30), /write the unit/);
  assert.throws(() => parseDuration('5w'), /got "5w"/);
});

test('formatting is exact and round-trips', () => {
  assert.equal(formatSize(50 * 1024 * 1024), '50M');
  assert.equal(formatSize(1500), '1500');
  assert.equal(formatSize(0), '0');
  assert.equal(formatSize(1536), '1536');
  assert.equal(formatSizeApprox(1536), '1.5K');
  assert.equal(formatSizeApprox(2 * 1024 ** 3), '2G');
  assert.equal(formatSizeApprox(999), '999');
  assert.equal(formatDuration(300_000), '5m');
  assert.equal(formatDuration(1500), '1500ms');
  assert.equal(formatDuration(0), '0');
  for (const n of [0, 1, 1023, 1024, 52428800, 3 * 1024 ** 4]) assert.equal(parseSize(formatSize(n)), n);
  for (const n of [0, 1, 999, 1000, 90_000, 86_400_000 * 3]) assert.equal(parseDuration(formatDuration(n)), n);
});

test('property: any input gives a whole number of bytes/ms or a UnitError', async () => {
  const fc = (await import('fast-check')).default;
  const check = (fn: (v: unknown) => number) => (v: unknown) => {
    try {
      const n = fn(v);
      assert.ok(Number.isSafeInteger(n) && n >= 0);
    } catch (err) {
      assert.ok(err instanceof UnitError, String(err));
    }
  };
  const input = fc.oneof(fc.string(), fc.stringMatching(/^[0-9.]{0,6}[a-zA-Z]{0,3}$/), fc.anything());
  fc.assert(fc.property(input, check(parseSize)));
  fc.assert(fc.property(input, check(parseDuration)));
});
