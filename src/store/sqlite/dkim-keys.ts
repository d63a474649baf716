// The SQLite side of DKIM signing keys (table dkim_keys, migration v5):
// plain functions over the store's connection that SqliteStore wraps in its
// #op (closed-store check, error mapping). Input is checked by the
// backend-neutral helpers in store/dkim-keys.ts. Statements are prepared once
// per connection, on first use.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { StoreError } from '../store.ts';
import {
  normalizeNewDkimKey,
  normalizeScheduleChange,
  normalizeSupersede,
  requireDkimSelector,
  type DkimAlgorithm,
  type DkimKey,
  type DkimScheduleChange,
  type DkimSupersede,
  type NewDkimKey,
} from '../dkim-keys.ts';
import { requireDomain } from '../names.ts';
import { isConstraintError } from '../errors.ts';
import { withTransaction } from './tx.ts';

const COLUMNS = `d.name AS domain, k.selector, k.algorithm, k.private_key, k.public_key,
                 k.created_at, k.activate_at, k.deactivate_at, k.retire_at`;

const SQL = {
  domainId: 'SELECT id FROM domains WHERE name = ?',
  insert: `INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key, created_at, activate_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
  get: `SELECT ${COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = ? AND k.selector = ?`,
  listAll: `SELECT ${COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id ORDER BY d.name, k.activate_at, k.selector`,
  listDomain: `SELECT ${COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = ?
               ORDER BY k.activate_at, k.selector`,
  setSchedule: `UPDATE dkim_keys SET activate_at = ?, deactivate_at = ?, retire_at = ?
                WHERE domain_id = (SELECT id FROM domains WHERE name = ?) AND selector = ?`,
  remove: 'DELETE FROM dkim_keys WHERE domain_id = (SELECT id FROM domains WHERE name = ?) AND selector = ?',
} as const;

type Statements = Record<keyof typeof SQL, StatementSync>;
const prepared = new WeakMap<DatabaseSync, Statements>();

function st(db: DatabaseSync): Statements {
  let s = prepared.get(db);
  if (!s) {
    const out = {} as Record<string, StatementSync>;
    for (const [k, sql] of Object.entries(SQL)) out[k] = db.prepare(sql);
    s = out as Statements;
    prepared.set(db, s);
  }
  return s;
}

interface DkimKeyRow {
  domain: string;
  selector: string;
  algorithm: string;
  private_key: string;
  public_key: string;
  created_at: number;
  activate_at: number;
  deactivate_at: number | null;
  retire_at: number | null;
}

function toKey(r: DkimKeyRow): DkimKey {
  return {
    domain: r.domain,
    selector: r.selector,
    algorithm: r.algorithm as DkimAlgorithm,
    privateKey: r.private_key,
    publicKey: r.public_key,
    createdAt: new Date(r.created_at),
    activateAt: new Date(r.activate_at),
    deactivateAt: r.deactivate_at === null ? null : new Date(r.deactivate_at),
    retireAt: r.retire_at === null ? null : new Date(r.retire_at),
  };
}

function getRow(db: DatabaseSync, domain: string, selector: string): DkimKeyRow | undefined {
  return st(db).get.get(domain, selector) as unknown as DkimKeyRow | undefined;
}

export function addDkimKey(db: DatabaseSync, nowMs: number, key: NewDkimKey, supersede?: DkimSupersede): DkimKey {
  const k = normalizeNewDkimKey(key);
  const sup = supersede === undefined ? null : normalizeSupersede(supersede);
  return withTransaction(db, () => {
    const s = st(db);
    const dom = s.domainId.get(k.domain) as { id: number } | undefined;
    if (!dom) throw new StoreError('not_found', `no such domain: ${k.domain}`);
    if (sup) {
      const old = getRow(db, k.domain, sup.selector);
      if (!old) throw new StoreError('not_found', `no DKIM key ${sup.selector} for ${k.domain}`);
      s.setSchedule.run(old.activate_at, sup.deactivateAt.getTime(), sup.retireAt.getTime(), k.domain, sup.selector);
    }
    try {
      s.insert.run(dom.id, k.selector, k.algorithm, k.privateKey, k.publicKey, nowMs, k.activateAt.getTime());
    } catch (err) {
      if (isConstraintError(err)) throw new StoreError('exists', `DKIM selector ${k.selector} already exists for ${k.domain}`);
      throw err;
    }
    return toKey(getRow(db, k.domain, k.selector)!);
  });
}

export function listDkimKeys(db: DatabaseSync, domain?: string): DkimKey[] {
  const rows = domain === undefined ? st(db).listAll.all() : st(db).listDomain.all(requireDomain(domain));
  return (rows as unknown as DkimKeyRow[]).map(toKey);
}

export function getDkimKey(db: DatabaseSync, domain: string, selector: string): DkimKey | null {
  const row = getRow(db, requireDomain(domain), requireDkimSelector(selector));
  return row ? toKey(row) : null;
}

export function setDkimKeySchedule(db: DatabaseSync, domain: string, selector: string, change: DkimScheduleChange): DkimKey {
  const d = requireDomain(domain);
  const sel = requireDkimSelector(selector);
  const c = normalizeScheduleChange(change);
  return withTransaction(db, () => {
    const row = getRow(db, d, sel);
    if (!row) throw new StoreError('not_found', `no DKIM key ${sel} for ${d}`);
    const activate = c.activateAt !== undefined ? c.activateAt.getTime() : row.activate_at;
    const deactivate = c.deactivateAt !== undefined ? (c.deactivateAt?.getTime() ?? null) : row.deactivate_at;
    const retire = c.retireAt !== undefined ? (c.retireAt?.getTime() ?? null) : row.retire_at;
    st(db).setSchedule.run(activate, deactivate, retire, d, sel);
    return toKey(getRow(db, d, sel)!);
  });
}

export function removeDkimKey(db: DatabaseSync, domain: string, selector: string): void {
  const d = requireDomain(domain);
  const sel = requireDkimSelector(selector);
  const res = withTransaction(db, () => st(db).remove.run(d, sel));
  if (res.changes === 0) throw new StoreError('not_found', `no DKIM key ${sel} for ${d}`);
}
