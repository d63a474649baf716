// Every SQL statement the SQLite store runs, prepared once per connection.
// Keeping them here keeps SQL out of the logic and makes the queries easy to
// review against the schema in migrations.ts.

import type { DatabaseSync, StatementSync } from 'node:sqlite';

export const SQL = {
  // Domains
  insertDomain: 'INSERT INTO domains (name, created_at) VALUES (?, ?)',
  deleteDomain: 'DELETE FROM domains WHERE name = ?',
  listDomains: 'SELECT name, created_at FROM domains ORDER BY name',
  domainId: 'SELECT id FROM domains WHERE name = ?',

  // Accounts
  insertAccount: `INSERT INTO accounts (domain_id, address, password_hash, scram, quota_bytes, used_bytes, created_at)
                  VALUES (?, ?, ?, ?, ?, 0, ?) RETURNING *`,
  accountByAddress: 'SELECT * FROM accounts WHERE address = ?',
  accountById: 'SELECT * FROM accounts WHERE id = ?',
  listAccounts: 'SELECT * FROM accounts ORDER BY address',
  listAccountsOfDomain: `SELECT a.* FROM accounts a JOIN domains d ON d.id = a.domain_id
                         WHERE d.name = ? ORDER BY a.address`,
  deleteAccount: 'DELETE FROM accounts WHERE address = ?',
  setPassword: 'UPDATE accounts SET password_hash = ?, scram = ? WHERE address = ?',
  setQuota: 'UPDATE accounts SET quota_bytes = ? WHERE address = ?',
  addUsage: 'UPDATE accounts SET used_bytes = used_bytes + ? WHERE id = ?',

  // App passwords and sender grants
  insertAppPassword: `INSERT INTO app_passwords (account_id, name, password_hash, scram, created_at)
                      VALUES (?, ?, ?, ?, ?) RETURNING id, name, created_at`,
  listAppPasswords: 'SELECT * FROM app_passwords WHERE account_id = ? ORDER BY id',
  deleteAppPassword: 'DELETE FROM app_passwords WHERE account_id = ? AND name = ?',
  insertSenderGrant: 'INSERT INTO sender_grants (account_id, address, created_at) VALUES (?, ?, ?)',
  listSenderGrants: 'SELECT address FROM sender_grants WHERE account_id = ? ORDER BY address',
  deleteSenderGrant: 'DELETE FROM sender_grants WHERE account_id = ? AND address = ?',

  // Aliases
  insertAliasTarget: 'INSERT INTO aliases (domain_id, source, target) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
  aliasTargets: 'SELECT target FROM aliases WHERE source = ? ORDER BY id',
  deleteAlias: 'DELETE FROM aliases WHERE source = ?',
  deleteAliasTarget: 'DELETE FROM aliases WHERE source = ? AND target = ?',
  listAliases: 'SELECT source, target FROM aliases ORDER BY source, id',
  listAliasesOfDomain: `SELECT a.source, a.target FROM aliases a JOIN domains d ON d.id = a.domain_id
                        WHERE d.name = ? ORDER BY a.source, a.id`,

  // Counters
  getCounter: 'SELECT value FROM counters WHERE name = ?',
  setCounter: `INSERT INTO counters (name, value) VALUES (?, ?)
               ON CONFLICT (name) DO UPDATE SET value = excluded.value`,

  // Mailboxes
  insertMailbox: `INSERT INTO mailboxes (account_id, name, special_use, subscribed, uid_validity)
                  VALUES (?, ?, ?, 1, ?)`,
  listMailboxes: `SELECT m.*, (SELECT count(*) FROM messages WHERE mailbox_id = m.id) AS message_count
                  FROM mailboxes m WHERE account_id = ? ORDER BY id`,
  getMailbox: `SELECT m.*, (SELECT count(*) FROM messages WHERE mailbox_id = m.id) AS message_count
               FROM mailboxes m WHERE account_id = ? AND name = ?`,
  mailboxId: 'SELECT id FROM mailboxes WHERE account_id = ? AND name = ?',
  /** Allocates the next UID and mod-sequence in one step (inside the write
   * transaction, so concurrent deliveries and processes serialize on it). */
  bumpMailbox: `UPDATE mailboxes SET uid_next = uid_next + 1, highest_modseq = highest_modseq + 1
                WHERE id = ? RETURNING uid_next - 1 AS uid, highest_modseq AS modseq`,

  // Messages and blobs
  insertMessage: `INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id)
                  VALUES (?, ?, ?, ?, ?, ?, ?)`,
  listMessages: 'SELECT * FROM messages WHERE mailbox_id = ? ORDER BY uid',
  /** An existing blob with the same id (same bytes) is reused as it is. */
  insertBlob: 'INSERT INTO blobs (id, size, content, created_at) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING',
  getBlob: 'SELECT size, content FROM blobs WHERE id = ?',

  // Mailbox store (mailbox-jobs.ts; migration 4). UID lists are passed as a
  // JSON array and read with json_each.
  mailboxRowById: 'SELECT * FROM mailboxes WHERE id = ?',
  mailboxWithCountById: `SELECT m.*, (SELECT count(*) FROM messages WHERE mailbox_id = m.id) AS message_count
                         FROM mailboxes m WHERE id = ?`,
  mailboxRowByName: 'SELECT * FROM mailboxes WHERE account_id = ? AND name = ?',
  /** Mailboxes whose name starts with the given prefix (children of `x/`). */
  mailboxesWithPrefix: 'SELECT id, name FROM mailboxes WHERE account_id = ? AND substr(name, 1, ?) = ? ORDER BY name',
  createMailbox: `INSERT INTO mailboxes (account_id, name, special_use, subscribed, uid_validity)
                  VALUES (?, ?, ?, 1, ?) RETURNING id`,
  deleteMailboxById: 'DELETE FROM mailboxes WHERE id = ?',
  renameMailboxById: 'UPDATE mailboxes SET name = ? WHERE id = ?',
  setSubscribed: 'UPDATE mailboxes SET subscribed = ? WHERE account_id = ? AND name = ?',
  /** A new mod-sequence for the mailbox (flag changes, expunges). */
  bumpModseq: 'UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq AS modseq',
  setUidNextModseq: 'UPDATE mailboxes SET uid_next = ?, highest_modseq = ? WHERE id = ?',
  mailboxBytes: 'SELECT coalesce(sum(size), 0) AS bytes FROM messages WHERE mailbox_id = ?',
  mailboxStatus: `SELECT count(*) AS messages, coalesce(sum(size), 0) AS size,
                         coalesce(sum(instr(' ' || flags || ' ', ' \\Seen ') = 0), 0) AS unseen,
                         coalesce(sum(instr(' ' || flags || ' ', ' \\Deleted ') > 0), 0) AS deleted
                  FROM messages WHERE mailbox_id = ?`,
  messagesByUids: `SELECT * FROM messages WHERE mailbox_id = ? AND uid IN (SELECT value FROM json_each(?))
                   ORDER BY uid`,
  setMessageFlags: 'UPDATE messages SET flags = ?, modseq = ? WHERE id = ?',
  deleteMessageById: 'DELETE FROM messages WHERE id = ?',
  moveAllMessages: 'UPDATE messages SET mailbox_id = ? WHERE mailbox_id = ?',
  insertExpunged: 'INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) VALUES (?, ?, ?)',
  expungeAllOf: 'INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq) SELECT mailbox_id, uid, ? FROM messages WHERE mailbox_id = ?',
  messagesChangedSince: 'SELECT * FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid',
  expungedSince: 'SELECT uid FROM expunged WHERE mailbox_id = ? AND modseq > ? ORDER BY uid',
  blobMeta: 'SELECT id, meta FROM blobs WHERE id IN (SELECT value FROM json_each(?)) AND meta IS NOT NULL',
  setBlobMeta: 'UPDATE blobs SET meta = ? WHERE id = ?',
  setBlobMetaIfNull: 'UPDATE blobs SET meta = ? WHERE id = ? AND meta IS NULL',

  // Outbound queue. `state = 'pending'` is written literally so the partial
  // indexes apply. A PostgreSQL backend leases with the same shape:
  //   SELECT id … ORDER BY next_attempt_at, id LIMIT n FOR UPDATE SKIP LOCKED
  // then UPDATE those ids; SQLite's write lock makes one statement atomic.
  insertQueueMessage: `INSERT INTO queue_messages (queue_id, blob_id, size, sender, envid, ret, smtputf8, eight_bit, created_at)
                       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertQueueRecipient: `INSERT INTO queue_recipients (message_id, address, domain, state, next_attempt_at, notify, orcpt)
                         VALUES (?, ?, ?, 'pending', ?, ?, ?)`,
  /** Leases due, unleased (or expired) recipients; RETURNING order is arbitrary. */
  claimDue: `UPDATE queue_recipients SET lease_owner = :owner, lease_until = :until
             WHERE id IN (SELECT id FROM queue_recipients
                          WHERE state = 'pending' AND next_attempt_at <= :now
                            AND (lease_until IS NULL OR lease_until <= :now)
                          ORDER BY next_attempt_at, id LIMIT :limit)
             RETURNING *`,
  claimDueForDomain: `UPDATE queue_recipients SET lease_owner = :owner, lease_until = :until
                      WHERE id IN (SELECT id FROM queue_recipients
                                   WHERE state = 'pending' AND domain = :domain AND next_attempt_at <= :now
                                     AND (lease_until IS NULL OR lease_until <= :now)
                                   ORDER BY next_attempt_at, id LIMIT :limit)
                      RETURNING *`,
  /** Applies one outcome if the recipient is still pending and leased by the owner. */
  recordOutcome: `UPDATE queue_recipients
                  SET state = :state, attempts = attempts + 1, last_attempt_at = :at, last_reply = :reply,
                      last_status = :status, last_host = :host, next_attempt_at = coalesce(:next, next_attempt_at),
                      lease_owner = NULL, lease_until = NULL
                  WHERE id = :id AND state = 'pending' AND lease_owner = :owner
                  RETURNING message_id`,
  /** Marks a message finished once none of its recipients is pending. */
  finishQueueMessage: `UPDATE queue_messages SET done_at = :at
                       WHERE id = :id AND done_at IS NULL
                         AND NOT EXISTS (SELECT 1 FROM queue_recipients WHERE message_id = :id AND state = 'pending')`,
  releaseLeases: 'UPDATE queue_recipients SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ?',
  markDelayWarned: 'UPDATE queue_recipients SET delay_warned = 1 WHERE id = ?',
  retryQueued: `UPDATE queue_recipients SET next_attempt_at = ?
                WHERE state = 'pending' AND message_id = (SELECT id FROM queue_messages WHERE queue_id = ?)`,
  retryAllQueued: `UPDATE queue_recipients SET next_attempt_at = ? WHERE state = 'pending'`,
  deleteQueued: 'DELETE FROM queue_messages WHERE queue_id = ?',
  failQueued: `UPDATE queue_recipients
               SET state = 'failed', last_attempt_at = ?, last_reply = ?, last_status = ?,
                   lease_owner = NULL, lease_until = NULL
               WHERE message_id = ? AND state = 'pending'
               RETURNING *`,
  purgeQueue: 'DELETE FROM queue_messages WHERE done_at IS NOT NULL AND done_at < ?',
  queueMessageById: 'SELECT * FROM queue_messages WHERE id = ?',
  queueMessageByQueueId: 'SELECT * FROM queue_messages WHERE queue_id = ?',
  queueRecipientsOf: 'SELECT * FROM queue_recipients WHERE message_id = ? ORDER BY id',
  listQueueActive: 'SELECT * FROM queue_messages WHERE done_at IS NULL ORDER BY created_at, id',
  listQueueAll: 'SELECT * FROM queue_messages ORDER BY created_at, id',
  listQueueRecipientsActive: `SELECT r.* FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id
                              WHERE m.done_at IS NULL ORDER BY r.message_id, r.id`,
  listQueueRecipientsAll: 'SELECT * FROM queue_recipients ORDER BY message_id, id',
  /** Earliest due time among unleased pending recipients (walks the due index). */
  nextDueUnleased: `SELECT next_attempt_at AS t FROM queue_recipients
                    WHERE state = 'pending' AND lease_owner IS NULL ORDER BY next_attempt_at LIMIT 1`,
  /** Earliest time a leased pending recipient becomes claimable again. */
  nextDueLeased: `SELECT min(max(next_attempt_at, lease_until)) AS t FROM queue_recipients
                  WHERE lease_owner IS NOT NULL AND state = 'pending'`,
} as const;

export type Statements = { [K in keyof typeof SQL]: StatementSync };

export function prepareStatements(db: DatabaseSync): Statements {
  const out = {} as Record<string, StatementSync>;
  for (const [k, sql] of Object.entries(SQL)) out[k] = db.prepare(sql);
  return out as Statements;
}
