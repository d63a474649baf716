// PostgreSQL for tests: the server named by MAILROOM_TEST_PG (default
// postgres://postgres@127.0.0.1:5432/postgres, trust auth; .ci/run makes a
// throwaway database per run and points this at it). Each test file gets its
// own database, each store its own schema inside it, all dropped afterwards,
// so test files running in parallel never see each other's rows. When the
// server is unreachable, pgSkipReason says why and the tests skip with it.

import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_BASE = process.env.MAILROOM_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.href;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: PG_BASE, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

let reachable: Promise<string | null> | null = null;

/** Null when PostgreSQL answers; otherwise the reason to skip. */
export function pgSkipReason(): Promise<string | null> {
  reachable ??= admin(async (c) => {
    await c.query('SELECT 1');
    return null;
  }).catch((err: unknown) => `PostgreSQL is not reachable at ${PG_BASE.replace(/:[^:@/]*@/, ':***@')} (${(err as Error).message}); set MAILROOM_TEST_PG`);
  return reachable;
}

export interface TestDatabase {
  /** URL of the new, empty database. */
  url: string;
  /** A URL with a fresh schema of its own in this database. */
  schemaUrl(): string;
  drop(): Promise<void>;
}

/** A throwaway database (CREATE DATABASE … then DROP … WITH (FORCE)). When
 * MAILROOM_TEST_PG names one (CI makes one per run and drops it at the end),
 * that database is used instead and only the schemas handed out are dropped,
 * so a crashed test leaves nothing behind once the run's database is gone. */
export async function createTestDatabase(prefix = 'mailroom_t'): Promise<TestDatabase> {
  if (process.env.MAILROOM_TEST_PG) {
    const schemas: string[] = [];
    return {
      url: PG_BASE,
      schemaUrl() {
        const u = new URL(PG_BASE);
        const schema = `${prefix}_${randomBytes(5).toString('hex')}`.toLowerCase();
        u.searchParams.set('schema', schema);
        schemas.push(u.href);
        return u.href;
      },
      async drop() {
        for (const url of schemas) await dropSchema(url).catch(() => {});
      },
    };
  }
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(PG_BASE, name);
  return {
    url,
    schemaUrl() {
      const u = new URL(url);
      u.searchParams.set('schema', `s_${randomBytes(5).toString('hex')}`);
      return u.href;
    },
    async drop() {
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}

/** Drops the schema a schemaUrl() named (after the store using it is closed). */
export async function dropSchema(schemaUrl: string): Promise<void> {
  const u = new URL(schemaUrl);
  const schema = u.searchParams.get('schema');
  u.searchParams.delete('schema');
  if (!schema) return;
  const c = new pg.Client({ connectionString: u.href });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}

/** Empties every table of the schema a URL names (keeping the schema and its
 * version), so a test gets a fresh store without paying for migrations. */
export async function truncateSchema(schemaUrl: string): Promise<void> {
  const u = new URL(schemaUrl);
  const schema = u.searchParams.get('schema') ?? 'public';
  u.searchParams.delete('schema');
  const c = new pg.Client({ connectionString: u.href });
  await c.connect();
  try {
    const r = await c.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'mailroom_schema'`,
      [schema],
    );
    if (r.rows.length > 0) {
      await c.query(`TRUNCATE ${r.rows.map((t) => `${schema}.${t.tablename}`).join(', ')} RESTART IDENTITY CASCADE`);
    }
  } finally {
    await c.end();
  }
}
