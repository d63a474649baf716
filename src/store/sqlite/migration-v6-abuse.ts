// Migration 6: the abuse-defence state (store/abuse-store.ts) — greylisting
// triplets, rate-limit counters and per-account overrides, the spam
// classifier's token counts and the messages it learnt, and per-user sender
// allow/block lists. Times are milliseconds since the epoch. Account-scoped
// rows go with their account; scope 0 (global) and counters have no owner.

import type { DatabaseSync } from 'node:sqlite';

export const V6_ABUSE = `
CREATE TABLE greylist (
  network    TEXT NOT NULL,
  sender     TEXT NOT NULL,
  recipient  TEXT NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  passed_at  INTEGER,
  passes     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (network, sender, recipient)
) WITHOUT ROWID;
CREATE INDEX greylist_last_seen ON greylist(last_seen);
CREATE TABLE rate_counters (
  key          TEXT NOT NULL,
  window_start INTEGER NOT NULL,
  count        INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL,
  PRIMARY KEY (key, window_start)
) WITHOUT ROWID;
CREATE INDEX rate_counters_expiry ON rate_counters(expires_at);
CREATE TABLE rate_overrides (
  account_id          INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  messages_per_hour   INTEGER,
  recipients_per_day  INTEGER
);
-- scope 0 is the global classifier, otherwise an account id (no foreign key:
-- 0 is not an account; an account's rows are removed by the trigger below).
CREATE TABLE spam_tokens (
  scope  INTEGER NOT NULL,
  token  TEXT NOT NULL,
  spam   INTEGER NOT NULL DEFAULT 0,
  ham    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, token)
) WITHOUT ROWID;
CREATE TABLE spam_totals (
  scope  INTEGER PRIMARY KEY,
  spam   INTEGER NOT NULL DEFAULT 0,
  ham    INTEGER NOT NULL DEFAULT 0
);
-- What each message was learnt as, so moving it twice never counts twice.
CREATE TABLE spam_trained (
  scope        INTEGER NOT NULL,
  message_key  TEXT NOT NULL,
  label        TEXT NOT NULL CHECK (label IN ('spam', 'ham')),
  tokens       TEXT NOT NULL,
  trained_at   INTEGER NOT NULL,
  PRIMARY KEY (scope, message_key)
) WITHOUT ROWID;
CREATE TABLE sender_rules (
  account_id  INTEGER NOT NULL,
  pattern     TEXT NOT NULL,
  action      TEXT NOT NULL CHECK (action IN ('allow', 'block')),
  PRIMARY KEY (account_id, pattern)
) WITHOUT ROWID;
CREATE TRIGGER abuse_account_deleted AFTER DELETE ON accounts BEGIN
  DELETE FROM spam_tokens WHERE scope = OLD.id;
  DELETE FROM spam_totals WHERE scope = OLD.id;
  DELETE FROM spam_trained WHERE scope = OLD.id;
  DELETE FROM sender_rules WHERE account_id = OLD.id;
END;
`;

export function migrateV6Abuse(db: DatabaseSync): void {
  db.exec(V6_ABUSE);
}
