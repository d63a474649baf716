// The abuse-defence half of the Store interface: the state greylisting, rate
// limits and the spam filter keep (issue 8). It lives in the store, not in
// memory, so it survives restarts and can later be shared by several nodes.
// Every time is passed in by the caller (milliseconds since the epoch), so the
// policy code's injected clock decides, not the store's.
//
// Durability: this state is advisory (a lost greylist entry means one more
// 450, a lost counter a slightly higher limit), so a backend may commit it
// without waiting for an fsync; it must still be atomic per call.

/** A greylisting triplet (RFC 6647 §2.3: client network, sender, recipient). */
export interface GreylistKey {
  /** The client's network: IPv4 /24 or IPv6 /64, e.g. "192.0.2.0/24". */
  network: string;
  /** Envelope sender, canonical, '' for the null sender. */
  sender: string;
  /** Envelope recipient, canonical. */
  recipient: string;
}

export interface GreylistEntry extends GreylistKey {
  firstSeen: number;
  lastSeen: number;
  /** When a retry was first accepted; null while the triplet is still deferred. */
  passedAt: number | null;
  /** Attempts accepted after passing. */
  passes: number;
}

/** What the spam classifier learnt from one message, or unlearns. */
export type SpamLabel = 'spam' | 'ham';

export interface TokenCounts {
  spam: number;
  ham: number;
}

/** A per-user (or, with accountId 0, global) sender allow or block rule. */
export interface SenderRule {
  accountId: number;
  /** A canonical address `user@domain`, or `@domain` for a whole domain. */
  pattern: string;
  action: 'allow' | 'block';
}

/** Per-account overrides of [rate_limit]; null = the configured default. */
export interface RateOverride {
  messagesPerHour: number | null;
  recipientsPerDay: number | null;
}

export interface AbuseStore {
  // Greylisting
  getGreylist(key: GreylistKey): Promise<GreylistEntry | null>;
  /** Inserts or replaces the entry for its key. */
  putGreylist(entry: GreylistEntry): Promise<void>;
  /** Triplets of a network that passed and were seen at or after `sinceMs`
   * (for whitelisting clients that retry properly). */
  countGreylistPassed(network: string, sinceMs: number): Promise<number>;
  /** Drops entries last seen before `beforeMs`; returns how many. */
  purgeGreylist(beforeMs: number): Promise<number>;

  // Rate counters: fixed windows named by key and window start.
  /** Adds `by` to the counter and returns its new value; the counter may be
   * discarded after `expiresAtMs`. */
  addToCounter(key: string, windowStartMs: number, by: number, expiresAtMs: number): Promise<number>;
  getCounter(key: string, windowStartMs: number): Promise<number>;
  purgeCounters(beforeMs: number): Promise<number>;
  setRateOverride(accountId: number, o: RateOverride | null): Promise<void>;
  getRateOverride(accountId: number): Promise<RateOverride | null>;

  // Spam classifier (scope 0 = global, else an account id).
  /** Counts for the tokens that have any (absent tokens are left out). */
  getSpamTokens(scope: number, tokens: readonly string[]): Promise<Map<string, TokenCounts>>;
  /** Messages trained in the scope, per label. */
  getSpamTotals(scope: number): Promise<TokenCounts>;
  /** Learns a message (identified by `messageKey`, e.g. its blob id) as
   * spam or ham in one transaction. Learning the same message with the same
   * label again changes nothing; with the other label, the old lesson is
   * undone first. Returns false when nothing changed. */
  trainSpam(scope: number, messageKey: string, tokens: readonly string[], label: SpamLabel, atMs: number): Promise<boolean>;

  // Allow and block lists
  addSenderRule(rule: SenderRule): Promise<void>;
  removeSenderRule(accountId: number, pattern: string): Promise<boolean>;
  listSenderRules(accountId: number): Promise<SenderRule[]>;
}
