// Schema version 5: DKIM signing keys (store/dkim-keys.ts). One row per
// (domain, selector); the key's state is derived from its times, so no job
// has to flip a column when a rotated key activates or an old one retires.
// The keys go with their domain (ON DELETE CASCADE). Times are ms since epoch.

import type { DatabaseSync } from 'node:sqlite';
import type { Migration } from './migrations.ts';

export const V5_DKIM_SQL = `
CREATE TABLE dkim_keys (
  id             INTEGER PRIMARY KEY,
  domain_id      INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  selector       TEXT NOT NULL,
  algorithm      TEXT NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
  private_key    TEXT NOT NULL,
  public_key     TEXT NOT NULL,
  created_at     INTEGER NOT NULL,
  activate_at    INTEGER NOT NULL,
  deactivate_at  INTEGER,
  retire_at      INTEGER,
  UNIQUE (domain_id, selector)
);
`;

export const MIGRATION_V5_DKIM: Migration = {
  version: 5,
  name: 'DKIM signing keys',
  up: (db: DatabaseSync) => db.exec(V5_DKIM_SQL),
};
