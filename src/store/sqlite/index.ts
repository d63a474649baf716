// Entry point of the SQLite backend for the rest of the program (server/,
// cli/, tests): open a store on a data directory.

export { openSqliteStore, SqliteStore, DEFAULT_INLINE_MAX_BYTES, type SqliteStoreOptions } from './sqlite-store.ts';
export { MIGRATIONS, applyMigrations, schemaVersion, type Migration } from './migrations.ts';
