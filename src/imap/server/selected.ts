// The selected-mailbox state of one session (RFC 9051 §3.3): the message
// sequence number ↔ UID map as this session knows it (sequence numbers change
// only when this session is told of an expunge, RFC 9051 §7.5.1), the highest
// mod-sequence it has seen (RFC 7162), changes announced by the store but not
// yet reported (dirty), and expunges learned of but not yet allowed to be
// sent (never during FETCH, STORE or SEARCH). Flags are not cached: FETCH
// FLAGS asks the store for the rows, never the blobs.

export class SelectedMailbox {
  readonly mailboxId: number;
  readonly name: string;
  readonly readOnly: boolean;
  readonly uidValidity: number;
  /** uids[seq - 1] = UID; ascending. */
  uids: number[];
  /** The highest mod-sequence whose changes this session has processed. */
  modseq: number;
  /** The store announced a change this session has not yet looked at. */
  dirty = false;
  /** UIDs known to be expunged, still holding their sequence numbers until an EXPUNGE may be sent. */
  readonly pendingExpunge = new Set<number>();
  /** uid → modseq of flag changes this session already reported itself (STORE), so they are not repeated. */
  readonly reported = new Map<number, number>();

  constructor(o: { mailboxId: number; name: string; readOnly: boolean; uidValidity: number; uids: number[]; modseq: number }) {
    this.mailboxId = o.mailboxId;
    this.name = o.name;
    this.readOnly = o.readOnly;
    this.uidValidity = o.uidValidity;
    this.uids = o.uids;
    this.modseq = o.modseq;
  }

  get exists(): number {
    return this.uids.length;
  }

  get maxUid(): number {
    return this.uids.length > 0 ? this.uids[this.uids.length - 1]! : 0;
  }

  /** The sequence number of a UID, or 0 when it is not in the map (binary search). */
  seqOf(uid: number): number {
    let lo = 0;
    let hi = this.uids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.uids[mid]!;
      if (v === uid) return mid + 1;
      if (v < uid) lo = mid + 1;
      else hi = mid - 1;
    }
    return 0;
  }

  /** Removes expunged UIDs; returns the sequence numbers to announce, in the
   * order RFC 9051 §7.5.1 requires (each EXPUNGE renumbers the rest, so
   * highest first keeps the numbers valid). */
  removeUids(gone: Iterable<number>): number[] {
    const set = gone instanceof Set ? gone : new Set(gone);
    const seqs: number[] = [];
    const keep: number[] = [];
    for (let i = 0; i < this.uids.length; i++) {
      const u = this.uids[i]!;
      if (set.has(u)) seqs.push(i + 1);
      else keep.push(u);
    }
    this.uids = keep;
    for (const u of set) this.pendingExpunge.delete(u);
    return seqs.reverse();
  }
}
