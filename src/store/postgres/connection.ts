// Connections to PostgreSQL for the store: parses `[store] url`
// (postgres://user:pass@host:port/db, with an optional `?schema=name` that
// puts every table in that schema — tests use a schema each), makes a pool
// whose connections commit durably (synchronous_commit = on: a COMMIT returns
// only after its WAL is flushed, DESIGN "store first, then acknowledge") and
// return BIGINTs as numbers (every value we store stays below 2^53), runs
// transactions with a retry on deadlock or serialization failure, and maps
// PostgreSQL's errors onto StoreError codes.

import pg from 'pg';
import type { Pool, PoolClient, PoolConfig } from 'pg';
import { StoreError } from '../store.ts';

export interface PgTarget {
  /** What pg connects with (the schema parameter removed). */
  connectionString: string;
  /** Where the tables live; 'public' unless the URL names another. */
  schema: string;
  /** The URL without its password, for logs and messages. */
  display: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Parses a postgres:// or postgresql:// URL. StoreError('invalid') otherwise. */
export function parsePgUrl(url: string): PgTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new StoreError('invalid', `not a PostgreSQL URL: ${JSON.stringify(redact(url))}`);
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
    throw new StoreError('invalid', `not a PostgreSQL URL (postgres://…): ${JSON.stringify(redact(url))}`);
  }
  const schema = u.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new StoreError('invalid', `invalid schema name in store URL: ${JSON.stringify(schema)}`);
  u.searchParams.delete('schema');
  const display = new URL(u.href);
  if (display.password) display.password = '***';
  return { connectionString: u.href, schema, display: display.href };
}

export function isPgUrl(url: string): boolean {
  return /^postgres(?:ql)?:\/\//i.test(url);
}

function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

// int8 (OID 20) as a JavaScript number: ids, times in ms, sizes, UIDs, modseqs.
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 && format !== 'binary' ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function clientConfig(t: PgTarget, extra: Partial<PoolConfig> = {}, durable = true): PoolConfig {
  return {
    connectionString: t.connectionString,
    types,
    // Durable commits (or, for advisory state, atomic ones that do not wait
    // for the WAL flush), and the schema for unqualified names.
    options: `-c synchronous_commit=${durable ? 'on' : 'off'} -c search_path=${t.schema}`,
    connectionTimeoutMillis: 10_000,
    application_name: 'mailroom',
    ...extra,
  };
}

export function createPool(t: PgTarget, max: number, durable = true): Pool {
  const pool = new pg.Pool(clientConfig(t, { max, idleTimeoutMillis: 30_000 }, durable));
  // An idle connection dropped by the server emits here; the pool replaces it.
  pool.on('error', () => {});
  return pool;
}

export function pgCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
}

export const isUniqueViolation = (err: unknown): boolean => pgCode(err) === '23505';
export const isForeignKeyViolation = (err: unknown): boolean => pgCode(err) === '23503';
const RETRYABLE = new Set(['40001', '40P01']); // serialization_failure, deadlock_detected

/** StoreErrors pass through; a full disk (53100 disk_full, 53200
 * out_of_memory is not) is 'disk_full'; everything else 'unavailable'. */
export function pgStoreError(err: unknown, what: string): StoreError {
  if (err instanceof StoreError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const code = pgCode(err);
  const out = new StoreError(code === '53100' ? 'disk_full' : 'unavailable', `${what}: ${msg}`);
  (out as { cause?: unknown }).cause = err;
  return out;
}

/** Runs `fn` in a READ COMMITTED transaction on a pooled connection; retried
 * (up to 5 times) when PostgreSQL aborts it for a deadlock or serialization
 * failure, which it may do when two nodes write the same rows at once. */
export async function withTx<T>(pool: Pool, fn: (c: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const c = await pool.connect();
    let broken = false;
    try {
      await c.query('BEGIN');
      const v = await fn(c);
      await c.query('COMMIT');
      return v;
    } catch (err) {
      try {
        await c.query('ROLLBACK');
      } catch {
        broken = true;
      }
      if (attempt < 5 && RETRYABLE.has(pgCode(err) ?? '')) {
        await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
        continue;
      }
      throw err;
    } finally {
      c.release(broken ? true : undefined);
    }
  }
}
