// Write transactions on the SQLite connection. BEGIN IMMEDIATE takes the write
// lock up front, so a second process (the CLI next to the server) waits in
// the busy handler instead of failing on a read→write lock upgrade.

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
