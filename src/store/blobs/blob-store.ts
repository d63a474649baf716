// The blob-store interface: where message bytes live, named by their sha256
// (hex), written once however many mailboxes and queue rows share them
// (DESIGN "the data path"). A backend's rows reference a blob only after its
// put() resolved, so a crash never leaves a row pointing at missing bytes.
// Implementations: FileBlobs (files beside SQLite), PgBlobStore (a bytea table,
// so a PostgreSQL deployment needs nothing else); an S3-compatible one fits
// the same shape. A store whose rows live in the same database as the bytes
// may offer putInTx, so bytes and rows commit in one transaction.

export interface BlobStore {
  /** A short name for logs and `mailroom migrate` ("postgres", "files", "s3"). */
  readonly kind: string;
  /** Stores the bytes under `id` (the caller's sha256 of them); durable when it
   * resolves. Storing an id that exists is a no-op (same id, same bytes). */
  put(id: string, pieces: readonly Buffer[]): Promise<void>;
  /** The bytes; StoreError('not_found') if there is no such blob. */
  get(id: string): Promise<Buffer>;
  /** For the collector, only after no row references the blob. */
  remove(id: string): Promise<void>;
}

/** A blob store living in the same database as the rows: `put` can join the
 * caller's transaction (`tx` is the backend's transaction handle). */
export interface TransactionalBlobStore<Tx> extends BlobStore {
  putInTx(tx: Tx, id: string, pieces: readonly Buffer[]): Promise<void>;
}

export const BLOB_ID = /^[0-9a-f]{64}$/;
