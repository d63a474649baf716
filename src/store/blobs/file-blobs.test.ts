// Tests for file blobs: content-addressed layout, round trip of pieces,
// reuse of an existing blob, concurrent identical writes, bad ids, and that
// a failed write leaves no temp file behind.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { FileBlobs } from './file-blobs.ts';
import { StoreError } from '../store.ts';

const idOf = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('FileBlobs', () => {
  let dir: string;
  let fb: FileBlobs;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mailroom-blobs-'));
    fb = await FileBlobs.open(join(dir, 'blobs'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('writes pieces to <root>/ab/cd/<id> and reads them back', async () => {
    const bytes = Buffer.from('Subject: x\r\n\r\n' + 'y'.repeat(100_000));
    const id = idOf(bytes);
    await fb.write(id, [bytes.subarray(0, 5), bytes.subarray(5, 5), bytes.subarray(5)]);
    assert.equal(fb.path(id), join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4), id));
    assert.equal(await fb.exists(id), true);
    assert.deepEqual(await fb.read(id), bytes);
    assert.deepEqual(await readdir(join(dir, 'blobs', 'tmp')), []);
  });

  it('reuses an existing blob and writes concurrent identical content once', async () => {
    const bytes = Buffer.from('same bytes');
    const id = idOf(bytes);
    await Promise.all(Array.from({ length: 10 }, () => fb.write(id, [bytes])));
    await fb.write(id, [bytes]);
    assert.deepEqual(await fb.read(id), bytes);
  });

  it('refuses ids that are not sha256 hex', async () => {
    for (const bad of ['', '../x', 'A'.repeat(64), 'a'.repeat(63)]) {
      assert.throws(() => fb.path(bad), (e: unknown) => e instanceof StoreError && e.code === 'invalid');
    }
    await assert.rejects(fb.read('0'.repeat(64)), (e: unknown) => e instanceof StoreError && e.code === 'unavailable');
  });

  it('maps I/O failures to StoreError and leaves no temp file', async () => {
    const bytes = Buffer.from('cannot land');
    const id = idOf(bytes);
    // A plain file where the blob's directory should be: the rename fails (ENOTDIR).
    await mkdir(join(dir, 'blobs', id.slice(0, 2)), { recursive: true });
    await writeFile(join(dir, 'blobs', id.slice(0, 2), id.slice(2, 4)), 'in the way');
    await assert.rejects(fb.write(id, [bytes]), (e: unknown) => e instanceof StoreError && e.code === 'unavailable');
    assert.deepEqual(await readdir(join(dir, 'blobs', 'tmp')), []);
  });
});
