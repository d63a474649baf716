// POP3 maildrop locks (RFC 1939 §8: one session per maildrop in the
// TRANSACTION state) shared by every node through PostgreSQL, so two POP3
// sessions for one account on two nodes are kept apart as on one node. A
// lock is a pop3_locks row with its holder and an expiry; the holding node
// renews its rows every `leaseMs / 3`, so the lock of a node that died (and
// could not release it) runs out after at most `leaseMs`. Structural: it has
// pop3/server/ports.ts MaildropLocks' shape without importing pop3/.

import type { Pool } from 'pg';
import { randomBytes } from 'node:crypto';

export class PgMaildropLocks {
  readonly #pool: Pool;
  readonly #leaseMs: number;
  readonly #now: () => number;
  /** This node's prefix for owners, so equal session ids on two nodes differ. */
  readonly #node = randomBytes(6).toString('hex');
  readonly #held = new Map<number, string>();
  #timer: NodeJS.Timeout | null = null;
  readonly #onError: (err: unknown) => void;

  constructor(pool: Pool, opts: { leaseMs?: number; now?: () => number; onError?: (err: unknown) => void } = {}) {
    this.#pool = pool;
    this.#leaseMs = opts.leaseMs ?? 120_000;
    this.#now = opts.now ?? Date.now;
    this.#onError = opts.onError ?? (() => {});
  }

  async acquire(mailboxId: number, owner: string): Promise<boolean> {
    const who = `${this.#node}:${owner}`;
    const now = this.#now();
    // Insert, or take over a row whose holder let it expire (or is us).
    const r = await this.#pool.query(
      `INSERT INTO pop3_locks (mailbox_id, owner, until) VALUES ($1, $2, $3)
       ON CONFLICT (mailbox_id) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
       WHERE pop3_locks.until <= $4 OR pop3_locks.owner = EXCLUDED.owner
       RETURNING mailbox_id`,
      [mailboxId, who, now + this.#leaseMs, now],
    );
    if (r.rowCount === 0) return false;
    this.#held.set(mailboxId, who);
    this.#renewSoon();
    return true;
  }

  async release(mailboxId: number, owner: string): Promise<void> {
    const who = `${this.#node}:${owner}`;
    if (this.#held.get(mailboxId) === who) this.#held.delete(mailboxId);
    await this.#pool.query('DELETE FROM pop3_locks WHERE mailbox_id = $1 AND owner = $2', [mailboxId, who]);
    if (this.#held.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = null;
    }
  }

  #renewSoon(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#held.size === 0) return;
      const ids = [...this.#held.keys()];
      const owners = ids.map((id) => this.#held.get(id)!);
      this.#pool
        .query(
          `UPDATE pop3_locks l SET until = $3 FROM unnest($1::bigint[], $2::text[]) AS h(id, owner)
           WHERE l.mailbox_id = h.id AND l.owner = h.owner`,
          [ids, owners, this.#now() + this.#leaseMs],
        )
        .catch(this.#onError);
    }, Math.max(1000, Math.floor(this.#leaseMs / 3)));
    this.#timer.unref();
  }

  /** Stops renewing (at shutdown; the sessions release their locks first). */
  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** Locks this node holds (tests, metrics). */
  get size(): number {
    return this.#held.size;
  }
}
