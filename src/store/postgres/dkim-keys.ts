// DKIM signing keys on PostgreSQL (table dkim_keys): the same behaviour as
// the SQLite side (store/dkim-contract.ts), input checked by the
// backend-neutral helpers in store/dkim-keys.ts. A rotation (new key plus the
// old key's schedule) is one transaction, so every node sees both or neither.

import type { PoolClient } from 'pg';
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
import { isUniqueViolation } from './connection.ts';

type Q = Pick<PoolClient, 'query'>;

const COLUMNS = `d.name AS domain, k.selector, k.algorithm, k.private_key, k.public_key,
                 k.created_at, k.activate_at, k.deactivate_at, k.retire_at`;

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

async function getRow(c: Q, domain: string, selector: string, lock = false): Promise<DkimKeyRow | undefined> {
  const r = await c.query<DkimKeyRow>(
    `SELECT ${COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = $1 AND k.selector = $2${lock ? ' FOR UPDATE OF k' : ''}`,
    [domain, selector],
  );
  return r.rows[0];
}

async function setSchedule(c: Q, d: string, sel: string, a: number, de: number | null, re: number | null): Promise<void> {
  await c.query(
    `UPDATE dkim_keys SET activate_at = $1, deactivate_at = $2, retire_at = $3
     WHERE domain_id = (SELECT id FROM domains WHERE name = $4) AND selector = $5`,
    [a, de, re, d, sel],
  );
}

export async function addDkimKey(c: Q, nowMs: number, key: NewDkimKey, supersede?: DkimSupersede): Promise<DkimKey> {
  const k = normalizeNewDkimKey(key);
  const sup = supersede === undefined ? null : normalizeSupersede(supersede);
  const dom = await c.query<{ id: number }>('SELECT id FROM domains WHERE name = $1 FOR KEY SHARE', [k.domain]);
  if (!dom.rows[0]) throw new StoreError('not_found', `no such domain: ${k.domain}`);
  if (sup) {
    const old = await getRow(c, k.domain, sup.selector, true);
    if (!old) throw new StoreError('not_found', `no DKIM key ${sup.selector} for ${k.domain}`);
    await setSchedule(c, k.domain, sup.selector, old.activate_at, sup.deactivateAt.getTime(), sup.retireAt.getTime());
  }
  const r = await c.query(
    `INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key, created_at, activate_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (domain_id, selector) DO NOTHING`,
    [dom.rows[0].id, k.selector, k.algorithm, k.privateKey, k.publicKey, nowMs, k.activateAt.getTime()],
  );
  if (r.rowCount === 0) throw new StoreError('exists', `DKIM selector ${k.selector} already exists for ${k.domain}`);
  return toKey((await getRow(c, k.domain, k.selector))!);
}

export async function listDkimKeys(c: Q, domain?: string): Promise<DkimKey[]> {
  const r =
    domain === undefined
      ? await c.query<DkimKeyRow>(`SELECT ${COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id ORDER BY d.name, k.activate_at, k.selector`)
      : await c.query<DkimKeyRow>(
          `SELECT ${COLUMNS} FROM dkim_keys k JOIN domains d ON d.id = k.domain_id WHERE d.name = $1 ORDER BY k.activate_at, k.selector`,
          [requireDomain(domain)],
        );
  return r.rows.map(toKey);
}

export async function getDkimKey(c: Q, domain: string, selector: string): Promise<DkimKey | null> {
  const row = await getRow(c, requireDomain(domain), requireDkimSelector(selector));
  return row ? toKey(row) : null;
}

export async function setDkimKeySchedule(c: Q, domain: string, selector: string, change: DkimScheduleChange): Promise<DkimKey> {
  const d = requireDomain(domain);
  const sel = requireDkimSelector(selector);
  const ch = normalizeScheduleChange(change);
  const row = await getRow(c, d, sel, true);
  if (!row) throw new StoreError('not_found', `no DKIM key ${sel} for ${d}`);
  const activate = ch.activateAt !== undefined ? ch.activateAt.getTime() : row.activate_at;
  const deactivate = ch.deactivateAt !== undefined ? (ch.deactivateAt?.getTime() ?? null) : row.deactivate_at;
  const retire = ch.retireAt !== undefined ? (ch.retireAt?.getTime() ?? null) : row.retire_at;
  await setSchedule(c, d, sel, activate, deactivate, retire);
  return toKey((await getRow(c, d, sel))!);
}

export async function removeDkimKey(c: Q, domain: string, selector: string): Promise<void> {
  const d = requireDomain(domain);
  const sel = requireDkimSelector(selector);
  const r = await c.query('DELETE FROM dkim_keys WHERE domain_id = (SELECT id FROM domains WHERE name = $1) AND selector = $2', [d, sel]);
  if (r.rowCount === 0) throw new StoreError('not_found', `no DKIM key ${sel} for ${d}`);
}

