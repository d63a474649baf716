// The transaction behind every group-committed write: one BEGIN…COMMIT for a
// whole batch of jobs gathered by the group committer — deliveries (with
// their outbound queue rows) and queue writes (claims, outcomes, …). Each job
// runs inside its own SAVEPOINT, so one bad request (unknown account, queue
// id taken) is rolled back and rejected alone while the rest of the batch
// commits. Small message bytes are inserted inline here, so the same WAL
// fsync covers bytes and rows; large ones were already made durable as files
// before the job was queued. Mailbox writes (APPEND, flags, EXPUNGE, COPY,
// MOVE, mailbox list changes) are jobs too (mailbox-jobs.ts); they and
// deliveries return the changes to announce to watchers after the commit.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { StoreError, type DeliveredCopy } from '../store.ts';
import type { NormalOutbound } from '../queue-input.ts';
import { toStoreError } from '../errors.ts';
import type { Outcome } from '../group-commit.ts';
import type { Statements } from './statements.ts';
import { withTransaction } from './tx.ts';
import { enqueue, runQueueJob, type QueueJob } from './queue.ts';
import { MAILBOX_JOB_KINDS, runMailboxJob, type Announced, type MailboxJob } from './mailbox-jobs.ts';
import type { MailboxChange } from '../mailbox-store.ts';

export interface DeliveryJob {
  kind: 'deliver';
  blobId: string;
  size: number;
  /** The bytes to keep inline, or null when they are already a durable file. */
  inline: Uint8Array | null;
  internalDate: number;
  recipients: Array<{ accountId: number; mailbox: string; flags: string }>;
  /** Remote recipients, queued in the same savepoint. */
  outbound: NormalOutbound | null;
  /** Parsed-message summary for blobs.meta (kept if the blob already has one). */
  meta: string | null;
}

export type WriteJob = DeliveryJob | QueueJob | MailboxJob;

export interface SavepointStatements {
  savepoint: StatementSync;
  release: StatementSync;
  rollbackTo: StatementSync;
}

export function prepareSavepoints(db: DatabaseSync): SavepointStatements {
  return {
    savepoint: db.prepare('SAVEPOINT job'),
    release: db.prepare('RELEASE job'),
    rollbackTo: db.prepare('ROLLBACK TO job'),
  };
}

function deliverOne(st: Statements, job: DeliveryJob, nowMs: number): Announced<DeliveredCopy[]> {
  st.insertBlob.run(job.blobId, job.size, job.inline, nowMs);
  if (job.meta !== null && job.meta !== undefined) st.setBlobMetaIfNull.run(job.meta, job.blobId);
  const copies: DeliveredCopy[] = [];
  const changes: MailboxChange[] = [];
  for (const r of job.recipients) {
    // A missing mailbox falls back to INBOX (Store.deliver contract).
    const mb = (st.mailboxId.get(r.accountId, r.mailbox) ?? st.mailboxId.get(r.accountId, 'INBOX')) as
      | { id: number }
      | undefined;
    if (!mb) throw new StoreError('not_found', `no account with id ${r.accountId}`);
    const { uid, modseq } = st.bumpMailbox.get(mb.id) as { uid: number; modseq: number };
    const res = st.insertMessage.run(mb.id, uid, modseq, r.flags, job.internalDate, job.size, job.blobId);
    st.addUsage.run(job.size, r.accountId);
    copies.push({ accountId: r.accountId, mailboxId: mb.id, uid, messageId: Number(res.lastInsertRowid) });
    changes.push({ accountId: r.accountId, mailboxId: mb.id, modseq, kind: 'append' });
  }
  if (job.outbound) enqueue(st, job.blobId, job.size, job.internalDate, job.outbound);
  return { value: copies, changes };
}

function isMailboxJob(job: WriteJob): job is MailboxJob {
  return MAILBOX_JOB_KINDS.has(job.kind);
}

function runJob(st: Statements, job: WriteJob, nowMs: number): unknown {
  if (job.kind === 'deliver') return deliverOne(st, job, nowMs);
  if (isMailboxJob(job)) return runMailboxJob(st, job, nowMs);
  return runQueueJob(st, job as QueueJob);
}

/** Runs the batch in one transaction. Throws (failing every job) if the
 * transaction itself cannot begin or commit: then nothing of it is durable. */
export function runWriteBatch(
  db: DatabaseSync,
  st: Statements,
  sp: SavepointStatements,
  jobs: WriteJob[],
  nowMs: number,
): Outcome<unknown>[] {
  return withTransaction(db, () =>
    jobs.map((job): Outcome<unknown> => {
      sp.savepoint.run();
      try {
        const value = runJob(st, job, nowMs);
        sp.release.run();
        return { ok: true, value };
      } catch (err) {
        // SQLite may have rolled back the whole transaction by itself (e.g.
        // SQLITE_FULL): then the batch is lost and every job must fail.
        if (!db.isTransaction) throw err;
        try {
          sp.rollbackTo.run();
          sp.release.run();
        } catch {
          throw err;
        }
        return { ok: false, error: toStoreError(err, job.kind === 'deliver' ? 'delivering' : isMailboxJob(job) ? `mailbox ${job.kind}` : `queue ${job.kind}`) };
      }
    }),
  );
}
