// Opens the store the configuration names: `[store] url` empty → the
// embedded SQLite store in data_dir; `postgres://…` → PostgreSQL, shared by
// every node that points at the same database. The one place server/ and
// cli/ choose a backend.

import type { Config } from '../config/types.ts';
import type { Store } from './store.ts';
import { openSqliteStore } from './sqlite/index.ts';
import { openPgStore } from './postgres/pg-store.ts';
import { isPgUrl } from './postgres/connection.ts';

export interface OpenStoreOptions {
  now?: () => Date;
  /** For a long-running server: open PostgreSQL's LISTEN connection at once,
   * so IMAP watchers registered later miss no change. CLI commands skip it. */
  listen?: boolean;
  /** Errors with no caller (PostgreSQL's LISTEN connection). */
  onBackgroundError?: (err: unknown) => void;
}

export function usesPostgres(config: Pick<Config, 'store'>): boolean {
  return isPgUrl(config.store?.url ?? '');
}

export async function openStore(config: Pick<Config, 'data_dir' | 'store'>, opts: OpenStoreOptions = {}): Promise<Store> {
  const url = config.store?.url ?? '';
  if (url === '') return openSqliteStore({ dataDir: config.data_dir, now: opts.now });
  return openPgStore({
    url,
    now: opts.now,
    poolSize: config.store.pool_size,
    listen: opts.listen ?? false,
    onBackgroundError: opts.onBackgroundError,
  });
}

/** Where the store is, for messages ("./data" or the URL without its password). */
export function describeStore(config: Pick<Config, 'data_dir' | 'store'>): string {
  const url = config.store?.url ?? '';
  if (url === '') return config.data_dir;
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.href;
  } catch {
    return 'the configured PostgreSQL database';
  }
}
