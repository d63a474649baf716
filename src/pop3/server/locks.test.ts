// The in-process maildrop lock: one holder per mailbox, re-entrant for the
// same owner, released only by its holder.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessMaildropLocks } from './locks.ts';

it('one session per maildrop; release by the holder only', async () => {
  const l = new InProcessMaildropLocks();
  assert.equal(await l.acquire(1, 's1'), true);
  assert.equal(await l.acquire(1, 's1'), true);
  assert.equal(await l.acquire(1, 's2'), false);
  assert.equal(await l.acquire(2, 's2'), true);
  await l.release(1, 's2');
  assert.equal(await l.acquire(1, 's3'), false, 'a non-holder cannot release');
  await l.release(1, 's1');
  assert.equal(await l.acquire(1, 's3'), true);
  assert.equal(l.size, 2);
});
