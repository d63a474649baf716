// The SQLite side of authentication data: app passwords (per-device
// passwords an account can revoke one by one) and sender grants (envelope
// senders an account may use besides its own address). Plain functions over
// the store's connection and prepared statements; SqliteStore wraps each in
// its #op (closed-store check, error mapping).

import type { DatabaseSync } from 'node:sqlite';
import { StoreError, type AppPassword, type AppPasswordInfo } from '../store.ts';
import { requireAppPasswordName, requireSenderGrant } from '../names.ts';
import { isConstraintError } from '../errors.ts';
import type { Statements } from './statements.ts';
import { toAppPassword, type AppPasswordRow } from './rows.ts';
import { withTransaction } from './tx.ts';

export interface CredentialsDb {
  db: DatabaseSync;
  st: Statements;
  nowMs(): number;
}

function requireAccount(c: CredentialsDb, accountId: number): void {
  if (!Number.isSafeInteger(accountId) || !c.st.accountById.get(accountId)) {
    throw new StoreError('not_found', `no such account id: ${accountId}`);
  }
}

function requireHash(h: unknown, what: string): string {
  if (typeof h !== 'string' || h === '') throw new StoreError('invalid', `${what} must be a non-empty string`);
  return h;
}

export function requireScram(s: unknown): string | null {
  if (s === undefined || s === null) return null;
  return requireHash(s, 'scram');
}

export function addAppPassword(c: CredentialsDb, accountId: number, name: string, passwordHash: string, scram: string | null): AppPasswordInfo {
  const n = requireAppPasswordName(name);
  const hash = requireHash(passwordHash, 'passwordHash');
  const keys = requireScram(scram);
  return withTransaction(c.db, () => {
    requireAccount(c, accountId);
    let row: { id: number; name: string; created_at: number };
    try {
      row = c.st.insertAppPassword.get(accountId, n, hash, keys, c.nowMs()) as unknown as typeof row;
    } catch (err) {
      if (isConstraintError(err)) throw new StoreError('exists', `app password exists: ${n}`);
      throw err;
    }
    return { id: row.id, name: row.name, createdAt: new Date(row.created_at) };
  });
}

export function listAppPasswords(c: CredentialsDb, accountId: number): AppPassword[] {
  return (c.st.listAppPasswords.all(accountId) as unknown as AppPasswordRow[]).map(toAppPassword);
}

export function removeAppPassword(c: CredentialsDb, accountId: number, name: string): void {
  const n = requireAppPasswordName(name);
  const res = withTransaction(c.db, () => c.st.deleteAppPassword.run(accountId, n));
  if (res.changes === 0) throw new StoreError('not_found', `no app password ${n} for account id ${accountId}`);
}

export function addSenderGrant(c: CredentialsDb, accountId: number, address: string): void {
  const a = requireSenderGrant(address);
  withTransaction(c.db, () => {
    requireAccount(c, accountId);
    try {
      c.st.insertSenderGrant.run(accountId, a, c.nowMs());
    } catch (err) {
      if (isConstraintError(err)) throw new StoreError('exists', `sender grant exists: ${a}`);
      throw err;
    }
  });
}

export function removeSenderGrant(c: CredentialsDb, accountId: number, address: string): void {
  const a = requireSenderGrant(address);
  const res = withTransaction(c.db, () => c.st.deleteSenderGrant.run(accountId, a));
  if (res.changes === 0) throw new StoreError('not_found', `no sender grant ${a} for account id ${accountId}`);
}

export function listSenderGrants(c: CredentialsDb, accountId: number): string[] {
  return (c.st.listSenderGrants.all(accountId) as Array<{ address: string }>).map((r) => r.address);
}
