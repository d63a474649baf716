// Transactions on the SQLite connection. A write transaction begins
// IMMEDIATE, taking the write lock up front, so a second process (the CLI
// next to the server) waits in the busy handler instead of failing on a
// read→write lock upgrade; a read transaction gives several reads one snapshot.

import type { DatabaseSync } from 'node:sqlite';

export function withTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const out = fn();
    db.exec('COMMIT');
    return out;
  } catch (err) {
    // A failed COMMIT may or may not have ended the transaction.
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  }
}

/** Several reads that must see one snapshot (WAL: a deferred transaction
 * reads the database as of its first statement, never blocking the writer). */
export function withReadTransaction<T>(db: DatabaseSync, fn: () => T): T {
  db.exec('BEGIN');
  try {
    return fn();
  } finally {
    if (db.isTransaction) db.exec('COMMIT');
  }
}
