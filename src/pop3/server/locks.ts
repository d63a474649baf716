// The in-process maildrop lock (RFC 1939 §8: the server acquires an exclusive
// lock on the maildrop when a session enters the TRANSACTION state). One
// Map entry per locked mailbox; enough for a single node on SQLite.
import type { MaildropLocks } from './ports.ts';

export class InProcessMaildropLocks implements MaildropLocks {
  readonly #held = new Map<number, string>();

  async acquire(mailboxId: number, owner: string): Promise<boolean> {
    const cur = this.#held.get(mailboxId);
    if (cur !== undefined && cur !== owner) return false;
    this.#held.set(mailboxId, owner);
    return true;
  }

  async release(mailboxId: number, owner: string): Promise<void> {
    if (this.#held.get(mailboxId) === owner) this.#held.delete(mailboxId);
  }

  /** Locks held now (tests, metrics). */
  get size(): number {
    return this.#held.size;
  }
}
