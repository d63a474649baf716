// Versioned, forward-only schema migrations for the SQLite store. The version
// lives in SQLite's header (`PRAGMA user_version`); each pending migration
// runs in its own IMMEDIATE transaction together with the version bump, so a
// crash or a second process opening the same file at the same moment leaves
// the schema either fully at N or fully at N+1. A database newer than this
// program is refused rather than guessed at.

import type { DatabaseSync } from 'node:sqlite';
import { StoreError } from '../store.ts';
import { MIGRATION_V5_DKIM } from './migration-v5-dkim.ts';
import { migrateV6Abuse } from './migration-v6-abuse.ts';

export interface Migration {
  version: number;
  name: string;
  up(db: DatabaseSync): void;
}

// Times are milliseconds since the epoch. Addresses and domain names are
// stored in canonical lower-case form (store/names.ts), so plain UNIQUE works.
const V1 = `
CREATE TABLE domains (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  created_at  INTEGER NOT NULL
);
CREATE TABLE accounts (
  id            INTEGER PRIMARY KEY,
  domain_id     INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  address       TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  quota_bytes   INTEGER NOT NULL DEFAULT 0,
  used_bytes    INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain_id);
-- One row per (source, target); the rowid keeps targets in insertion order.
CREATE TABLE aliases (
  id         INTEGER PRIMARY KEY,
  domain_id  INTEGER NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  source     TEXT NOT NULL,
  target     TEXT NOT NULL,
  UNIQUE (source, target)
);
CREATE INDEX aliases_domain ON aliases(domain_id);
CREATE TABLE mailboxes (
  id              INTEGER PRIMARY KEY,
  account_id      INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  special_use     TEXT,
  subscribed      INTEGER NOT NULL DEFAULT 1,
  uid_validity    INTEGER NOT NULL,
  uid_next        INTEGER NOT NULL DEFAULT 1,
  -- RFC 7162 §3.1.1: mod-sequences are positive, so an empty mailbox has 1.
  highest_modseq  INTEGER NOT NULL DEFAULT 1,
  UNIQUE (account_id, name)
);
-- Message bytes, content-addressed (sha256 hex), shared by every copy.
-- content is the bytes for small messages (committed in the same transaction
-- as the rows), NULL when they live in <dataDir>/blobs/ab/cd/<id>.
-- No refcount: unreferenced blobs are found through messages_blob by a
-- later collector, so deliveries never contend on a shared counter row.
CREATE TABLE blobs (
  id          TEXT PRIMARY KEY,
  size        INTEGER NOT NULL,
  content     BLOB,
  created_at  INTEGER NOT NULL
);
CREATE TABLE messages (
  id             INTEGER PRIMARY KEY,
  mailbox_id     INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid            INTEGER NOT NULL,
  modseq         INTEGER NOT NULL,
  flags          TEXT NOT NULL DEFAULT '',
  internal_date  INTEGER NOT NULL,
  size           INTEGER NOT NULL,
  -- The foreign key makes "a message row whose blob row is missing" impossible.
  blob_id        TEXT NOT NULL REFERENCES blobs(id),
  UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_blob ON messages(blob_id);
-- Monotonic counters that must survive row deletion (e.g. the last UIDVALIDITY).
CREATE TABLE counters (
  name   TEXT PRIMARY KEY,
  value  INTEGER NOT NULL
);
`;

// Authentication (RFC 4954 SMTP AUTH and later IMAP/POP3): SCRAM-SHA-256 keys
// beside the argon2id hash (NULL for accounts made before: they cannot use
// SCRAM until their password is set again), per-device app passwords, and the
// extra envelope senders an account may use. Both tables go with their account.
const V2 = `
ALTER TABLE accounts ADD COLUMN scram TEXT;
CREATE TABLE app_passwords (
  id             INTEGER PRIMARY KEY,
  account_id     INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  password_hash  TEXT NOT NULL,
  scram          TEXT,
  created_at     INTEGER NOT NULL,
  UNIQUE (account_id, name)
);
-- address is local@domain, or @domain for every address of that domain.
CREATE TABLE sender_grants (
  id          INTEGER PRIMARY KEY,
  account_id  INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  address     TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  UNIQUE (account_id, address)
);
`;

// The outbound queue. One queue_messages row per SMTP transaction with
// remote recipients, pointing at the same blob as its local copies; one
// queue_recipients row per remote recipient. A recipient is leased to one
// delivery attempt by lease_owner/lease_until (a lease whose time has passed
// is free again: its holder died). done_at is set once no recipient is
// pending; such messages stay for `queue show` until purged.
// The partial indexes name state = 'pending' literally: queries must too, or
// SQLite cannot use them.
const V3 = `
CREATE TABLE queue_messages (
  id          INTEGER PRIMARY KEY,
  queue_id    TEXT NOT NULL UNIQUE,
  blob_id     TEXT NOT NULL REFERENCES blobs(id),
  size        INTEGER NOT NULL,
  sender      TEXT NOT NULL,
  envid       TEXT,
  ret         TEXT CHECK (ret IN ('FULL', 'HDRS')),
  smtputf8    INTEGER NOT NULL,
  eight_bit   INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,
  done_at     INTEGER
);
CREATE INDEX queue_messages_blob ON queue_messages(blob_id);
CREATE INDEX queue_messages_done ON queue_messages(done_at) WHERE done_at IS NOT NULL;
CREATE TABLE queue_recipients (
  id               INTEGER PRIMARY KEY,
  message_id       INTEGER NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
  address          TEXT NOT NULL,
  domain           TEXT NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,
  last_attempt_at  INTEGER,
  last_reply       TEXT,
  last_status      TEXT,
  last_host        TEXT,
  notify           TEXT,
  orcpt            TEXT,
  delay_warned     INTEGER NOT NULL DEFAULT 0,
  lease_owner      TEXT,
  lease_until      INTEGER
);
CREATE INDEX queue_recipients_message ON queue_recipients(message_id);
CREATE INDEX queue_recipients_due ON queue_recipients(next_attempt_at) WHERE state = 'pending';
CREATE INDEX queue_recipients_domain ON queue_recipients(domain, next_attempt_at) WHERE state = 'pending';
CREATE INDEX queue_recipients_leased ON queue_recipients(lease_owner) WHERE lease_owner IS NOT NULL;
`;

// Mailboxes for IMAP and POP3 (RFC 9051, RFC 7162 CONDSTORE/QRESYNC):
// - blobs.meta: the parsed-message summary (JSON) written at delivery/APPEND
//   or later by setMessageMeta; NULL for blobs stored before.
// - expunged: every UID removed from a mailbox with the mod-sequence of its
//   expunge, so changesSince can answer VANISHED (RFC 7162 §3.2.5.1). Rows go
//   with their mailbox.
// - messages_modseq: changesSince reads messages by (mailbox, modseq).
const V4 = `
ALTER TABLE blobs ADD COLUMN meta TEXT;
CREATE TABLE expunged (
  mailbox_id  INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid         INTEGER NOT NULL,
  modseq      INTEGER NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
) WITHOUT ROWID;
CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial schema', up: (db) => db.exec(V1) },
  { version: 2, name: 'SCRAM keys, app passwords, sender grants', up: (db) => db.exec(V2) },
  { version: 3, name: 'outbound queue', up: (db) => db.exec(V3) },
  { version: 4, name: 'mailboxes: message meta, expunged UIDs, modseq index', up: (db) => db.exec(V4) },
  MIGRATION_V5_DKIM,
  { version: 6, name: 'abuse defences: greylist, rate counters, spam classifier, sender lists', up: migrateV6Abuse },
];

export function schemaVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get() as { user_version: number };
  return row.user_version;
}

/** Brings the database up to the last migration; returns the versions before
 * and after. Throws StoreError('unavailable') for a database that is newer. */
export function applyMigrations(
  db: DatabaseSync,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order at ${m.name}`);
  });
  const latest = migrations.length;
  const from = schemaVersion(db);
  if (from > latest) {
    throw new StoreError(
      'unavailable',
      `database schema version ${from} is newer than this program supports (${latest}); upgrade Mailroom`,
    );
  }
  for (const m of migrations.slice(from)) {
    db.exec('BEGIN IMMEDIATE');
    try {
      // Another process may have applied it between our read and our lock.
      if (schemaVersion(db) >= m.version) {
        db.exec('COMMIT');
        continue;
      }
      m.up(db);
      db.exec(`PRAGMA user_version = ${m.version}`);
      db.exec('COMMIT');
    } catch (err) {
      if (db.isTransaction) db.exec('ROLLBACK');
      throw err;
    }
  }
  return { from, to: schemaVersion(db) };
}
