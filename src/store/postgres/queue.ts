// The outbound queue on PostgreSQL, shared by every node. A claim leases due
// recipients with SELECT … FOR UPDATE SKIP LOCKED and stamps them with the
// owner and an expiry in the same statement, so two nodes claiming at once
// never get the same recipient, and a node that dies leaves leases that
// simply run out (then any node claims them again). Outcomes apply only to
// rows still leased by their owner. Input is validated by store/queue-input.ts.

import type { PoolClient } from 'pg';
import { StoreError, type QueueClaim, type QueuedMessage, type QueueRecipient } from '../store.ts';
import type { NormalOutbound, NormalOutcome } from '../queue-input.ts';
import { isUniqueViolation } from './connection.ts';
import { toQueuedMessage, toQueueRecipient, type QueueMessageRow, type QueueRecipientRow } from './rows.ts';

type Q = Pick<PoolClient, 'query'>;

/** Adds the queue rows of a delivery, inside its transaction (the blob row is in). */
export async function enqueue(c: PoolClient, blobId: string, size: number, createdAt: number, o: NormalOutbound): Promise<void> {
  let messageId: number;
  try {
    const r = await c.query<{ id: number }>(
      `INSERT INTO queue_messages (queue_id, blob_id, size, sender, envid, ret, smtputf8, eight_bit, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [o.queueId, blobId, size, o.sender, o.envid, o.ret, o.smtputf8, o.eightBit, createdAt],
    );
    messageId = r.rows[0]!.id;
  } catch (err) {
    if (isUniqueViolation(err)) throw new StoreError('exists', `queue id already used: ${o.queueId}`);
    throw err;
  }
  await c.query(
    `INSERT INTO queue_recipients (message_id, address, domain, state, next_attempt_at, notify, orcpt)
     SELECT $1, a, d, 'pending', $2, n, o FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS t(a, d, n, o)`,
    [
      messageId,
      o.notBefore,
      o.recipients.map((r) => r.address),
      o.recipients.map((r) => r.domain),
      o.recipients.map((r) => (r.notify === null ? null : r.notify.join(','))),
      o.recipients.map((r) => r.orcpt),
    ],
  );
}

export async function claim(
  c: Q,
  j: { now: number; limit: number; leaseMs: number; owner: string; domain: string | null },
): Promise<QueueClaim[]> {
  const r = await c.query<QueueRecipientRow>(
    `WITH due AS (
       SELECT id FROM queue_recipients
       WHERE state = 'pending' AND next_attempt_at <= $1
         AND (lease_until IS NULL OR lease_until <= $1)
         AND ($5::text IS NULL OR domain = $5)
       ORDER BY next_attempt_at, id
       LIMIT $4
       FOR UPDATE SKIP LOCKED)
     UPDATE queue_recipients q SET lease_owner = $2, lease_until = $3
     FROM due WHERE q.id = due.id
     RETURNING q.*`,
    [j.now, j.owner, j.now + j.leaseMs, j.limit, j.domain],
  );
  const rows = r.rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id);
  if (rows.length === 0) return [];
  const groups = new Map<string, QueueRecipientRow[]>();
  for (const row of rows) {
    const key = `${row.message_id} ${row.domain}`;
    const g = groups.get(key);
    if (g) g.push(row);
    else groups.set(key, [row]);
  }
  const ids = [...new Set(rows.map((x) => x.message_id))];
  const msgs = await c.query<QueueMessageRow>('SELECT * FROM queue_messages WHERE id = ANY($1::bigint[])', [ids]);
  const byId = new Map(msgs.rows.map((m) => [m.id, m]));
  const claims: QueueClaim[] = [];
  for (const g of groups.values()) {
    const first = g[0]!;
    const m = byId.get(first.message_id);
    if (!m) throw new Error(`queue message ${first.message_id} vanished inside a transaction`);
    g.sort((a, b) => a.id - b.id);
    claims.push({ message: toQueuedMessage(m, g), domain: first.domain });
  }
  return claims;
}

async function finish(c: Q, messageId: number, at: number): Promise<void> {
  await c.query(
    `UPDATE queue_messages SET done_at = $2
     WHERE id = $1 AND done_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM queue_recipients WHERE message_id = $1 AND state = 'pending')`,
    [messageId, at],
  );
}

export async function recordOutcomes(c: Q, owner: string, outcomes: NormalOutcome[]): Promise<{ applied: number[]; stale: number[] }> {
  const applied: number[] = [];
  const stale: number[] = [];
  const touched = new Map<number, number>();
  // In id order, so two nodes never lock the same rows in opposite orders.
  for (const o of [...outcomes].sort((a, b) => a.recipientId - b.recipientId)) {
    const r = await c.query<{ message_id: number }>(
      `UPDATE queue_recipients
       SET state = $3, attempts = attempts + 1, last_attempt_at = $4, last_reply = $5, last_status = $6,
           last_host = $7, next_attempt_at = coalesce($8, next_attempt_at), lease_owner = NULL, lease_until = NULL
       WHERE id = $1 AND state = 'pending' AND lease_owner = $2
       RETURNING message_id`,
      [o.recipientId, owner, o.result === 'deferred' ? 'pending' : o.result, o.at, o.reply, o.status, o.host, o.nextAttemptAt],
    );
    const row = r.rows[0];
    if (!row) {
      stale.push(o.recipientId);
      continue;
    }
    applied.push(o.recipientId);
    touched.set(row.message_id, Math.max(touched.get(row.message_id) ?? 0, o.at));
  }
  const order = new Map(outcomes.map((o, i) => [o.recipientId, i]));
  const byInput = (a: number, b: number) => order.get(a)! - order.get(b)!;
  for (const [id, at] of touched) await finish(c, id, at);
  return { applied: applied.sort(byInput), stale: stale.sort(byInput) };
}

export async function releaseLeases(c: Q, owner: string): Promise<void> {
  await c.query('UPDATE queue_recipients SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = $1', [owner]);
}

export async function markDelayWarned(c: Q, ids: number[]): Promise<void> {
  await c.query('UPDATE queue_recipients SET delay_warned = TRUE WHERE id = ANY($1::bigint[])', [ids]);
}

export async function retryQueued(c: Q, queueId: string | null, now: number): Promise<number> {
  const r =
    queueId === null
      ? await c.query(`UPDATE queue_recipients SET next_attempt_at = $1 WHERE state = 'pending'`, [now])
      : await c.query(
          `UPDATE queue_recipients SET next_attempt_at = $1
           WHERE state = 'pending' AND message_id = (SELECT id FROM queue_messages WHERE queue_id = $2)`,
          [now, queueId],
        );
  return r.rowCount ?? 0;
}

export async function deleteQueued(c: Q, queueId: string): Promise<boolean> {
  const r = await c.query('DELETE FROM queue_messages WHERE queue_id = $1', [queueId]);
  return (r.rowCount ?? 0) > 0;
}

export async function failQueued(c: Q, queueId: string, reply: string, status: string, at: number): Promise<QueueRecipient[]> {
  const m = (await c.query<QueueMessageRow>('SELECT * FROM queue_messages WHERE queue_id = $1 FOR UPDATE', [queueId])).rows[0];
  if (!m) throw new StoreError('not_found', `no such queued message: ${queueId}`);
  const r = await c.query<QueueRecipientRow>(
    `UPDATE queue_recipients
     SET state = 'failed', last_attempt_at = $1, last_reply = $2, last_status = $3, lease_owner = NULL, lease_until = NULL
     WHERE message_id = $4 AND state = 'pending'
     RETURNING *`,
    [at, reply, status, m.id],
  );
  await finish(c, m.id, at);
  return r.rows.sort((a, b) => a.id - b.id).map((row) => toQueueRecipient(row, m.queue_id));
}

export async function purgeQueue(c: Q, before: number): Promise<number> {
  const r = await c.query('DELETE FROM queue_messages WHERE done_at IS NOT NULL AND done_at < $1', [before]);
  return r.rowCount ?? 0;
}

// Reads

export async function getQueued(c: Q, queueId: string): Promise<QueuedMessage | null> {
  const m = (await c.query<QueueMessageRow>('SELECT * FROM queue_messages WHERE queue_id = $1', [queueId])).rows[0];
  if (!m) return null;
  const r = await c.query<QueueRecipientRow>('SELECT * FROM queue_recipients WHERE message_id = $1 ORDER BY id', [m.id]);
  return toQueuedMessage(m, r.rows);
}

/** In one REPEATABLE READ transaction (the caller's), so both queries see one snapshot. */
export async function listQueue(c: Q, all: boolean): Promise<QueuedMessage[]> {
  const msgs = await c.query<QueueMessageRow>(
    all ? 'SELECT * FROM queue_messages ORDER BY created_at, id' : 'SELECT * FROM queue_messages WHERE done_at IS NULL ORDER BY created_at, id',
  );
  const rcpts = await c.query<QueueRecipientRow>(
    all
      ? 'SELECT * FROM queue_recipients ORDER BY message_id, id'
      : `SELECT r.* FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id
         WHERE m.done_at IS NULL ORDER BY r.message_id, r.id`,
  );
  const byMessage = new Map<number, QueueRecipientRow[]>(msgs.rows.map((m) => [m.id, []]));
  for (const r of rcpts.rows) byMessage.get(r.message_id)?.push(r);
  return msgs.rows.map((m) => toQueuedMessage(m, byMessage.get(m.id)!));
}

export async function nextQueueWakeup(c: Q): Promise<Date | null> {
  const r = await c.query<{ a: number | null; b: number | null }>(
    `SELECT (SELECT next_attempt_at FROM queue_recipients
             WHERE state = 'pending' AND lease_owner IS NULL ORDER BY next_attempt_at LIMIT 1) AS a,
            (SELECT min(greatest(next_attempt_at, lease_until)) FROM queue_recipients
             WHERE lease_owner IS NOT NULL AND state = 'pending') AS b`,
  );
  const { a, b } = r.rows[0]!;
  const t = a === null ? b : b === null ? a : Math.min(a, b);
  return t === null ? null : new Date(t);
}
