// Opening one SQLite connection with the settings every connection of the
// store needs (the main thread's and the commit worker's): WAL so readers
// never wait for the writer, synchronous=FULL so a commit is on disk when it
// returns, foreign keys, and a busy timeout so that another process (the CLI
// beside a running server) or the other connection waits instead of failing.

import { DatabaseSync } from 'node:sqlite';
import { StoreError } from '../store.ts';

export function openConnection(path: string, busyTimeoutMs: number): DatabaseSync {
  const db = new DatabaseSync(path, { timeout: busyTimeoutMs, enableForeignKeyConstraints: true });
  try {
    const mode = db.prepare('PRAGMA journal_mode = WAL').get() as { journal_mode: string };
    if (mode.journal_mode !== 'wal') throw new StoreError('unavailable', `cannot enable WAL (got ${mode.journal_mode})`);
    // FULL: the WAL is fsynced at every commit, so an acknowledged write survives power loss.
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}
