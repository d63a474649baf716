// Tests for IMAP sequence sets (RFC 9051 §9): parsing numbers, "*", ranges in
// either order, "$", errors and limits; contains/expand; property tests
// (never throws; serialize → parse round trip; contains agrees with expand).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { contains, expand, largest, normalize, parseSequenceSet, serializeSequenceSet, type SequenceSet } from './sequence-set.ts';

function ranges(s: string): SequenceSet {
  const r = parseSequenceSet(s);
  assert.ok(r.ok && !r.set.saved, `${s}: ${JSON.stringify(r)}`);
  return r.ok && !r.set.saved ? r.set.ranges : [];
}

describe('sequence sets', () => {
  it('parses the RFC 9051 §9 forms', () => {
    assert.deepEqual(ranges('1'), [{ start: 1, end: 1 }]);
    assert.deepEqual(ranges('2:4,7,*'), [{ start: 2, end: 4 }, { start: 7, end: 7 }, { start: '*', end: '*' }]);
    assert.deepEqual(ranges('5:*'), [{ start: 5, end: '*' }]);
    assert.deepEqual(ranges('4294967295'), [{ start: 4294967295, end: 4294967295 }]);
    assert.deepEqual(parseSequenceSet('$'), { ok: true, set: { saved: true } });
  });

  it('rejects malformed sets', () => {
    for (const bad of ['', '0', '01', '1,', ',1', '1::2', '1:', ':1', 'a', '1 2', '4294967296', '$,1', '-1', '1:0', '**']) {
      assert.equal(parseSequenceSet(bad).ok, false, bad);
    }
    assert.equal(parseSequenceSet('1,'.repeat(10) + '1', { maxRanges: 10 }).ok, false);
    assert.equal(parseSequenceSet('1'.repeat(9), { maxLength: 8 }).ok, false);
  });

  it('contains: ranges in either order, * as max (RFC 9051 §9)', () => {
    const s = ranges('4:2,10:*');
    assert.deepEqual([1, 2, 3, 4, 5, 9, 10, 11, 12].map((n) => contains(s, n, 11)), [false, true, true, true, false, false, true, true, false]);
    assert.equal(contains(ranges('*'), 1, 0), false);
  });

  it('expand merges, clips to max and refuses more than the limit', () => {
    assert.deepEqual(expand(ranges('3:1,2,8:*'), 9, 100), { ok: true, values: [1, 2, 3, 8, 9] });
    // RFC 9051 §6.4.8: UID range 559:* includes the last UID even when it is below 559.
    assert.deepEqual(expand(ranges('559:*'), 100, 100), { ok: true, values: [100] });
    assert.equal(expand(ranges('1:*'), 4294967295, 1000).ok, false);
    assert.deepEqual(normalize(ranges('5,1:3,4'), 9), [[1, 5]]);
    assert.equal(largest(ranges('3,7:*'), 5), 7);
  });

  it('serializes', () => {
    assert.equal(serializeSequenceSet(ranges('1:3,5,*:2')), '1:3,5,*:2');
    assert.equal(serializeSequenceSet({ saved: true }), '$');
  });
});

describe('sequence set properties', () => {
  const seq = fc.oneof(fc.integer({ min: 1, max: 4294967295 }), fc.constant('*' as const));
  const set = fc.array(fc.record({ start: seq, end: seq }), { minLength: 1, maxLength: 20 })
    .map((rs) => rs.map((r) => ({ start: r.start, end: r.end })));

  it('never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9:,*$]{0,30}$/)), (s) => {
      parseSequenceSet(s);
    }), { numRuns: 2000 });
  });

  it('serialize → parse round trip', () => {
    fc.assert(fc.property(set, (s) => {
      const r = parseSequenceSet(serializeSequenceSet(s));
      assert.deepEqual(r, { ok: true, set: { saved: false, ranges: s } });
    }));
  });

  it('contains agrees with expand', () => {
    const small = fc.array(fc.record({ start: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant('*' as const)), end: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.constant('*' as const)) }), { minLength: 1, maxLength: 6 });
    fc.assert(fc.property(small, fc.integer({ min: 0, max: 30 }), (s, max) => {
      const e = expand(s, max, 1000);
      assert.ok(e.ok);
      const want: number[] = [];
      for (let n = 1; n <= max; n++) if (contains(s, n, max)) want.push(n);
      assert.deepEqual(e.ok ? e.values : [], want);
    }));
  });
});
