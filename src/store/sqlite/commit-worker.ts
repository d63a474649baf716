// The commit worker: a worker thread with its own SQLite connection that runs
// write batches (write-batch.ts: deliveries and outbound-queue writes). A durable COMMIT blocks its thread for
// the WAL write and fsync; doing it here keeps the main thread (SMTP and IMAP
// sessions) running meanwhile, and lets the next batch gather while this one
// commits. Messages: in {type:'batch', id, jobs, nowMs} | {type:'close'};
// out {type:'ready'} | {type:'result', id, outcomes} | {type:'failed', id, error}.

import { parentPort, workerData } from 'node:worker_threads';
import { StoreError } from '../store.ts';
import { toStoreError } from '../errors.ts';
import { openConnection } from './connection.ts';
import { prepareStatements } from './statements.ts';
import { prepareSavepoints, runWriteBatch, type WriteJob } from './write-batch.ts';

export interface WorkerInit {
  dbPath: string;
  busyTimeoutMs: number;
}

/** A StoreError as it crosses postMessage (classes do not survive cloning). */
export interface WireError {
  code: StoreError['code'];
  message: string;
}

export type ToWorker = { type: 'batch'; id: number; jobs: WriteJob[]; nowMs: number } | { type: 'close' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'result'; id: number; outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: WireError }> }
  | { type: 'failed'; id: number; error: WireError };

function wire(err: unknown, what: string): WireError {
  const e = toStoreError(err, what);
  return { code: e.code, message: e.message };
}

if (parentPort) {
  const port = parentPort;
  const init = workerData as WorkerInit;
  const db = openConnection(init.dbPath, init.busyTimeoutMs);
  const st = prepareStatements(db);
  const sp = prepareSavepoints(db);
  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'close') {
      db.close();
      port.close();
      return;
    }
    let out: FromWorker;
    try {
      const outcomes = runWriteBatch(db, st, sp, msg.jobs, msg.nowMs);
      out = {
        type: 'result',
        id: msg.id,
        outcomes: outcomes.map((o) => (o.ok ? o : { ok: false, error: wire(o.error, 'writing') })),
      };
    } catch (err) {
      out = { type: 'failed', id: msg.id, error: wire(err, 'committing writes') };
    }
    port.postMessage(out);
  });
  port.postMessage({ type: 'ready' } satisfies FromWorker);
}
