// Where write batches (deliveries, queue writes) are committed. CommitWriter
// is the main thread's handle on the commit worker (commit-worker.ts): sends
// a batch, resolves with its outcomes once the worker has COMMITted. One batch
// at a time (the group committer guarantees it). If the worker dies, the batch
// in flight fails with 'unavailable' and the next batch starts a new worker.
// A batch that fails that way may still have committed just before the
// crash: the sender then retries and the message arrives twice, which mail
// tolerates; losing an acknowledged message would not be. (A queue claim
// committed that way leaves leases nobody uses: they expire.)

import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';
import { StoreError } from '../store.ts';
import { toStoreError } from '../errors.ts';
import type { Outcome } from '../group-commit.ts';
import { prepareSavepoints, runWriteBatch, type WriteJob } from './write-batch.ts';
import { prepareStatements } from './statements.ts';
import type { FromWorker, ToWorker, WorkerInit, WireError } from './commit-worker.ts';

const WORKER_URL = new URL('./commit-worker.ts', import.meta.url);

interface InFlight {
  id: number;
  resolve: (o: Outcome<unknown>[]) => void;
  reject: (e: unknown) => void;
}

function fromWire(e: WireError): StoreError {
  return new StoreError(e.code, e.message);
}

export interface BatchWriter {
  run(jobs: WriteJob[], nowMs: number): Promise<Outcome<unknown>[]>;
  close(): Promise<void>;
}

/** Commits on the caller's connection and thread (blocking it for the
 * fsync). For tools and for comparison in the benchmark. */
export class InlineWriter implements BatchWriter {
  readonly #db: DatabaseSync;
  readonly #st: ReturnType<typeof prepareStatements>;
  readonly #sp: ReturnType<typeof prepareSavepoints>;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#st = prepareStatements(db);
    this.#sp = prepareSavepoints(db);
  }

  async run(jobs: WriteJob[], nowMs: number): Promise<Outcome<unknown>[]> {
    try {
      return runWriteBatch(this.#db, this.#st, this.#sp, jobs, nowMs);
    } catch (err) {
      throw toStoreError(err, 'committing writes');
    }
  }

  async close(): Promise<void> {}
}

export class CommitWriter implements BatchWriter {
  readonly #init: WorkerInit;
  #worker: Promise<Worker> | null = null;
  #inflight: (InFlight & { worker: Worker }) | null = null;
  #nextId = 1;

  constructor(init: WorkerInit) {
    this.#init = init;
  }

  #ensure(): Promise<Worker> {
    if (this.#worker) return this.#worker;
    // Not the parent's --input-type (a `node -e` script): it breaks a file entry point.
    const inputType = (a: string) => a.startsWith('--input-type');
    const execArgv = process.execArgv.some(inputType) ? process.execArgv.filter((a) => !inputType(a)) : undefined;
    // An idle worker does not keep the process alive (a store someone forgot
    // to close must not hang a CLI or a test run), but a starting one, one
    // with a batch in flight and a closing one do: whatever awaits them is
    // never cut short.
    const w = new Worker(WORKER_URL, { workerData: this.#init, execArgv });
    const started = new Promise<Worker>((resolve, reject) => {
      let ready = false;
      w.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true;
          w.unref();
          resolve(w);
          return;
        }
        const f = this.#inflight;
        if (!f || f.worker !== w || f.id !== m.id) return;
        this.#inflight = null;
        w.unref();
        if (m.type === 'failed') f.reject(fromWire(m.error));
        else f.resolve(m.outcomes.map((o) => (o.ok ? o : { ok: false, error: fromWire(o.error) })));
      });
      // 'error' is followed by 'exit'; only the first report counts, and only
      // for this worker (a replacement may already be running).
      let dead = false;
      const died = (why: string) => {
        if (dead) return;
        dead = true;
        if (this.#worker === started) this.#worker = null;
        const err = new StoreError('unavailable', `commit worker ${why}`);
        if (!ready) reject(err);
        const f = this.#inflight;
        if (f && f.worker === w) {
          this.#inflight = null;
          f.reject(err);
        }
      };
      w.on('error', (e) => died(`failed: ${e.message}`));
      w.on('exit', (code) => died(`exited (${code})`));
    });
    this.#worker = started;
    return started;
  }

  async run(jobs: WriteJob[], nowMs: number): Promise<Outcome<unknown>[]> {
    const w = await this.#ensure();
    if (this.#inflight) throw new Error('CommitWriter: one batch at a time');
    return new Promise((resolve, reject) => {
      const id = this.#nextId++;
      this.#inflight = { id, resolve, reject, worker: w };
      w.ref();
      w.postMessage({ type: 'batch', id, jobs, nowMs } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    const p = this.#worker;
    this.#worker = null;
    if (!p) return;
    const w = await p.catch(() => null);
    if (!w) return;
    const exited = new Promise((r) => w.once('exit', r));
    w.ref();
    w.postMessage({ type: 'close' } satisfies ToWorker);
    await exited;
  }
}
