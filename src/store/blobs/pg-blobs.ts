// Message bytes in PostgreSQL (table blob_content, BYTEA), so a multi-node
// deployment depends on the database alone. The store writes bytes in the
// same transaction as the rows that reference them (putInTx), so one COMMIT
// makes both durable; put() on its own is one durable transaction.

import type { Pool, PoolClient } from 'pg';
import { StoreError } from '../store.ts';
import { BLOB_ID, type TransactionalBlobStore } from './blob-store.ts';
import { pgStoreError } from '../postgres/connection.ts';

function requireId(id: string): string {
  if (!BLOB_ID.test(id)) throw new StoreError('invalid', `invalid blob id: ${JSON.stringify(id)}`);
  return id;
}

function concat(pieces: readonly Buffer[]): Buffer {
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

export class PgBlobStore implements TransactionalBlobStore<PoolClient> {
  readonly kind = 'postgres';
  readonly #pool: Pool;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  async putInTx(tx: PoolClient, id: string, pieces: readonly Buffer[]): Promise<void> {
    await tx.query('INSERT INTO blob_content (id, content) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
      requireId(id),
      concat(pieces),
    ]);
  }

  async put(id: string, pieces: readonly Buffer[]): Promise<void> {
    try {
      await this.#pool.query('INSERT INTO blob_content (id, content) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING', [
        requireId(id),
        concat(pieces),
      ]);
    } catch (err) {
      throw pgStoreError(err, 'writing blob');
    }
  }

  async get(id: string): Promise<Buffer> {
    requireId(id);
    let rows: Array<{ content: Buffer }>;
    try {
      rows = (await this.#pool.query<{ content: Buffer }>('SELECT content FROM blob_content WHERE id = $1', [id])).rows;
    } catch (err) {
      throw pgStoreError(err, `reading blob ${id}`);
    }
    if (rows.length === 0) throw new StoreError('not_found', `no such blob: ${id}`);
    return rows[0]!.content;
  }

  async remove(id: string): Promise<void> {
    try {
      await this.#pool.query('DELETE FROM blob_content WHERE id = $1', [requireId(id)]);
    } catch (err) {
      throw pgStoreError(err, `removing blob ${id}`);
    }
  }
}
