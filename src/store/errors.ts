// Maps what the file system and SQLite throw onto StoreError codes, so callers
// decide temporary versus permanent from one field: a full disk or quota is
// 'disk_full' (SMTP 452 4.3.1), anything else unexpected is 'unavailable'
// (451 4.3.0). The original error is kept as `cause` for the logs.

import { StoreError } from './store.ts';

// https://sqlite.org/rescode.html (primary codes; extended codes keep them in the low byte)
const SQLITE_BUSY = 5;
const SQLITE_FULL = 13;
const SQLITE_CONSTRAINT = 19;

function sqliteCode(err: unknown): number | null {
  const e = err as { code?: unknown; errcode?: unknown };
  return e && e.code === 'ERR_SQLITE_ERROR' && typeof e.errcode === 'number' ? e.errcode & 0xff : null;
}

export function isConstraintError(err: unknown): boolean {
  return sqliteCode(err) === SQLITE_CONSTRAINT;
}

export function isBusyError(err: unknown): boolean {
  return sqliteCode(err) === SQLITE_BUSY;
}

export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || sqliteCode(err) === SQLITE_FULL;
}

/** StoreErrors pass through; everything else becomes disk_full or unavailable. */
export function toStoreError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const out = new StoreError(isDiskFull(err) ? 'disk_full' : 'unavailable', `${what}: ${msg}`);
  (out as { cause?: unknown }).cause = err;
  return out;
}
