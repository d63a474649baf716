// The mailbox half of the Store (mailbox-store.ts) on PostgreSQL: IMAP and
// POP3 operations as transactions on the shared database. UIDs and
// mod-sequences are allocated by UPDATE … RETURNING on the mailbox row, whose
// row lock serializes writers of one mailbox across every node; rows are
// locked mailbox first, then account (usage), in id order, so concurrent
// transactions wait rather than deadlock (withTx retries the rare deadlock).
// Each write collects the changes it made; the store announces them with
// pg_notify inside the same transaction, so watchers on every node hear of a
// change exactly when it is committed.

import type { PoolClient } from 'pg';
import { StoreError, type Mailbox, type SpecialUse, type StoredMessage } from '../store.ts';
import {
  MAILBOX_SEPARATOR,
  type AppendRequest,
  type AppendResult,
  type CopyResult,
  type FlagOperation,
  type FlagUpdate,
  type MailboxChange,
  type MailboxChanges,
  type MailboxStatus,
} from '../mailbox-store.ts';
import {
  applyFlagOperation,
  canonicalMailboxName,
  normalizeFlags,
  requireFlagOperation,
  requireId,
  requireMailboxName,
  requireUids,
  sameFlags,
} from '../mailbox-input.ts';
import { isUniqueViolation } from './connection.ts';
import { MAILBOX_COLUMNS, toMailbox, toMessage, type MailboxRow, type MessageRow } from './rows.ts';

type Q = Pick<PoolClient, 'query'>;

const SPECIAL_USE: ReadonlySet<string> = new Set(['\\Sent', '\\Drafts', '\\Junk', '\\Trash', '\\Archive']);

export { canonicalMailboxName as mailboxName };

/** Allocates `count` consecutive UIDVALIDITY values (RFC 9051 §2.3.1.1: a
 * re-created mailbox gets a larger one): at least the time in seconds, always
 * above the last one handed out. */
export async function allocUidValidity(c: Q, nowMs: number, count: number): Promise<number> {
  const r = await c.query<{ first: number }>(
    `INSERT INTO counters (name, value) VALUES ('uid_validity', $1::bigint + $2 - 1)
     ON CONFLICT (name) DO UPDATE SET value = greatest($1::bigint, counters.value + 1) + $2 - 1
     RETURNING value - $2 + 1 AS first`,
    [Math.floor(nowMs / 1000), count],
  );
  const first = r.rows[0]!.first;
  if (first + count - 1 > 0xffffffff) throw new StoreError('unavailable', 'UIDVALIDITY space exhausted');
  return first;
}

export async function mailboxById(c: Q, id: number): Promise<Mailbox | null> {
  const r = await c.query<MailboxRow>(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes m WHERE m.id = $1`, [id]);
  return r.rows[0] ? toMailbox(r.rows[0]) : null;
}

/** Locks the mailbox row for this transaction; StoreError('not_found') if gone. */
async function lockMailbox(c: Q, id: number): Promise<{ id: number; account_id: number; uid_validity: number; name: string }> {
  const r = await c.query<{ id: number; account_id: number; uid_validity: number; name: string }>(
    'SELECT id, account_id, uid_validity, name FROM mailboxes WHERE id = $1 FOR UPDATE',
    [requireId(id, 'mailboxId')],
  );
  if (!r.rows[0]) throw new StoreError('not_found', `no such mailbox: ${id}`);
  return r.rows[0];
}

/** Takes `n` UIDs and one mod-sequence per UID; returns the first of each. */
async function bump(c: Q, mailboxId: number, uids: number, modseqs: number): Promise<{ uid: number; modseq: number }> {
  const r = await c.query<{ uid: number; modseq: number }>(
    `UPDATE mailboxes SET uid_next = uid_next + $2, highest_modseq = highest_modseq + $3
     WHERE id = $1 RETURNING uid_next - $2 AS uid, highest_modseq - $3 + 1 AS modseq`,
    [mailboxId, uids, modseqs],
  );
  return r.rows[0]!;
}

async function addUsage(c: Q, accountId: number, bytes: number): Promise<void> {
  if (bytes !== 0) await c.query('UPDATE accounts SET used_bytes = greatest(used_bytes + $2, 0) WHERE id = $1', [accountId, bytes]);
}

// ---- Mailbox list

export async function createMailbox(
  c: Q,
  nowMs: number,
  accountId: number,
  name: string,
  specialUse: SpecialUse | null,
  changes: MailboxChange[],
): Promise<Mailbox> {
  const n = requireMailboxName(name);
  if (specialUse !== null && !SPECIAL_USE.has(specialUse)) throw new StoreError('invalid', `invalid special-use: ${JSON.stringify(specialUse)}`);
  const acc = await c.query('SELECT id FROM accounts WHERE id = $1 FOR KEY SHARE', [requireId(accountId, 'accountId')]);
  if (acc.rowCount === 0) throw new StoreError('not_found', `no such account id: ${accountId}`);
  const uv = await allocUidValidity(c, nowMs, 1);
  let id: number;
  try {
    const r = await c.query<{ id: number }>(
      `INSERT INTO mailboxes (account_id, name, special_use, subscribed, uid_validity) VALUES ($1, $2, $3, TRUE, $4)
       ON CONFLICT (account_id, name) DO NOTHING RETURNING id`,
      [accountId, n, specialUse, uv],
    );
    if (!r.rows[0]) throw new StoreError('exists', `mailbox exists: ${n}`);
    id = r.rows[0].id;
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('exists', `mailbox exists: ${n}`);
    throw err;
  }
  changes.push({ accountId, mailboxId: id, modseq: 0, kind: 'mailboxes' });
  return (await mailboxById(c, id))!;
}

export async function deleteMailbox(c: Q, accountId: number, name: string, changes: MailboxChange[]): Promise<void> {
  const n = requireMailboxName(name);
  if (n === 'INBOX') throw new StoreError('invalid', 'INBOX cannot be deleted');
  const r = await c.query<{ id: number }>('SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2 FOR UPDATE', [
    requireId(accountId, 'accountId'),
    n,
  ]);
  const mb = r.rows[0];
  if (!mb) throw new StoreError('not_found', `no such mailbox: ${n}`);
  const size = await c.query<{ s: number }>('SELECT coalesce(sum(size), 0)::bigint AS s FROM messages WHERE mailbox_id = $1', [mb.id]);
  await c.query('DELETE FROM mailboxes WHERE id = $1', [mb.id]);
  await addUsage(c, accountId, -size.rows[0]!.s);
  changes.push({ accountId, mailboxId: mb.id, modseq: 0, kind: 'mailboxes' });
}

export async function renameMailbox(
  c: Q,
  nowMs: number,
  accountId: number,
  from: string,
  to: string,
  changes: MailboxChange[],
): Promise<void> {
  const f = requireMailboxName(from);
  const t = requireMailboxName(to);
  requireId(accountId, 'accountId');
  // Every mailbox of the account, locked: the rename touches names across the tree.
  const all = await c.query<{ id: number; name: string }>(
    'SELECT id, name FROM mailboxes WHERE account_id = $1 ORDER BY id FOR UPDATE',
    [accountId],
  );
  const names = new Map(all.rows.map((m) => [m.name, m.id]));
  const src = names.get(f);
  if (src === undefined) throw new StoreError('not_found', `no such mailbox: ${f}`);
  if (f === t) throw new StoreError('exists', `mailbox exists: ${t}`);
  if (names.has(t)) throw new StoreError('exists', `mailbox exists: ${t}`);
  if (f === 'INBOX') {
    // RFC 9051 §6.3.6: renaming INBOX moves its messages to a new mailbox and
    // leaves INBOX (empty) in place; its inferiors are not renamed.
    const uv = await allocUidValidity(c, nowMs, 1);
    const created = await c.query<{ id: number }>(
      'INSERT INTO mailboxes (account_id, name, special_use, subscribed, uid_validity) VALUES ($1, $2, NULL, TRUE, $3) RETURNING id',
      [accountId, t, uv],
    );
    const dest = created.rows[0]!.id;
    const msgs = await c.query<{ id: number; uid: number }>('SELECT id, uid FROM messages WHERE mailbox_id = $1 ORDER BY uid', [src]);
    const n = msgs.rows.length;
    if (n > 0) {
      const start = await bump(c, dest, n, 1);
      await c.query(
        `UPDATE messages m SET mailbox_id = $1, uid = v.nuid, modseq = $2
         FROM unnest($3::bigint[], $4::bigint[]) AS v(id, nuid) WHERE m.id = v.id`,
        [dest, start.modseq, msgs.rows.map((m) => m.id), msgs.rows.map((_, i) => start.uid + i)],
      );
      const ex = await bump(c, src, 0, 1);
      await c.query(
        `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $2 FROM unnest($3::bigint[]) AS u
         ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq`,
        [src, ex.modseq, msgs.rows.map((m) => m.uid)],
      );
      changes.push({ accountId, mailboxId: src, modseq: ex.modseq, kind: 'expunge' });
    }
    changes.push({ accountId, mailboxId: dest, modseq: 0, kind: 'mailboxes' });
    return;
  }
  const prefix = f + MAILBOX_SEPARATOR;
  const moves: Array<{ id: number; name: string }> = [{ id: src, name: t }];
  for (const [name, id] of names) {
    if (name.startsWith(prefix)) moves.push({ id, name: t + MAILBOX_SEPARATOR + name.slice(prefix.length) });
  }
  const moving = new Set(moves.map((m) => m.id));
  for (const m of moves) {
    const taken = names.get(m.name);
    if (taken !== undefined && !moving.has(taken)) throw new StoreError('exists', `mailbox exists: ${m.name}`);
  }
  // Two steps, so a child renamed onto a name another moving mailbox still holds never collides.
  await c.query(`UPDATE mailboxes SET name = '\u0001' || id::text WHERE id = ANY($1::bigint[])`, [moves.map((m) => m.id)]);
  await c.query(
    'UPDATE mailboxes m SET name = v.name FROM unnest($1::bigint[], $2::text[]) AS v(id, name) WHERE m.id = v.id',
    [moves.map((m) => m.id), moves.map((m) => m.name)],
  );
  for (const m of moves) changes.push({ accountId, mailboxId: m.id, modseq: 0, kind: 'mailboxes' });
}

export async function setSubscribed(c: Q, accountId: number, name: string, subscribed: boolean, changes: MailboxChange[]): Promise<void> {
  const n = requireMailboxName(name);
  const r = await c.query<{ id: number }>('UPDATE mailboxes SET subscribed = $3 WHERE account_id = $1 AND name = $2 RETURNING id', [
    requireId(accountId, 'accountId'),
    n,
    subscribed === true,
  ]);
  if (!r.rows[0]) throw new StoreError('not_found', `no such mailbox: ${n}`);
  changes.push({ accountId, mailboxId: r.rows[0].id, modseq: 0, kind: 'mailboxes' });
}

export async function mailboxStatus(c: Q, mailboxId: number): Promise<MailboxStatus> {
  const r = await c.query<{
    messages: number;
    unseen: number;
    deleted: number;
    size: number;
    uid_next: number;
    uid_validity: number;
    highest_modseq: number;
  }>(
    `SELECT m.uid_next, m.uid_validity, m.highest_modseq,
            count(x.id) AS messages,
            count(x.id) FILTER (WHERE strpos(' ' || x.flags || ' ', ' \\Seen ') = 0) AS unseen,
            count(x.id) FILTER (WHERE strpos(' ' || x.flags || ' ', ' \\Deleted ') > 0) AS deleted,
            coalesce(sum(x.size), 0)::bigint AS size
     FROM mailboxes m LEFT JOIN messages x ON x.mailbox_id = m.id
     WHERE m.id = $1 GROUP BY m.id`,
    [requireId(mailboxId, 'mailboxId')],
  );
  const row = r.rows[0];
  if (!row) throw new StoreError('not_found', `no such mailbox: ${mailboxId}`);
  return {
    messages: row.messages,
    unseen: row.unseen,
    deleted: row.deleted,
    size: row.size,
    uidNext: row.uid_next,
    uidValidity: row.uid_validity,
    highestModseq: row.highest_modseq,
  };
}

// ---- Messages

/** Inserts one message row per (mailbox, uid); returns their ids in order. */
async function insertMessages(
  c: Q,
  rows: Array<{ mailboxId: number; uid: number; modseq: number; flags: string; internalDate: number; size: number; blobId: string }>,
): Promise<number[]> {
  if (rows.length === 0) return [];
  const r = await c.query<{ id: number; mailbox_id: number; uid: number }>(
    `INSERT INTO messages (mailbox_id, uid, modseq, flags, internal_date, size, blob_id)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])
     RETURNING id, mailbox_id, uid`,
    [
      rows.map((x) => x.mailboxId),
      rows.map((x) => x.uid),
      rows.map((x) => x.modseq),
      rows.map((x) => x.flags),
      rows.map((x) => x.internalDate),
      rows.map((x) => x.size),
      rows.map((x) => x.blobId),
    ],
  );
  const ids = new Map(r.rows.map((x) => [`${x.mailbox_id}:${x.uid}`, x.id]));
  return rows.map((x) => ids.get(`${x.mailboxId}:${x.uid}`)!);
}

export { insertMessages, bump, addUsage };

export async function append(
  c: Q,
  mailboxId: number,
  req: AppendRequest,
  blob: { id: string; size: number },
  changes: MailboxChange[],
): Promise<AppendResult> {
  const flags = normalizeFlags(req.flags).join(' ');
  const internalDate = req.internalDate?.getTime?.();
  if (typeof internalDate !== 'number' || !Number.isFinite(internalDate)) throw new StoreError('invalid', 'internalDate must be a valid Date');
  const mb = await lockMailbox(c, mailboxId);
  const { uid, modseq } = await bump(c, mb.id, 1, 1);
  await insertMessages(c, [{ mailboxId: mb.id, uid, modseq, flags, internalDate, size: blob.size, blobId: blob.id }]);
  await addUsage(c, mb.account_id, blob.size);
  changes.push({ accountId: mb.account_id, mailboxId: mb.id, modseq, kind: 'append' });
  return { mailboxId: mb.id, uidValidity: mb.uid_validity, uid, modseq };
}

export async function getMessages(c: Q, mailboxId: number, uids: readonly number[]): Promise<StoredMessage[]> {
  const u = requireUids(uids);
  const r = await c.query<MessageRow>('SELECT * FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid', [
    requireId(mailboxId, 'mailboxId'),
    u,
  ]);
  return r.rows.map(toMessage);
}

export async function changesSince(c: Q, mailboxId: number, since: number): Promise<MailboxChanges> {
  if (!Number.isSafeInteger(since) || since < 0) throw new StoreError('invalid', 'modseq must be a non-negative integer');
  const mb = await c.query<{ highest_modseq: number }>('SELECT highest_modseq FROM mailboxes WHERE id = $1', [requireId(mailboxId, 'mailboxId')]);
  if (!mb.rows[0]) throw new StoreError('not_found', `no such mailbox: ${mailboxId}`);
  const changed = await c.query<MessageRow>('SELECT * FROM messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid', [mailboxId, since]);
  const gone = await c.query<{ uid: number }>('SELECT uid FROM expunged WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid', [mailboxId, since]);
  return { changed: changed.rows.map(toMessage), expunged: gone.rows.map((x) => x.uid), highestModseq: mb.rows[0].highest_modseq };
}

export async function updateFlags(
  c: Q,
  mailboxId: number,
  uids: readonly number[],
  op: FlagOperation,
  flags: readonly string[],
  unchangedSince: number | undefined,
  changes: MailboxChange[],
): Promise<FlagUpdate> {
  requireFlagOperation(op);
  const given = normalizeFlags(flags);
  if (unchangedSince !== undefined && (!Number.isSafeInteger(unchangedSince) || unchangedSince < 0)) {
    throw new StoreError('invalid', 'unchangedSince must be a non-negative integer');
  }
  const u = requireUids(uids);
  const mb = await lockMailbox(c, mailboxId);
  const rows = (
    await c.query<MessageRow>('SELECT * FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid', [mb.id, u])
  ).rows;
  const conflicts: number[] = [];
  const edits: Array<{ row: MessageRow; flags: string[] }> = [];
  for (const row of rows) {
    // RFC 7162 §3.1.3: UNCHANGEDSINCE fails messages modified after the given value.
    if (unchangedSince !== undefined && row.modseq > unchangedSince) {
      conflicts.push(row.uid);
      continue;
    }
    const before = row.flags === '' ? [] : row.flags.split(' ');
    const after = applyFlagOperation(before, op, given);
    if (!sameFlags(before, after)) edits.push({ row, flags: after });
  }
  if (edits.length === 0) return { updated: [], conflicts };
  // One new mod-sequence for the whole operation (RFC 7162 §3.1: a
  // mod-sequence names a change; several messages may share it).
  const { modseq } = await bump(c, mb.id, 0, 1);
  await c.query(
    'UPDATE messages m SET flags = v.flags, modseq = $3 FROM unnest($1::bigint[], $2::text[]) AS v(id, flags) WHERE m.id = v.id',
    [edits.map((e) => e.row.id), edits.map((e) => e.flags.join(' ')), modseq],
  );
  changes.push({ accountId: mb.account_id, mailboxId: mb.id, modseq, kind: 'flags' });
  return {
    updated: edits.map((e) => toMessage({ ...e.row, flags: e.flags.join(' '), modseq })),
    conflicts,
  };
}

export async function expunge(
  c: Q,
  mailboxId: number,
  opts: { uids?: readonly number[]; onlyDeleted: boolean },
  changes: MailboxChange[],
): Promise<number[]> {
  const mb = await lockMailbox(c, mailboxId);
  return expungeLocked(c, mb, opts, changes);
}

async function expungeLocked(
  c: Q,
  mb: { id: number; account_id: number },
  opts: { uids?: readonly number[]; onlyDeleted: boolean },
  changes: MailboxChange[],
): Promise<number[]> {
  const u = opts?.uids === undefined ? null : requireUids(opts.uids);
  const r = await c.query<{ uid: number; size: number }>(
    `DELETE FROM messages WHERE mailbox_id = $1
       AND ($2::bigint[] IS NULL OR uid = ANY($2::bigint[]))
       AND (NOT $3 OR strpos(' ' || flags || ' ', ' \\Deleted ') > 0)
     RETURNING uid, size`,
    [mb.id, u, opts?.onlyDeleted === true],
  );
  if (r.rows.length === 0) return [];
  const uids = r.rows.map((x) => x.uid).sort((a, b) => a - b);
  const { modseq } = await bump(c, mb.id, 0, 1);
  await c.query(
    `INSERT INTO expunged (mailbox_id, uid, modseq) SELECT $1, u, $2 FROM unnest($3::bigint[]) AS u
     ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = EXCLUDED.modseq`,
    [mb.id, modseq, uids],
  );
  await addUsage(c, mb.account_id, -r.rows.reduce((n, x) => n + x.size, 0));
  changes.push({ accountId: mb.account_id, mailboxId: mb.id, modseq, kind: 'expunge' });
  return uids;
}

export async function copyMessages(
  c: Q,
  sourceId: number,
  uids: readonly number[],
  destId: number,
  move: boolean,
  changes: MailboxChange[],
): Promise<CopyResult> {
  const u = requireUids(uids);
  requireId(sourceId, 'sourceMailboxId');
  requireId(destId, 'destMailboxId');
  // Both rows locked in id order (two sessions copying A→B and B→A do not deadlock).
  const locked = await c.query<{ id: number; account_id: number; uid_validity: number }>(
    'SELECT id, account_id, uid_validity FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE',
    [[sourceId, destId]],
  );
  const src = locked.rows.find((m) => m.id === sourceId);
  const dest = locked.rows.find((m) => m.id === destId);
  if (!src) throw new StoreError('not_found', `no such mailbox: ${sourceId}`);
  if (!dest) throw new StoreError('not_found', `no such mailbox: ${destId}`);
  if (src.account_id !== dest.account_id) throw new StoreError('invalid', 'messages can only be copied within one account');
  if (move && sourceId === destId) throw new StoreError('invalid', 'cannot move messages into the same mailbox');
  const rows = (
    await c.query<MessageRow>('SELECT * FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid', [src.id, u])
  ).rows;
  if (rows.length === 0) return { uidValidity: dest.uid_validity, mapping: [] };
  const start = await bump(c, dest.id, rows.length, rows.length);
  await insertMessages(
    c,
    rows.map((m, i) => ({
      mailboxId: dest.id,
      uid: start.uid + i,
      modseq: start.modseq + i,
      flags: m.flags,
      internalDate: m.internal_date,
      size: m.size,
      blobId: m.blob_id,
    })),
  );
  const bytes = rows.reduce((n, m) => n + m.size, 0);
  await addUsage(c, dest.account_id, bytes);
  changes.push({ accountId: dest.account_id, mailboxId: dest.id, modseq: start.modseq + rows.length - 1, kind: 'append' });
  if (move) await expungeLocked(c, src, { uids: rows.map((m) => m.uid), onlyDeleted: false }, changes);
  return { uidValidity: dest.uid_validity, mapping: rows.map((m, i) => ({ sourceUid: m.uid, destUid: start.uid + i })) };
}

export async function getMessageMeta(c: Q, blobIds: readonly string[]): Promise<Map<string, string>> {
  if (!Array.isArray(blobIds) || !blobIds.every((b) => typeof b === 'string')) throw new StoreError('invalid', 'blobIds must be strings');
  const r = await c.query<{ blob_id: string; meta: string }>('SELECT blob_id, meta FROM message_meta WHERE blob_id = ANY($1::text[])', [
    [...new Set(blobIds)],
  ]);
  return new Map(r.rows.map((x) => [x.blob_id, x.meta]));
}

export async function setMessageMeta(c: Q, blobId: string, meta: string): Promise<void> {
  if (typeof meta !== 'string') throw new StoreError('invalid', 'meta must be a string');
  const ok = await c.query('SELECT 1 FROM blobs WHERE id = $1', [blobId]);
  if (ok.rowCount === 0) throw new StoreError('not_found', `no such blob: ${blobId}`);
  await c.query(
    'INSERT INTO message_meta (blob_id, meta) VALUES ($1, $2) ON CONFLICT (blob_id) DO UPDATE SET meta = EXCLUDED.meta',
    [blobId, meta],
  );
}
