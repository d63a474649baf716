// The mailbox store's writes on SQLite (mailbox-store.ts), as jobs of the
// group committer: APPEND, flag changes, EXPUNGE, COPY/MOVE, and mailbox
// create/delete/rename/subscribe. Jobs are plain data (they cross to the
// commit worker by structured clone) and run inside the batch transaction
// (write-batch.ts), so they serialize with deliveries and each one allocates
// its UIDs (bumpMailbox) and mod-sequences (RFC 7162 §3.1) inside it. Every
// job returns its value together with the changes to announce to watchers
// once the commit is durable. Quota usage (accounts.used_bytes) is kept
// exact: APPEND and COPY add, EXPUNGE and DELETE subtract, MOVE nets zero.

import { StoreError, type Mailbox, type SpecialUse } from '../store.ts';
import {
  MAILBOX_SEPARATOR,
  type AppendResult,
  type CopyResult,
  type FlagOperation,
  type FlagUpdate,
  type MailboxChange,
} from '../mailbox-store.ts';
import { applyFlagOperation, sameFlags } from '../mailbox-input.ts';
import type { Statements } from './statements.ts';
import { toMailbox, toMessage, type MailboxRow, type MessageRow } from './rows.ts';

/** A job's value and the changes it made, announced after the commit. */
export interface Announced<T> {
  value: T;
  changes: MailboxChange[];
}

export type MailboxJob =
  | { kind: 'mbCreate'; accountId: number; name: string; specialUse: SpecialUse | null }
  | { kind: 'mbDelete'; accountId: number; name: string }
  | { kind: 'mbRename'; accountId: number; from: string; to: string }
  | { kind: 'mbSubscribe'; accountId: number; name: string; subscribed: boolean }
  | {
      kind: 'append';
      mailboxId: number;
      blobId: string;
      size: number;
      inline: Uint8Array | null;
      internalDate: number;
      flags: string[];
      meta: string | null;
    }
  | {
      kind: 'flags';
      mailboxId: number;
      uids: number[];
      op: FlagOperation;
      flags: string[];
      unchangedSince: number | null;
    }
  | { kind: 'expunge'; mailboxId: number; uids: number[] | null; onlyDeleted: boolean }
  | { kind: 'copy'; sourceId: number; uids: number[]; destId: number; move: boolean }
  | { kind: 'setMeta'; blobId: string; meta: string };

export const MAILBOX_JOB_KINDS: ReadonlySet<string> = new Set([
  'mbCreate',
  'mbDelete',
  'mbRename',
  'mbSubscribe',
  'append',
  'flags',
  'expunge',
  'copy',
  'setMeta',
]);

interface RawMailbox {
  id: number;
  account_id: number;
  name: string;
  uid_validity: number;
  uid_next: number;
  highest_modseq: number;
}

function mailboxRow(st: Statements, id: number): RawMailbox {
  const mb = st.mailboxRowById.get(id) as RawMailbox | undefined;
  if (!mb) throw new StoreError('not_found', `no mailbox with id ${id}`);
  return mb;
}

function namedMailbox(st: Statements, accountId: number, name: string): RawMailbox {
  const mb = st.mailboxRowByName.get(accountId, name) as RawMailbox | undefined;
  if (!mb) throw new StoreError('not_found', `no such mailbox: ${name}`);
  return mb;
}

function listChange(accountId: number): MailboxChange {
  return { accountId, mailboxId: 0, modseq: 0, kind: 'mailboxes' };
}

/** UIDVALIDITY (RFC 9051 §2.3.1.1) from the clock in seconds, but always above
 * every value handed out before (the `counters` row survives deletion, so a
 * re-created mailbox gets a larger one). Same rule as addAccount. */
export function allocUidValidity(st: Statements, nowMs: number, count: number): number {
  const last = (st.getCounter.get('uid_validity') as { value: number } | undefined)?.value ?? 0;
  const first = Math.max(Math.floor(nowMs / 1000), last + 1);
  if (first + count - 1 > 0xffffffff) throw new StoreError('unavailable', 'UIDVALIDITY space exhausted');
  st.setCounter.run('uid_validity', first + count - 1);
  return first;
}

function splitFlags(s: string): string[] {
  return s === '' ? [] : s.split(' ');
}

function create(st: Statements, job: Extract<MailboxJob, { kind: 'mbCreate' }>, nowMs: number): Announced<Mailbox> {
  if (!st.accountById.get(job.accountId)) throw new StoreError('not_found', `no account with id ${job.accountId}`);
  if (st.mailboxRowByName.get(job.accountId, job.name)) throw new StoreError('exists', `mailbox exists: ${job.name}`);
  const uv = allocUidValidity(st, nowMs, 1);
  const { id } = st.createMailbox.get(job.accountId, job.name, job.specialUse, uv) as { id: number };
  const row = st.mailboxWithCountById.get(id) as unknown as MailboxRow;
  return { value: toMailbox(row), changes: [listChange(job.accountId)] };
}

function remove(st: Statements, job: Extract<MailboxJob, { kind: 'mbDelete' }>): Announced<null> {
  if (job.name === 'INBOX') throw new StoreError('invalid', 'INBOX cannot be deleted');
  const mb = namedMailbox(st, job.accountId, job.name);
  const { bytes } = st.mailboxBytes.get(mb.id) as { bytes: number };
  // ON DELETE CASCADE removes its messages and expunged rows; blobs stay for the collector.
  st.deleteMailboxById.run(mb.id);
  st.addUsage.run(-bytes, job.accountId);
  return { value: null, changes: [listChange(job.accountId)] };
}

/** RFC 9051 §6.3.6. Children (`from/…`) move with the mailbox; renaming INBOX
 * moves its messages to a new mailbox and leaves INBOX (and its children) in place. */
function rename(st: Statements, job: Extract<MailboxJob, { kind: 'mbRename' }>, nowMs: number): Announced<null> {
  const { accountId, from, to } = job;
  const src = namedMailbox(st, accountId, from);
  if (st.mailboxRowByName.get(accountId, to)) throw new StoreError('exists', `mailbox exists: ${to}`);
  if (to === from || to.startsWith(from + MAILBOX_SEPARATOR)) {
    throw new StoreError('invalid', `cannot rename ${from} into itself`);
  }
  const changes: MailboxChange[] = [listChange(accountId)];
  if (from === 'INBOX') {
    if (to === 'INBOX') throw new StoreError('exists', 'mailbox exists: INBOX');
    const uv = allocUidValidity(st, nowMs, 1);
    const { id } = st.createMailbox.get(accountId, to, null, uv) as { id: number };
    // The messages keep their UIDs in the new mailbox (it has its own UIDVALIDITY);
    // INBOX sees them expunged (RFC 7162 VANISHED) and keeps its UID counter.
    const { modseq } = st.bumpModseq.get(src.id) as { modseq: number };
    st.expungeAllOf.run(modseq, src.id);
    st.moveAllMessages.run(id, src.id);
    st.setUidNextModseq.run(src.uid_next, modseq, id);
    changes.push({ accountId, mailboxId: src.id, modseq, kind: 'expunge' });
    return { value: null, changes };
  }
  const prefix = from + MAILBOX_SEPARATOR;
  const children = st.mailboxesWithPrefix.all(accountId, prefix.length, prefix) as Array<{ id: number; name: string }>;
  for (const c of children) {
    const target = to + MAILBOX_SEPARATOR + c.name.slice(prefix.length);
    if (st.mailboxRowByName.get(accountId, target)) throw new StoreError('exists', `mailbox exists: ${target}`);
  }
  st.renameMailboxById.run(to, src.id);
  for (const c of children) st.renameMailboxById.run(to + MAILBOX_SEPARATOR + c.name.slice(prefix.length), c.id);
  return { value: null, changes };
}

function subscribe(st: Statements, job: Extract<MailboxJob, { kind: 'mbSubscribe' }>): Announced<null> {
  const res = st.setSubscribed.run(job.subscribed ? 1 : 0, job.accountId, job.name);
  if (res.changes === 0) throw new StoreError('not_found', `no such mailbox: ${job.name}`);
  return { value: null, changes: [listChange(job.accountId)] };
}

function append(st: Statements, job: Extract<MailboxJob, { kind: 'append' }>, nowMs: number): Announced<AppendResult> {
  const mb = mailboxRow(st, job.mailboxId);
  st.insertBlob.run(job.blobId, job.size, job.inline, nowMs);
  if (job.meta !== null) st.setBlobMetaIfNull.run(job.meta, job.blobId);
  const { uid, modseq } = st.bumpMailbox.get(mb.id) as { uid: number; modseq: number };
  st.insertMessage.run(mb.id, uid, modseq, job.flags.join(' '), job.internalDate, job.size, job.blobId);
  st.addUsage.run(job.size, mb.account_id);
  return {
    value: { mailboxId: mb.id, uidValidity: mb.uid_validity, uid, modseq },
    changes: [{ accountId: mb.account_id, mailboxId: mb.id, modseq, kind: 'append' }],
  };
}

function byUids(st: Statements, mailboxId: number, uids: readonly number[]): MessageRow[] {
  return st.messagesByUids.all(mailboxId, JSON.stringify(uids)) as unknown as MessageRow[];
}

function flags(st: Statements, job: Extract<MailboxJob, { kind: 'flags' }>): Announced<FlagUpdate> {
  const mb = mailboxRow(st, job.mailboxId);
  const updated: FlagUpdate['updated'] = [];
  const conflicts: number[] = [];
  let modseq = 0;
  for (const row of byUids(st, mb.id, job.uids)) {
    // RFC 7162 §3.1.3: UNCHANGEDSINCE fails messages changed after the given modseq.
    if (job.unchangedSince !== null && row.modseq > job.unchangedSince) {
      conflicts.push(row.uid);
      continue;
    }
    const before = splitFlags(row.flags);
    const after = applyFlagOperation(before, job.op, job.flags);
    if (sameFlags(before, after)) continue;
    // One new mod-sequence for every message this operation changes.
    if (modseq === 0) modseq = (st.bumpModseq.get(mb.id) as { modseq: number }).modseq;
    const text = after.join(' ');
    st.setMessageFlags.run(text, modseq, row.id);
    updated.push(toMessage({ ...row, flags: text, modseq }));
  }
  const changes: MailboxChange[] =
    modseq === 0 ? [] : [{ accountId: mb.account_id, mailboxId: mb.id, modseq, kind: 'flags' }];
  return { value: { updated, conflicts }, changes };
}

function expungeRows(st: Statements, mb: RawMailbox, rows: readonly MessageRow[]): number {
  const { modseq } = st.bumpModseq.get(mb.id) as { modseq: number };
  let bytes = 0;
  for (const r of rows) {
    st.deleteMessageById.run(r.id);
    st.insertExpunged.run(mb.id, r.uid, modseq);
    bytes += r.size;
  }
  st.addUsage.run(-bytes, mb.account_id);
  return modseq;
}

function expunge(st: Statements, job: Extract<MailboxJob, { kind: 'expunge' }>): Announced<number[]> {
  const mb = mailboxRow(st, job.mailboxId);
  let rows =
    job.uids === null
      ? (st.listMessages.all(mb.id) as unknown as MessageRow[])
      : byUids(st, mb.id, job.uids);
  if (job.onlyDeleted) rows = rows.filter((r) => splitFlags(r.flags).includes('\\Deleted'));
  if (rows.length === 0) return { value: [], changes: [] };
  const modseq = expungeRows(st, mb, rows);
  return {
    value: rows.map((r) => r.uid),
    changes: [{ accountId: mb.account_id, mailboxId: mb.id, modseq, kind: 'expunge' }],
  };
}

/** COPY (RFC 9051 §6.4.7, RFC 4315 COPYUID) and MOVE (RFC 6851 §3.3: one transaction). */
function copy(st: Statements, job: Extract<MailboxJob, { kind: 'copy' }>): Announced<CopyResult> {
  const src = mailboxRow(st, job.sourceId);
  const dest = mailboxRow(st, job.destId);
  if (src.account_id !== dest.account_id) throw new StoreError('invalid', 'copy between accounts');
  if (job.move && src.id === dest.id) throw new StoreError('invalid', 'cannot move a mailbox into itself');
  const rows = byUids(st, src.id, job.uids);
  const mapping: CopyResult['mapping'] = [];
  let destModseq = 0;
  let bytes = 0;
  for (const r of rows) {
    const { uid, modseq } = st.bumpMailbox.get(dest.id) as { uid: number; modseq: number };
    st.insertMessage.run(dest.id, uid, modseq, r.flags, r.internal_date, r.size, r.blob_id);
    mapping.push({ sourceUid: r.uid, destUid: uid });
    destModseq = modseq;
    bytes += r.size;
  }
  const changes: MailboxChange[] = [];
  if (rows.length > 0) {
    changes.push({ accountId: dest.account_id, mailboxId: dest.id, modseq: destModseq, kind: 'append' });
    st.addUsage.run(bytes, dest.account_id);
    if (job.move) {
      const modseq = expungeRows(st, src, rows);
      changes.push({ accountId: src.account_id, mailboxId: src.id, modseq, kind: 'expunge' });
    }
  }
  return { value: { uidValidity: dest.uid_validity, mapping }, changes };
}

function setMeta(st: Statements, job: Extract<MailboxJob, { kind: 'setMeta' }>): Announced<null> {
  const res = st.setBlobMeta.run(job.meta, job.blobId);
  if (res.changes === 0) throw new StoreError('not_found', `no such blob: ${job.blobId}`);
  return { value: null, changes: [] };
}

export function runMailboxJob(st: Statements, job: MailboxJob, nowMs: number): Announced<unknown> {
  switch (job.kind) {
    case 'mbCreate':
      return create(st, job, nowMs);
    case 'mbDelete':
      return remove(st, job);
    case 'mbRename':
      return rename(st, job, nowMs);
    case 'mbSubscribe':
      return subscribe(st, job);
    case 'append':
      return append(st, job, nowMs);
    case 'flags':
      return flags(st, job);
    case 'expunge':
      return expunge(st, job);
    case 'copy':
      return copy(st, job);
    case 'setMeta':
      return setMeta(st, job);
  }
}
