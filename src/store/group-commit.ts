// Group commit: concurrent callers submit work; one committer takes everything
// pending and runs it as ONE durable transaction, then settles every caller.
// A durable commit costs a WAL fsync (~0.14 ms here) whatever its size, so
// batching is where delivery throughput comes from. While a batch runs, new
// submissions accumulate for the next one; a batch is started with
// setImmediate so that work arriving in the same event-loop turn (other SMTP
// sessions finishing DATA) joins it.

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Runs one batch; returns an outcome per request, in order. Throwing fails
 * the whole batch (e.g. COMMIT failed: nothing of it is durable). */
export type BatchRunner<Req, Res> = (batch: Req[]) => Outcome<Res>[] | Promise<Outcome<Res>[]>;

interface Pending<Req, Res> {
  req: Req;
  resolve: (v: Res) => void;
  reject: (e: unknown) => void;
}

export class GroupCommitter<Req, Res> {
  readonly #run: BatchRunner<Req, Res>;
  readonly #maxBatch: number;
  #pending: Pending<Req, Res>[] = [];
  #scheduled = false;
  #running = false;
  #idleWaiters: Array<() => void> = [];
  /** Counters for benchmarks and metrics. */
  batches = 0;
  items = 0;

  constructor(run: BatchRunner<Req, Res>, opts: { maxBatch?: number } = {}) {
    this.#run = run;
    // Bounds one transaction's duration and memory; the rest waits its turn.
    this.#maxBatch = opts.maxBatch ?? 1000;
  }

  submit(req: Req): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      this.#pending.push({ req, resolve, reject });
      this.#kick();
    });
  }

  /** Resolves once nothing is pending or running. */
  drain(): Promise<void> {
    if (!this.#running && !this.#scheduled && this.#pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #kick(): void {
    if (this.#running || this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => void this.#flush());
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    const batch = this.#pending.splice(0, this.#maxBatch);
    if (batch.length > 0) {
      this.#running = true;
      try {
        const outcomes = await this.#run(batch.map((p) => p.req));
        this.batches++;
        this.items += batch.length;
        batch.forEach((p, i) => {
          const o = outcomes[i];
          if (!o) p.reject(new Error('group commit: no outcome for request'));
          else if (o.ok) p.resolve(o.value);
          else p.reject(o.error);
        });
      } catch (err) {
        for (const p of batch) p.reject(err);
      } finally {
        this.#running = false;
      }
    }
    if (this.#pending.length > 0) this.#kick();
    else {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
