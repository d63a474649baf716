// Tests for the mapping of file-system and SQLite errors onto StoreError codes.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseSync } from 'node:sqlite';
import { StoreError } from './store.ts';
import { isConstraintError, toStoreError } from './errors.ts';

describe('toStoreError', () => {
  it('maps ENOSPC, EDQUOT and SQLITE_FULL to disk_full', () => {
    const enospc = Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
    assert.equal(toStoreError(enospc, 'writing').code, 'disk_full');
    assert.equal(toStoreError(Object.assign(new Error('quota'), { code: 'EDQUOT' }), 'w').code, 'disk_full');
    const full = Object.assign(new Error('database or disk is full'), { code: 'ERR_SQLITE_ERROR', errcode: 13 });
    assert.equal(toStoreError(full, 'committing').code, 'disk_full');
  });

  it('maps other errors to unavailable, keeping the cause, and passes StoreErrors through', () => {
    const eio = Object.assign(new Error('i/o error'), { code: 'EIO' });
    const e = toStoreError(eio, 'reading');
    assert.equal(e.code, 'unavailable');
    assert.match(e.message, /^reading: i\/o error/);
    assert.equal(e.cause, eio);
    const s = new StoreError('exists', 'x');
    assert.equal(toStoreError(s, 'y'), s);
  });

  it('recognizes SQLite constraint errors by their extended code', () => {
    const db = new DatabaseSync(':memory:');
    db.exec('CREATE TABLE t (a UNIQUE); INSERT INTO t VALUES (1)');
    assert.throws(() => db.exec('INSERT INTO t VALUES (1)'), (err: unknown) => isConstraintError(err));
    db.close();
  });
});
