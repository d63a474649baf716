// The outbound queue on SQLite: the writes, run inside a group-committed
// transaction (write-batch.ts) like deliveries, so concurrent delivery
// attempts reporting back share one fsync; and the reads, run on the main
// connection. Input has been validated by store/queue-input.ts already.

import { StoreError, type QueueClaim, type QueuedMessage, type QueueRecipient } from '../store.ts';
import type { NormalOutbound, NormalOutcome } from '../queue-input.ts';
import { isConstraintError } from '../errors.ts';
import type { Statements } from './statements.ts';
import {
  notifyColumn,
  toQueuedMessage,
  toQueueRecipient,
  type QueueMessageRow,
  type QueueRecipientRow,
} from './rows.ts';

/** A queue write, as it crosses to the commit worker. Times in ms. */
export type QueueJob =
  | { kind: 'claim'; now: number; limit: number; leaseMs: number; owner: string; domain: string | null }
  | { kind: 'outcomes'; owner: string; outcomes: NormalOutcome[] }
  | { kind: 'release'; owner: string }
  | { kind: 'delayWarned'; ids: number[] }
  | { kind: 'retry'; queueId: string | null; now: number }
  | { kind: 'delete'; queueId: string }
  | { kind: 'fail'; queueId: string; reply: string; status: string; at: number }
  | { kind: 'purge'; before: number };

/** Adds the queue rows of a delivery (the blob row is already in). */
export function enqueue(st: Statements, blobId: string, size: number, createdAt: number, o: NormalOutbound): void {
  let messageId: number;
  try {
    const res = st.insertQueueMessage.run(
      o.queueId,
      blobId,
      size,
      o.sender,
      o.envid,
      o.ret,
      o.smtputf8 ? 1 : 0,
      o.eightBit ? 1 : 0,
      createdAt,
    );
    messageId = Number(res.lastInsertRowid);
  } catch (err) {
    if (isConstraintError(err)) throw new StoreError('exists', `queue id already used: ${o.queueId}`);
    throw err;
  }
  for (const r of o.recipients) {
    st.insertQueueRecipient.run(messageId, r.address, r.domain, o.notBefore, notifyColumn(r.notify), r.orcpt);
  }
}

function messageById(st: Statements, id: number): QueueMessageRow {
  const row = st.queueMessageById.get(id) as QueueMessageRow | undefined;
  if (!row) throw new Error(`queue message ${id} vanished inside a transaction`);
  return row;
}

function claim(st: Statements, j: Extract<QueueJob, { kind: 'claim' }>): QueueClaim[] {
  const params = { owner: j.owner, until: j.now + j.leaseMs, now: j.now, limit: j.limit };
  const rows = (
    j.domain === null ? st.claimDue.all(params) : st.claimDueForDomain.all({ ...params, domain: j.domain })
  ) as unknown as QueueRecipientRow[];
  rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id);
  // One claim per (message, domain), in the order their first recipient fell due.
  const groups = new Map<string, QueueRecipientRow[]>();
  for (const r of rows) {
    const key = `${r.message_id} ${r.domain}`;
    const g = groups.get(key);
    if (g) g.push(r);
    else groups.set(key, [r]);
  }
  const messages = new Map<number, QueueMessageRow>();
  const claims: QueueClaim[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    let m = messages.get(first.message_id);
    if (!m) messages.set(first.message_id, (m = messageById(st, first.message_id)));
    g.sort((a, b) => a.id - b.id);
    claims.push({ message: toQueuedMessage(m, g), domain: first.domain });
  }
  return claims;
}

function recordOutcomes(
  st: Statements,
  j: Extract<QueueJob, { kind: 'outcomes' }>,
): { applied: number[]; stale: number[] } {
  const applied: number[] = [];
  const stale: number[] = [];
  // Message id → the latest outcome time applied to it (its finish time).
  const touched = new Map<number, number>();
  for (const o of j.outcomes) {
    const row = st.recordOutcome.get({
      id: o.recipientId,
      owner: j.owner,
      state: o.result === 'deferred' ? 'pending' : o.result,
      at: o.at,
      reply: o.reply,
      status: o.status,
      host: o.host,
      next: o.nextAttemptAt,
    }) as { message_id: number } | undefined;
    if (!row) {
      stale.push(o.recipientId);
      continue;
    }
    applied.push(o.recipientId);
    touched.set(row.message_id, Math.max(touched.get(row.message_id) ?? 0, o.at));
  }
  for (const [id, at] of touched) st.finishQueueMessage.run({ id, at });
  return { applied, stale };
}

function failQueued(st: Statements, j: Extract<QueueJob, { kind: 'fail' }>): QueueRecipient[] {
  const m = st.queueMessageByQueueId.get(j.queueId) as QueueMessageRow | undefined;
  if (!m) throw new StoreError('not_found', `no such queued message: ${j.queueId}`);
  const rows = st.failQueued.all(j.at, j.reply, j.status, m.id) as unknown as QueueRecipientRow[];
  st.finishQueueMessage.run({ id: m.id, at: j.at });
  return rows.sort((a, b) => a.id - b.id).map((r) => toQueueRecipient(r, m.queue_id));
}

/** Runs one queue write inside the caller's transaction. */
export function runQueueJob(st: Statements, j: QueueJob): unknown {
  switch (j.kind) {
    case 'claim':
      return claim(st, j);
    case 'outcomes':
      return recordOutcomes(st, j);
    case 'release':
      st.releaseLeases.run(j.owner);
      return undefined;
    case 'delayWarned':
      for (const id of j.ids) st.markDelayWarned.run(id);
      return undefined;
    case 'retry': {
      const res = j.queueId === null ? st.retryAllQueued.run(j.now) : st.retryQueued.run(j.now, j.queueId);
      return Number(res.changes);
    }
    case 'delete':
      return Number(st.deleteQueued.run(j.queueId).changes) > 0;
    case 'fail':
      return failQueued(st, j);
    case 'purge':
      return Number(st.purgeQueue.run(j.before).changes);
  }
}

// Reads (main connection; each statement sees the last committed state).

export function getQueued(st: Statements, queueId: string): QueuedMessage | null {
  const m = st.queueMessageByQueueId.get(queueId) as QueueMessageRow | undefined;
  if (!m) return null;
  return toQueuedMessage(m, st.queueRecipientsOf.all(m.id) as unknown as QueueRecipientRow[]);
}

export function listQueue(st: Statements, all: boolean): QueuedMessage[] {
  // Called inside a read transaction, so both statements see one snapshot.
  const msgs = (all ? st.listQueueAll.all() : st.listQueueActive.all()) as unknown as QueueMessageRow[];
  const rcpts = (all ? st.listQueueRecipientsAll.all() : st.listQueueRecipientsActive.all()) as unknown as QueueRecipientRow[];
  const byMessage = new Map<number, QueueRecipientRow[]>(msgs.map((m) => [m.id, []]));
  for (const r of rcpts) byMessage.get(r.message_id)?.push(r);
  return msgs.map((m) => toQueuedMessage(m, byMessage.get(m.id)!));
}

export function nextQueueWakeup(st: Statements): Date | null {
  const a = (st.nextDueUnleased.get() as { t: number } | undefined)?.t ?? null;
  const b = (st.nextDueLeased.get() as { t: number | null } | undefined)?.t ?? null;
  const t = a === null ? b : b === null ? a : Math.min(a, b);
  return t === null ? null : new Date(t);
}
