// Mailbox input rules (mailbox-input.ts): names, UID lists and flags, with
// fast-check properties: arbitrary input never throws anything but a
// StoreError('invalid'), normalized flags are canonical, duplicate-free
// (case-insensitively) and stable, and flag operations behave as sets.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StoreError } from './store.ts';
import {
  applyFlagOperation,
  normalizeFlags,
  requireMailboxName,
  requireUids,
  sameFlags,
  SYSTEM_FLAGS,
} from './mailbox-input.ts';

function onlyInvalid(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StoreError && err.code === 'invalid', String(err));
  }
}

const flagChars = fc.constantFrom(...'abcXYZ019$_-\\ \r%*(){}"]'.split(''));
const flag = fc.oneof(
  fc.constantFrom('\\Seen', '\\seen', '\\SEEN', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft', '\\Recent', '$Label1', 'work', 'Work'),
  fc.string({ unit: flagChars, minLength: 0, maxLength: 8 }),
);

describe('mailbox input', () => {
  it('names: INBOX in any case is INBOX; empty levels and controls are refused', () => {
    assert.equal(requireMailboxName('inbox'), 'INBOX');
    assert.equal(requireMailboxName('Inbox/sub'), 'Inbox/sub');
    assert.equal(requireMailboxName('Lists/a b'), 'Lists/a b');
    for (const bad of ['', '/a', 'a/', 'a//b', 'a\r\nb', 'x\u0000', 'a'.repeat(1001)]) {
      assert.throws(() => requireMailboxName(bad), StoreError, JSON.stringify(bad));
    }
    fc.assert(fc.property(fc.anything(), (x) => onlyInvalid(() => requireMailboxName(x))));
  });

  it('UIDs: positive integers, deduplicated and sorted', () => {
    assert.deepEqual(requireUids([5, 1, 5, 3]), [1, 3, 5]);
    for (const bad of [[0], [-1], [1.5], ['1']]) assert.throws(() => requireUids(bad as number[]), StoreError);
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1000 })), (uids) => {
        const out = requireUids(uids);
        assert.deepEqual(out, [...new Set(uids)].sort((a, b) => a - b));
      }),
    );
    fc.assert(fc.property(fc.anything(), (x) => onlyInvalid(() => requireUids(x as number[]))));
  });

  it('flags: canonical system flags, case-insensitive keywords, no \\Recent', () => {
    assert.deepEqual(normalizeFlags(['\\seen', 'Work', 'WORK', '\\Recent', '\\DELETED', '$x']), ['\\Seen', 'Work', '\\Deleted', '$x']);
    assert.throws(() => normalizeFlags(['a b']), StoreError);
    assert.throws(() => normalizeFlags(['']), StoreError);
    fc.assert(
      fc.property(fc.array(flag, { maxLength: 10 }), (flags) => {
        let out: string[];
        try {
          out = normalizeFlags(flags);
        } catch (err) {
          assert.ok(err instanceof StoreError && err.code === 'invalid');
          return;
        }
        const lower = out.map((f) => f.toLowerCase());
        assert.equal(new Set(lower).size, out.length, 'no duplicates');
        assert.ok(!lower.includes('\\recent'));
        for (const f of out) if (f.startsWith('\\')) assert.ok(SYSTEM_FLAGS.includes(f) || !SYSTEM_FLAGS.some((s) => s.toLowerCase() === f.toLowerCase()));
        assert.deepEqual(normalizeFlags(out), out, 'idempotent');
      }),
    );
  });

  it('flag operations behave as case-insensitive sets', () => {
    const set = fc.array(fc.constantFrom('\\Seen', '\\Flagged', 'a', 'b', 'C'), { maxLength: 5 }).map((f) => normalizeFlags(f));
    fc.assert(
      fc.property(set, set, (cur, given) => {
        const added = applyFlagOperation(cur, 'add', given);
        const removed = applyFlagOperation(cur, 'remove', given);
        assert.ok(sameFlags(applyFlagOperation(cur, 'replace', given), given));
        for (const g of given) {
          assert.ok(added.some((f) => f.toLowerCase() === g.toLowerCase()));
          assert.ok(!removed.some((f) => f.toLowerCase() === g.toLowerCase()));
        }
        assert.ok(sameFlags(applyFlagOperation(added, 'add', given), added), 'adding twice changes nothing');
        assert.ok(sameFlags(applyFlagOperation(removed, 'remove', given), removed));
      }),
    );
  });
});
