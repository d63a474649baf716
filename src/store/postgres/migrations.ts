// Versioned, forward-only schema migrations for the PostgreSQL store. The
// version is a row in `mailroom_schema`. Every node runs applyPgMigrations at
// start; they serialize on a session-level pg_advisory_lock keyed by the
// schema name, so when several nodes start together exactly one applies each
// migration (in its own transaction with the version bump) and the others
// find it done. A database newer than this program is refused, not guessed at.
// The tables mirror the SQLite store's (sqlite/migrations.ts): times are
// milliseconds since the epoch (BIGINT), names canonical lower-case.

import type { Pool } from 'pg';
import { StoreError } from '../store.ts';

export interface PgMigration {
  version: number;
  name: string;
  sql: string;
}

const V1 = `
CREATE TABLE domains (
  id          BIGSERIAL PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  created_at  BIGINT NOT NULL
);
CREATE TABLE accounts (
  id             BIGSERIAL PRIMARY KEY,
  domain_id      BIGINT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  address        TEXT NOT NULL UNIQUE,
  password_hash  TEXT NOT NULL,
  scram          TEXT,
  quota_bytes    BIGINT NOT NULL DEFAULT 0,
  used_bytes     BIGINT NOT NULL DEFAULT 0,
  created_at     BIGINT NOT NULL
);
CREATE INDEX accounts_domain ON accounts(domain_id);
CREATE TABLE aliases (
  id         BIGSERIAL PRIMARY KEY,
  domain_id  BIGINT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  source     TEXT NOT NULL,
  target     TEXT NOT NULL,
  UNIQUE (source, target)
);
CREATE INDEX aliases_domain ON aliases(domain_id);
CREATE TABLE app_passwords (
  id             BIGSERIAL PRIMARY KEY,
  account_id     BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name           TEXT NOT NULL,
  password_hash  TEXT NOT NULL,
  scram          TEXT,
  created_at     BIGINT NOT NULL,
  UNIQUE (account_id, name)
);
CREATE TABLE sender_grants (
  id          BIGSERIAL PRIMARY KEY,
  account_id  BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  address     TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  UNIQUE (account_id, address)
);
CREATE TABLE mailboxes (
  id              BIGSERIAL PRIMARY KEY,
  account_id      BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
  name            TEXT NOT NULL,
  special_use     TEXT,
  subscribed      BOOLEAN NOT NULL DEFAULT TRUE,
  uid_validity    BIGINT NOT NULL,
  uid_next        BIGINT NOT NULL DEFAULT 1,
  -- RFC 7162 §3.1.1: mod-sequences are positive, so an empty mailbox has 1.
  highest_modseq  BIGINT NOT NULL DEFAULT 1,
  UNIQUE (account_id, name)
);
-- Blob metadata; the bytes are in blob_content (PgBlobStore) or elsewhere.
-- No refcount: a later collector finds unreferenced blobs through the indexes.
CREATE TABLE blobs (
  id          TEXT PRIMARY KEY,
  size        BIGINT NOT NULL,
  created_at  BIGINT NOT NULL
);
CREATE TABLE blob_content (
  id       TEXT PRIMARY KEY,
  content  BYTEA NOT NULL
);
CREATE TABLE message_meta (
  blob_id  TEXT PRIMARY KEY REFERENCES blobs(id) ON DELETE CASCADE,
  meta     TEXT NOT NULL
);
CREATE TABLE messages (
  id             BIGSERIAL PRIMARY KEY,
  mailbox_id     BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid            BIGINT NOT NULL,
  modseq         BIGINT NOT NULL,
  flags          TEXT NOT NULL DEFAULT '',
  internal_date  BIGINT NOT NULL,
  size           BIGINT NOT NULL,
  blob_id        TEXT NOT NULL REFERENCES blobs(id),
  UNIQUE (mailbox_id, uid)
);
CREATE INDEX messages_blob ON messages(blob_id);
CREATE INDEX messages_modseq ON messages(mailbox_id, modseq);
-- RFC 7162 §3.2.5.1 VANISHED: expunged UIDs with the mod-sequence of their expunge.
CREATE TABLE expunged (
  mailbox_id  BIGINT NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
  uid         BIGINT NOT NULL,
  modseq      BIGINT NOT NULL,
  PRIMARY KEY (mailbox_id, uid)
);
CREATE TABLE counters (
  name   TEXT PRIMARY KEY,
  value  BIGINT NOT NULL
);
CREATE TABLE queue_messages (
  id          BIGSERIAL PRIMARY KEY,
  queue_id    TEXT NOT NULL UNIQUE,
  blob_id     TEXT NOT NULL REFERENCES blobs(id),
  size        BIGINT NOT NULL,
  sender      TEXT NOT NULL,
  envid       TEXT,
  ret         TEXT CHECK (ret IN ('FULL', 'HDRS')),
  smtputf8    BOOLEAN NOT NULL,
  eight_bit   BOOLEAN NOT NULL,
  created_at  BIGINT NOT NULL,
  done_at     BIGINT
);
CREATE INDEX queue_messages_blob ON queue_messages(blob_id);
CREATE INDEX queue_messages_done ON queue_messages(done_at) WHERE done_at IS NOT NULL;
-- A recipient is leased to one delivery attempt (on any node) by
-- lease_owner/lease_until; claims take rows with FOR UPDATE SKIP LOCKED.
CREATE TABLE queue_recipients (
  id               BIGSERIAL PRIMARY KEY,
  message_id       BIGINT NOT NULL REFERENCES queue_messages(id) ON DELETE CASCADE,
  address          TEXT NOT NULL,
  domain           TEXT NOT NULL,
  state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT NOT NULL,
  last_attempt_at  BIGINT,
  last_reply       TEXT,
  last_status      TEXT,
  last_host        TEXT,
  notify           TEXT,
  orcpt            TEXT,
  delay_warned     BOOLEAN NOT NULL DEFAULT FALSE,
  lease_owner      TEXT,
  lease_until      BIGINT
);
CREATE INDEX queue_recipients_message ON queue_recipients(message_id);
CREATE INDEX queue_recipients_due ON queue_recipients(next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX queue_recipients_domain ON queue_recipients(domain, next_attempt_at) WHERE state = 'pending';
CREATE INDEX queue_recipients_leased ON queue_recipients(lease_owner) WHERE lease_owner IS NOT NULL;
-- Login throttling shared by every node (auth/throttle.ts): failure times per
-- key (client IP or account) and lock-outs.
CREATE TABLE auth_failures (
  key  TEXT NOT NULL,
  at   BIGINT NOT NULL
);
CREATE INDEX auth_failures_key ON auth_failures(key, at);
-- DKIM signing keys (store/dkim-keys.ts); the state follows from the times.
CREATE TABLE dkim_keys (
  id             BIGSERIAL PRIMARY KEY,
  domain_id      BIGINT NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
  selector       TEXT NOT NULL,
  algorithm      TEXT NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
  private_key    TEXT NOT NULL,
  public_key     TEXT NOT NULL,
  created_at     BIGINT NOT NULL,
  activate_at    BIGINT NOT NULL,
  deactivate_at  BIGINT,
  retire_at      BIGINT,
  UNIQUE (domain_id, selector)
);
-- Abuse-defence state (store/abuse-store.ts): greylisting, rate counters,
-- the spam classifier and sender rules. Advisory: written without waiting
-- for the WAL flush (abuse.ts), atomic per call.
CREATE TABLE greylist (
  network    TEXT NOT NULL,
  sender     TEXT NOT NULL,
  recipient  TEXT NOT NULL,
  first_seen BIGINT NOT NULL,
  last_seen  BIGINT NOT NULL,
  passed_at  BIGINT,
  passes     INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (network, sender, recipient)
);
CREATE INDEX greylist_last_seen ON greylist(last_seen);
CREATE INDEX greylist_network ON greylist(network, last_seen) WHERE passed_at IS NOT NULL;
CREATE TABLE rate_counters (
  key          TEXT NOT NULL,
  window_start BIGINT NOT NULL,
  count        BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL,
  PRIMARY KEY (key, window_start)
);
CREATE INDEX rate_counters_expiry ON rate_counters(expires_at);
CREATE TABLE rate_overrides (
  account_id          BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
  messages_per_hour   BIGINT,
  recipients_per_day  BIGINT
);
CREATE TABLE spam_tokens (
  scope  BIGINT NOT NULL,
  token  TEXT NOT NULL,
  spam   BIGINT NOT NULL DEFAULT 0,
  ham    BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (scope, token)
);
CREATE TABLE spam_totals (
  scope  BIGINT PRIMARY KEY,
  spam   BIGINT NOT NULL DEFAULT 0,
  ham    BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE spam_trained (
  scope        BIGINT NOT NULL,
  message_key  TEXT NOT NULL,
  label        TEXT NOT NULL CHECK (label IN ('spam', 'ham')),
  tokens       TEXT NOT NULL,
  trained_at   BIGINT NOT NULL,
  PRIMARY KEY (scope, message_key)
);
CREATE TABLE sender_rules (
  account_id  BIGINT NOT NULL,
  pattern     TEXT NOT NULL,
  action      TEXT NOT NULL CHECK (action IN ('allow', 'block')),
  PRIMARY KEY (account_id, pattern)
);
CREATE FUNCTION abuse_account_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM spam_tokens WHERE scope = OLD.id;
  DELETE FROM spam_totals WHERE scope = OLD.id;
  DELETE FROM spam_trained WHERE scope = OLD.id;
  DELETE FROM sender_rules WHERE account_id = OLD.id;
  RETURN OLD;
END $$;
CREATE TRIGGER abuse_account_deleted AFTER DELETE ON accounts FOR EACH ROW EXECUTE FUNCTION abuse_account_deleted();
CREATE TABLE auth_blocks (
  key    TEXT PRIMARY KEY,
  until  BIGINT NOT NULL
);
`;

// The delivery hot path in one round trip: blob row, bytes, metadata, a UID
// and mod-sequence per recipient (mailbox rows locked in id order), message
// rows, usage and the NOTIFY of each change, as one statement (so one
// transaction and one durable commit). Client round trips, not the WAL
// flush, were the cost of a delivery done statement by statement.
// An unknown account raises P0002 (no_data_found): StoreError('not_found').
const V2 = `
CREATE FUNCTION mailroom_deliver(
  p_blob TEXT, p_size BIGINT, p_content BYTEA, p_meta TEXT, p_now BIGINT, p_internal BIGINT,
  p_accounts BIGINT[], p_mailboxes TEXT[], p_flags TEXT[], p_channel TEXT, p_tag TEXT)
RETURNS TABLE (r_account BIGINT, r_mailbox BIGINT, r_uid BIGINT, r_modseq BIGINT, r_message BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
  n INT := coalesce(array_length(p_accounts, 1), 0);
  boxes BIGINT[] := '{}';
  mb BIGINT;
  u BIGINT;
  ms BIGINT;
  mid BIGINT;
BEGIN
  INSERT INTO blobs (id, size, created_at) VALUES (p_blob, p_size, p_now) ON CONFLICT (id) DO NOTHING;
  IF p_content IS NOT NULL THEN
    INSERT INTO blob_content (id, content) VALUES (p_blob, p_content) ON CONFLICT (id) DO NOTHING;
  END IF;
  IF p_meta IS NOT NULL THEN
    INSERT INTO message_meta (blob_id, meta) VALUES (p_blob, p_meta) ON CONFLICT (blob_id) DO NOTHING;
  END IF;
  FOR i IN 1 .. n LOOP
    -- The named mailbox, else INBOX (Store.deliver contract).
    SELECT m.id INTO mb FROM mailboxes m
     WHERE m.account_id = p_accounts[i] AND (m.name = p_mailboxes[i] OR m.name = 'INBOX')
     ORDER BY (m.name = p_mailboxes[i]) DESC LIMIT 1;
    IF mb IS NULL THEN
      RAISE EXCEPTION 'no account with id %', p_accounts[i] USING ERRCODE = 'P0002';
    END IF;
    boxes := boxes || mb;
  END LOOP;
  PERFORM 1 FROM mailboxes WHERE id = ANY (boxes) ORDER BY id FOR UPDATE;
  FOR i IN 1 .. n LOOP
    UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1
     WHERE id = boxes[i] RETURNING uid_next - 1, highest_modseq INTO u, ms;
    INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id)
    VALUES (boxes[i], u, ms, p_flags[i], p_internal, p_size, p_blob) RETURNING id INTO mid;
    PERFORM pg_notify(p_channel, p_tag || ' ' || p_accounts[i] || ' ' || boxes[i] || ' ' || ms || ' append');
    r_account := p_accounts[i]; r_mailbox := boxes[i]; r_uid := u; r_modseq := ms; r_message := mid;
    RETURN NEXT;
  END LOOP;
  -- Usage last, per account in id order (no deadlock between deliveries).
  UPDATE accounts a SET used_bytes = a.used_bytes + p_size * t.k
    FROM (SELECT x AS id, count(*) AS k FROM unnest(p_accounts) AS x GROUP BY x ORDER BY x) t
   WHERE a.id = t.id;
END $$;
`;

// RFC 1939 §8 maildrop locks across nodes: one row per locked mailbox with
// its holder and an expiry the holder renews, so a node that dies releases
// its sessions' locks when the lease runs out (maildrop-locks.ts).
const V3 = `
CREATE TABLE pop3_locks (
  mailbox_id  BIGINT PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
  owner       TEXT NOT NULL,
  until       BIGINT NOT NULL
);
`;

export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 1, name: 'initial schema (store, queue, mailboxes, DKIM keys, abuse state, auth throttle)', sql: V1 },
  { version: 2, name: 'delivery in one statement (mailroom_deliver)', sql: V2 },
  { version: 3, name: 'POP3 maildrop locks shared by nodes', sql: V3 },
];

/** The advisory-lock key of a schema: stable across nodes and runs. */
function lockKey(schema: string): number {
  let h = 0x6d61696c; // "mail"
  for (const ch of schema) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
  return h;
}

/** Brings the schema up to the last migration; returns the versions before and after. */
export async function applyPgMigrations(
  pool: Pool,
  schema: string,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<{ from: number; to: number }> {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list out of order at ${m.name}`);
  });
  const latest = migrations.length;
  const c = await pool.connect();
  try {
    await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`).catch((err: unknown) => {
      // Two nodes creating the schema at once race on the catalog; the loser sees it exists.
      if ((err as { code?: string }).code !== '23505') throw err;
    });
    // Session-level: held across the per-migration transactions, released below.
    await c.query('SELECT pg_advisory_lock($1)', [lockKey(schema)]);
    try {
      await c.query('CREATE TABLE IF NOT EXISTS mailroom_schema (version INTEGER NOT NULL)');
      const read = async () => {
        const r = await c.query<{ version: number }>('SELECT max(version) AS version FROM mailroom_schema');
        return r.rows[0]?.version ?? 0;
      };
      const from = await read();
      if (from > latest) {
        throw new StoreError(
          'unavailable',
          `database schema version ${from} is newer than this program supports (${latest}); upgrade Mailroom`,
        );
      }
      for (const m of migrations.slice(from)) {
        await c.query('BEGIN');
        try {
          await c.query(m.sql);
          await c.query('INSERT INTO mailroom_schema (version) VALUES ($1)', [m.version]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => {});
          throw err;
        }
      }
      return { from, to: await read() };
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [lockKey(schema)]).catch(() => {});
    }
  } finally {
    c.release();
  }
}

export async function pgSchemaVersion(pool: Pool): Promise<number> {
  const r = await pool.query<{ version: number }>(
    `SELECT CASE WHEN to_regclass('mailroom_schema') IS NULL THEN 0
            ELSE (SELECT coalesce(max(version), 0) FROM mailroom_schema) END AS version`,
  );
  return r.rows[0]?.version ?? 0;
}
