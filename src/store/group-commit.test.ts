// Tests for the group committer: requests of one event-loop turn share a
// batch, requests arriving during a commit form the next one, outcomes are
// per request, a failed batch fails all its requests, and drain() waits.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { GroupCommitter, type Outcome } from './group-commit.ts';

describe('GroupCommitter', () => {
  it('commits requests submitted together as one batch', async () => {
    const batches: number[][] = [];
    const gc = new GroupCommitter<number, number>((b) => {
      batches.push(b);
      return b.map((x) => ({ ok: true, value: x * 2 }));
    });
    const out = await Promise.all([1, 2, 3].map((x) => gc.submit(x)));
    assert.deepEqual(out, [2, 4, 6]);
    assert.deepEqual(batches, [[1, 2, 3]]);
    assert.equal(gc.batches, 1);
    assert.equal(gc.items, 3);
  });

  it('gathers requests that arrive while a batch commits into the next batch', async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gc = new GroupCommitter<number, number>(async (b) => {
      batches.push(b);
      if (batches.length === 1) await new Promise<void>((r) => (release = r));
      return b.map((x) => ({ ok: true, value: x }));
    });
    const first = gc.submit(1);
    await new Promise((r) => setImmediate(r)); // batch 1 is now running
    const more = [2, 3, 4].map((x) => gc.submit(x));
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(batches, [[1]], 'nothing starts while a batch runs');
    release();
    assert.deepEqual(await Promise.all([first, ...more]), [1, 2, 3, 4]);
    assert.deepEqual(batches, [[1], [2, 3, 4]]);
  });

  it('settles each request with its own outcome', async () => {
    const gc = new GroupCommitter<number, number>((b) =>
      b.map((x): Outcome<number> => (x % 2 ? { ok: true, value: x } : { ok: false, error: new Error(`even ${x}`) })),
    );
    const results = await Promise.allSettled([1, 2, 3].map((x) => gc.submit(x)));
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
  });

  it('fails every request of a batch whose commit fails, then carries on', async () => {
    let fail = true;
    const gc = new GroupCommitter<number, number>((b) => {
      if (fail) throw new Error('commit failed');
      return b.map((x) => ({ ok: true, value: x }));
    });
    const r = await Promise.allSettled([gc.submit(1), gc.submit(2)]);
    assert.ok(r.every((x) => x.status === 'rejected'));
    fail = false;
    assert.equal(await gc.submit(3), 3);
  });

  it('splits at maxBatch and drain() waits for everything', async () => {
    const sizes: number[] = [];
    const gc = new GroupCommitter<number, number>(
      (b) => {
        sizes.push(b.length);
        return b.map((x) => ({ ok: true, value: x }));
      },
      { maxBatch: 4 },
    );
    const all = Array.from({ length: 10 }, (_, i) => gc.submit(i));
    await gc.drain();
    assert.deepEqual(sizes, [4, 4, 2]);
    assert.equal((await Promise.all(all)).length, 10);
    await gc.drain(); // idle: resolves at once
  });
});
