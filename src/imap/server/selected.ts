// The selected-mailbox state of one session (RFC 9051 §3.3): the message
// sequence number ↔ UID map as this session knows it (sequence numbers change
// only when this session is told of an expunge, RFC 9051 §7.5.1), the highest
// mod-sequence it has seen (RFC 7162), changes announced by the store but not
// yet reported (dirty), and expunges learned of but not yet allowed to be
// sent (never during FETCH, STORE or SEARCH). Flags are not cached: FETCH
// FLAGS asks the store for the rows, never the blobs.
//
// The UID map is kept as runs of consecutive UIDs, so a session idling on a
// mailbox of 10,000 messages with few gaps holds a few numbers, not 10,000
// (the bench's 1,000 idle connections must stay small).

/** Ascending UIDs as runs [start, end] with the sequence number of each run's start. */
export class UidMap {
  #starts: number[] = [];
  #ends: number[] = [];
  /** Sequence number (1-based) of #starts[i]. */
  #seqs: number[] = [];
  #length = 0;

  static from(sortedUids: Iterable<number>): UidMap {
    const m = new UidMap();
    for (const u of sortedUids) m.push(u);
    return m;
  }

  get length(): number {
    return this.#length;
  }

  get max(): number {
    return this.#ends.length > 0 ? this.#ends[this.#ends.length - 1]! : 0;
  }

  /** Appends a UID larger than every UID in the map. */
  push(uid: number): void {
    const last = this.#ends.length - 1;
    if (last >= 0 && uid <= this.#ends[last]!) throw new Error('UidMap.push: UIDs must ascend');
    if (last >= 0 && uid === this.#ends[last]! + 1) this.#ends[last] = uid;
    else {
      this.#starts.push(uid);
      this.#ends.push(uid);
      this.#seqs.push(this.#length + 1);
    }
    this.#length++;
  }

  /** The run holding uid, or -1 (binary search). */
  #runOf(uid: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (uid < this.#starts[mid]!) hi = mid - 1;
      else if (uid > this.#ends[mid]!) lo = mid + 1;
      else return mid;
    }
    return -1;
  }

  /** The sequence number of a UID, or 0 when it is not in the map. */
  seqOf(uid: number): number {
    const r = this.#runOf(uid);
    return r < 0 ? 0 : this.#seqs[r]! + (uid - this.#starts[r]!);
  }

  /** The UID at a sequence number (1…length). */
  uidAt(seq: number): number {
    let lo = 0;
    let hi = this.#seqs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.#seqs[mid]! <= seq) lo = mid;
      else hi = mid - 1;
    }
    return this.#starts[lo]! + (seq - this.#seqs[lo]!);
  }

  *[Symbol.iterator](): IterableIterator<number> {
    for (let r = 0; r < this.#starts.length; r++) for (let u = this.#starts[r]!; u <= this.#ends[r]!; u++) yield u;
  }

  toArray(): number[] {
    const out = new Array<number>(this.#length);
    let i = 0;
    for (let r = 0; r < this.#starts.length; r++) for (let u = this.#starts[r]!; u <= this.#ends[r]!; u++) out[i++] = u;
    return out;
  }

  /** The UIDs in [lo, hi], ascending. */
  between(lo: number, hi: number): number[] {
    const out: number[] = [];
    for (let r = 0; r < this.#starts.length; r++) {
      const a = Math.max(lo, this.#starts[r]!);
      const b = Math.min(hi, this.#ends[r]!);
      for (let u = a; u <= b; u++) out.push(u);
    }
    return out;
  }

  /** Removes UIDs; returns their sequence numbers, highest first (each EXPUNGE renumbers the rest). */
  remove(gone: ReadonlySet<number>): number[] {
    const seqs: number[] = [];
    const keep = new UidMap();
    let seq = 0;
    for (const u of this) {
      seq++;
      if (gone.has(u)) seqs.push(seq);
      else keep.push(u);
    }
    this.#starts = keep.#starts;
    this.#ends = keep.#ends;
    this.#seqs = keep.#seqs;
    this.#length = keep.#length;
    return seqs.reverse();
  }
}

// RFC 3501 §2.3.2 \Recent (IMAP4rev1 only; RFC 9051 dropped it): a message is
// recent for the first session that sees it in a read-write SELECT. The
// highest UID claimed so far per mailbox is kept in this process, per store
// (after a restart every message is recent once more, which the flag's
// vagueness allows).
const recentClaims = new WeakMap<object, Map<number, number>>();

function claimsOf(store: object): Map<number, number> {
  let m = recentClaims.get(store);
  if (!m) recentClaims.set(store, (m = new Map()));
  return m;
}

/** UIDs above the last claim up to maxUid, nobody's yet; with claim, they become this session's. */
export function claimRecent(store: object, mailboxId: number, maxUid: number, claim: boolean): [number, number] | null {
  const claims = claimsOf(store);
  const prev = claims.get(mailboxId) ?? 0;
  if (maxUid <= prev) return null;
  if (claim) claims.set(mailboxId, maxUid);
  return [prev + 1, maxUid];
}

/** The highest UID of a mailbox some session has claimed as recent. */
export function recentClaimed(store: object, mailboxId: number): number {
  return recentClaims.get(store)?.get(mailboxId) ?? 0;
}

export class SelectedMailbox {
  readonly mailboxId: number;
  readonly name: string;
  readonly readOnly: boolean;
  readonly uidValidity: number;
  readonly uids: UidMap;
  /** The highest mod-sequence whose changes this session has processed. */
  modseq: number;
  /** The store announced a change this session has not yet looked at. */
  dirty = false;
  /** UIDs known to be expunged, still holding their sequence numbers until an EXPUNGE may be sent. */
  readonly pendingExpunge = new Set<number>();
  /** uid → modseq of flag changes this session already reported itself (STORE), so they are not repeated. */
  readonly reported = new Map<number, number>();
  /** UID ranges that are \Recent for this session (RFC 3501 §2.3.2). */
  readonly recent: Array<[number, number]> = [];

  /** Whose \Recent claims apply (the store the mailbox lives in). */
  readonly scope: object;

  constructor(o: { mailboxId: number; name: string; readOnly: boolean; uidValidity: number; uids: Iterable<number>; modseq: number; scope?: object }) {
    this.scope = o.scope ?? recentClaims;
    this.mailboxId = o.mailboxId;
    this.name = o.name;
    this.readOnly = o.readOnly;
    this.uidValidity = o.uidValidity;
    this.uids = UidMap.from(o.uids);
    this.modseq = o.modseq;
  }

  get exists(): number {
    return this.uids.length;
  }

  get maxUid(): number {
    return this.uids.max;
  }

  seqOf(uid: number): number {
    return this.uids.seqOf(uid);
  }

  isRecent(uid: number): boolean {
    for (const [a, b] of this.recent) if (uid >= a && uid <= b) return true;
    return false;
  }

  /** How many messages in the map are \Recent for this session. */
  get recentCount(): number {
    let n = 0;
    for (const [a, b] of this.recent) n += this.uids.between(a, b).length;
    return n;
  }

  /** Takes the recent claim for UIDs up to maxUid (read-write) or notes the unclaimed ones (read-only). */
  noteRecent(maxUid: number): void {
    const r = claimRecent(this.scope, this.mailboxId, maxUid, !this.readOnly);
    if (r) this.recent.push(r);
  }

  /** Removes expunged UIDs; returns the sequence numbers to announce, highest first. */
  removeUids(gone: Iterable<number>): number[] {
    const set = gone instanceof Set ? (gone as Set<number>) : new Set(gone);
    const seqs = this.uids.remove(set);
    for (const u of set) this.pendingExpunge.delete(u);
    return seqs;
  }
}
