// Property tests for the run-length UID map: it behaves exactly like a sorted
// array of UIDs (sequence number = index + 1) under push, lookups, ranges and
// removal, and removal reports sequence numbers highest first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UidMap, SelectedMailbox } from './selected.ts';

const sortedUids = fc.uniqueArray(fc.integer({ min: 1, max: 400 }), { maxLength: 120 }).map((a) => a.sort((x, y) => x - y));

test('UidMap behaves like a sorted array', () => {
  fc.assert(
    fc.property(sortedUids, fc.array(fc.integer({ min: 1, max: 420 }), { maxLength: 30 }), fc.integer({ min: 1, max: 420 }), fc.integer({ min: 1, max: 420 }), (uids, removals, lo, hi) => {
      const m = UidMap.from(uids);
      assert.equal(m.length, uids.length);
      assert.deepEqual(m.toArray(), uids);
      assert.deepEqual([...m], uids);
      assert.equal(m.max, uids.length ? uids[uids.length - 1] : 0);
      for (let i = 0; i < uids.length; i++) {
        assert.equal(m.seqOf(uids[i]!), i + 1);
        assert.equal(m.uidAt(i + 1), uids[i]);
      }
      for (let u = 1; u <= 420; u += 7) if (!uids.includes(u)) assert.equal(m.seqOf(u), 0);
      const [a, b] = lo <= hi ? [lo, hi] : [hi, lo];
      assert.deepEqual(m.between(a, b), uids.filter((u) => u >= a && u <= b));
      const gone = new Set(removals);
      const expectSeqs = uids.map((u, i) => [u, i + 1] as const).filter(([u]) => gone.has(u)).map(([, s]) => s).reverse();
      assert.deepEqual(m.remove(gone), expectSeqs);
      const left = uids.filter((u) => !gone.has(u));
      assert.deepEqual(m.toArray(), left);
      for (let i = 0; i < left.length; i++) assert.equal(m.seqOf(left[i]!), i + 1);
      const next = (left.at(-1) ?? 0) + 1 + (lo % 3);
      m.push(next);
      assert.equal(m.seqOf(next), left.length + 1);
    }),
  );
});

test('UidMap refuses a UID that does not ascend', () => {
  const m = UidMap.from([1, 2, 3]);
  assert.throws(() => m.push(3));
});

test('a contiguous mailbox of 10,000 messages is one run', () => {
  const sel = new SelectedMailbox({ mailboxId: 1, name: 'INBOX', readOnly: false, uidValidity: 1, uids: Array.from({ length: 10_000 }, (_, i) => i + 1), modseq: 1 });
  assert.equal(sel.exists, 10_000);
  assert.equal(sel.seqOf(5000), 5000);
  assert.deepEqual(sel.removeUids([10, 20]), [20, 10]);
  assert.equal(sel.seqOf(21), 19);
});
