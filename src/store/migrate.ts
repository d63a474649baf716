// Moves a single-node installation (the SQLite store in a data directory)
// into PostgreSQL for a multi-node deployment: every table — domains,
// accounts, aliases, app passwords, sender grants, mailboxes with their
// UIDVALIDITY/UIDNEXT/HIGHESTMODSEQ, messages with flags, UIDs and modseqs,
// expunge memory, message bytes (inline or files) and their metadata, the
// outbound queue with its leases, DKIM keys, abuse state — keeping every id,
// so IMAP clients see the same UIDs and nothing has to be renumbered. It all
// happens in one PostgreSQL transaction: a failure leaves the target empty.
// Then a verification pass compares, table by table, the row count and a
// sha256 over every row (ordered by key, values in one canonical form) on
// both sides, and re-hashes every message's bytes in PostgreSQL against its
// content address. The server must be stopped while this runs.

import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { DatabaseSync } from 'node:sqlite';
import type { PoolClient } from 'pg';
import { StoreError } from './store.ts';
import { openSqliteStore } from './sqlite/index.ts';
import { openPgStore, type PgStore } from './postgres/pg-store.ts';
import { withTx } from './postgres/connection.ts';

interface TableSpec {
  name: string;
  /** Columns copied, in order; the first ones are the key used for ordering. */
  columns: string[];
  key: string[];
  /** SQLite 0/1 columns that are BOOLEAN in PostgreSQL. */
  booleans?: string[];
  /** Has a BIGSERIAL id whose sequence must move past the copied ids. */
  serial?: boolean;
}

// In foreign-key order.
const TABLES: readonly TableSpec[] = [
  { name: 'domains', columns: ['id', 'name', 'created_at'], key: ['id'], serial: true },
  {
    name: 'accounts',
    columns: ['id', 'domain_id', 'address', 'password_hash', 'scram', 'quota_bytes', 'used_bytes', 'created_at'],
    key: ['id'],
    serial: true,
  },
  { name: 'aliases', columns: ['id', 'domain_id', 'source', 'target'], key: ['id'], serial: true },
  { name: 'app_passwords', columns: ['id', 'account_id', 'name', 'password_hash', 'scram', 'created_at'], key: ['id'], serial: true },
  { name: 'sender_grants', columns: ['id', 'account_id', 'address', 'created_at'], key: ['id'], serial: true },
  {
    name: 'mailboxes',
    columns: ['id', 'account_id', 'name', 'special_use', 'subscribed', 'uid_validity', 'uid_next', 'highest_modseq'],
    key: ['id'],
    booleans: ['subscribed'],
    serial: true,
  },
  { name: 'blobs', columns: ['id', 'size', 'created_at'], key: ['id'] },
  {
    name: 'messages',
    columns: ['id', 'mailbox_id', 'uid', 'modseq', 'flags', 'internal_date', 'size', 'blob_id'],
    key: ['id'],
    serial: true,
  },
  { name: 'expunged', columns: ['mailbox_id', 'uid', 'modseq'], key: ['mailbox_id', 'uid'] },
  { name: 'counters', columns: ['name', 'value'], key: ['name'] },
  {
    name: 'queue_messages',
    columns: ['id', 'queue_id', 'blob_id', 'size', 'sender', 'envid', 'ret', 'smtputf8', 'eight_bit', 'created_at', 'done_at'],
    key: ['id'],
    booleans: ['smtputf8', 'eight_bit'],
    serial: true,
  },
  {
    name: 'queue_recipients',
    columns: [
      'id', 'message_id', 'address', 'domain', 'state', 'attempts', 'next_attempt_at', 'last_attempt_at', 'last_reply',
      'last_status', 'last_host', 'notify', 'orcpt', 'delay_warned', 'lease_owner', 'lease_until',
    ],
    key: ['id'],
    booleans: ['delay_warned'],
    serial: true,
  },
  {
    name: 'dkim_keys',
    columns: ['id', 'domain_id', 'selector', 'algorithm', 'private_key', 'public_key', 'created_at', 'activate_at', 'deactivate_at', 'retire_at'],
    key: ['id'],
    serial: true,
  },
  { name: 'greylist', columns: ['network', 'sender', 'recipient', 'first_seen', 'last_seen', 'passed_at', 'passes'], key: ['network', 'sender', 'recipient'] },
  { name: 'rate_counters', columns: ['key', 'window_start', 'count', 'expires_at'], key: ['key', 'window_start'] },
  { name: 'rate_overrides', columns: ['account_id', 'messages_per_hour', 'recipients_per_day'], key: ['account_id'] },
  { name: 'spam_tokens', columns: ['scope', 'token', 'spam', 'ham'], key: ['scope', 'token'] },
  { name: 'spam_totals', columns: ['scope', 'spam', 'ham'], key: ['scope'] },
  { name: 'spam_trained', columns: ['scope', 'message_key', 'label', 'tokens', 'trained_at'], key: ['scope', 'message_key'] },
  { name: 'sender_rules', columns: ['account_id', 'pattern', 'action'], key: ['account_id', 'pattern'] },
];

export interface TableReport {
  table: string;
  rows: number;
  /** sha256 over the rows, the same on both sides when verified. */
  checksum: string;
}

export interface MigrationReport {
  tables: TableReport[];
  blobs: { count: number; bytes: number };
  /** Differences found by the verification (empty = verified). */
  mismatches: string[];
}

export interface MigrateOptions {
  /** The SQLite data directory (holding mailroom.db and blobs/). */
  fromDataDir: string;
  /** postgres://… of an empty database (or schema). */
  toUrl: string;
  progress?: (line: string) => void;
}

function sqliteTables(db: DatabaseSync): Set<string> {
  const rows = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table'`).all() as Array<{ name: string }>;
  return new Set(rows.map((r) => r.name));
}

/** One canonical text per value, so SQLite's 0/1 and PostgreSQL's booleans,
 * and both sides' numbers, hash alike. */
function canon(v: unknown): string {
  if (v === null || v === undefined) return '\u0000null';
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return String(v);
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

function hashRows(rows: Iterable<Record<string, unknown>>, columns: string[]): { rows: number; checksum: string } {
  const h = createHash('sha256');
  let n = 0;
  for (const r of rows) {
    n++;
    h.update(columns.map((c) => canon(r[c])).join('\u0001') + '\u0002');
  }
  return { rows: n, checksum: h.digest('hex') };
}

async function insertChunked(c: PoolClient, t: TableSpec, rows: Array<Record<string, unknown>>): Promise<void> {
  const cols = t.columns;
  const per = Math.max(1, Math.floor(30000 / cols.length));
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const params: unknown[] = [];
    const tuples = chunk.map((r) => {
      const ph = cols.map((col) => {
        let v = r[col];
        if (t.booleans?.includes(col)) v = v === null || v === undefined ? null : Number(v) !== 0;
        if (typeof v === 'bigint') v = v.toString();
        params.push(v ?? null);
        return `$${params.length}`;
      });
      return `(${ph.join(', ')})`;
    });
    await c.query(`INSERT INTO ${t.name} (${cols.join(', ')}) VALUES ${tuples.join(', ')}`, params);
  }
}

async function targetIsEmpty(pg: PgStore): Promise<string | null> {
  for (const t of ['domains', 'accounts', 'messages', 'queue_messages', 'blobs']) {
    const r = await pg.pool.query<{ n: number }>(`SELECT count(*) AS n FROM ${t}`);
    if (r.rows[0]!.n > 0) return `${t} has ${r.rows[0]!.n} rows`;
  }
  return null;
}

/** Copies everything, then verifies. Throws StoreError for a target that is
 * not empty or a source that is missing; mismatches are reported, not thrown. */
export async function migrateSqliteToPostgres(o: MigrateOptions): Promise<MigrationReport> {
  const say = o.progress ?? (() => {});
  const dbPath = join(o.fromDataDir, 'mailroom.db');
  if (!existsSync(dbPath)) throw new StoreError('not_found', `no Mailroom database at ${dbPath}`);
  // Opening the store brings an older SQLite schema up to date first.
  const sqlite = await openSqliteStore({ dataDir: o.fromDataDir, commitIn: 'main' });
  const raw = new DatabaseSync(dbPath, { readOnly: true });
  const pg = await openPgStore({ url: o.toUrl, listen: false, poolSize: 2 });
  try {
    const busy = await targetIsEmpty(pg);
    if (busy) throw new StoreError('exists', `the target database is not empty (${busy}); migrate into an empty database`);
    const present = sqliteTables(raw);
    const tables = TABLES.filter((t) => present.has(t.name));
    let blobCount = 0;
    let blobBytes = 0;
    await withTx(pg.pool, async (c) => {
      for (const t of tables) {
        const rows = raw.prepare(`SELECT ${t.columns.join(', ')} FROM ${t.name} ORDER BY ${t.key.join(', ')}`).all() as Array<Record<string, unknown>>;
        await insertChunked(c, t, rows);
        if (t.name === 'blobs') {
          // The bytes (inline in SQLite or a file) and the parsed-message metadata.
          for (const b of rows) {
            const id = String(b.id);
            const bytes = await sqlite.readBlob(id);
            await c.query('INSERT INTO blob_content (id, content) VALUES ($1, $2)', [id, bytes]);
            blobCount++;
            blobBytes += bytes.length;
          }
          if (raw.prepare(`SELECT 1 FROM pragma_table_info('blobs') WHERE name = 'meta'`).get()) {
            const metas = raw.prepare('SELECT id, meta FROM blobs WHERE meta IS NOT NULL ORDER BY id').all() as Array<{ id: string; meta: string }>;
            for (const m of metas) await c.query('INSERT INTO message_meta (blob_id, meta) VALUES ($1, $2)', [m.id, m.meta]);
          }
        }
        if (t.serial) {
          await c.query(`SELECT setval(pg_get_serial_sequence('${t.name}', 'id'), coalesce((SELECT max(id) FROM ${t.name}), 0) + 1, false)`);
        }
        say(`copied ${t.name}: ${rows.length}`);
      }
    });
    say(`copied ${blobCount} message bodies (${blobBytes} bytes)`);
    const report = await verify(raw, pg, tables);
    return { ...report, blobs: { count: blobCount, bytes: blobBytes } };
  } finally {
    raw.close();
    await sqlite.close();
    await pg.close();
  }
}

/** Row counts and checksums of every table on both sides, and every blob's
 * bytes in PostgreSQL against its sha256 name. */
async function verify(raw: DatabaseSync, pg: PgStore, tables: readonly TableSpec[]): Promise<Omit<MigrationReport, 'blobs'>> {
  const out: TableReport[] = [];
  const mismatches: string[] = [];
  for (const t of tables) {
    const order = t.key.join(', ');
    const src = hashRows(raw.prepare(`SELECT ${t.columns.join(', ')} FROM ${t.name} ORDER BY ${order}`).iterate() as Iterable<Record<string, unknown>>, t.columns);
    // ORDER BY in PostgreSQL with COLLATE "C" sorts text by bytes, as SQLite does.
    const pgOrder = t.key.map((k) => `${k} COLLATE "C"`);
    const textKeys = await pg.pool.query<{ column_name: string; data_type: string }>(
      'SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1',
      [t.name],
    );
    const isText = new Set(textKeys.rows.filter((r) => r.data_type === 'text').map((r) => r.column_name));
    const orderBy = t.key.map((k, i) => (isText.has(k) ? pgOrder[i] : k)).join(', ');
    const dst = hashRows((await pg.pool.query(`SELECT ${t.columns.join(', ')} FROM ${t.name} ORDER BY ${orderBy}`)).rows, t.columns);
    out.push({ table: t.name, rows: dst.rows, checksum: dst.checksum });
    if (src.rows !== dst.rows) mismatches.push(`${t.name}: ${src.rows} rows in SQLite, ${dst.rows} in PostgreSQL`);
    else if (src.checksum !== dst.checksum) mismatches.push(`${t.name}: the rows differ (checksum)`);
  }
  // Every message body, re-hashed where it now lives.
  const ids = (await pg.pool.query<{ id: string }>('SELECT id FROM blobs ORDER BY id')).rows.map((r) => r.id);
  for (const id of ids) {
    const bytes = await pg.readBlob(id).catch((err: unknown) => err as Error);
    if (bytes instanceof Error) {
      mismatches.push(`blob ${id}: ${bytes.message}`);
      continue;
    }
    if (createHash('sha256').update(bytes).digest('hex') !== id) mismatches.push(`blob ${id}: the bytes do not match their sha256`);
  }
  return { tables: out, mismatches };
}
