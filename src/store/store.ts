// The Store interface: every read and write of accounts, domains, aliases,
// mailboxes and messages goes through it (DESIGN convention 10). The
// mailbox operations IMAP and POP3 use are in mailbox-store.ts. Async so that
// the PostgreSQL backend (a later issue) fits without changing callers. Every
// implementation passes store/contract.ts.

import type { MailboxStore } from './mailbox-store.ts';
import type { DkimKeyStore } from './dkim-keys.ts';
import type { AbuseStore } from './abuse-store.ts';

export interface Domain {
  name: string; // lower-case ASCII (IDNs as A-labels)
  createdAt: Date;
}

export interface Account {
  id: number;
  /** Canonical address: local part and domain lower-cased. */
  address: string;
  /** PHC string from auth/password.ts (argon2id). */
  passwordHash: string;
  /** SCRAM-SHA-256 keys (auth/sasl/scram-keys.ts format), or null: the
   * account was created before SCRAM existed and cannot use it until its
   * password is set again. Always present from the SQLite store. */
  scram?: string | null;
  /** Bytes; 0 = unlimited. */
  quotaBytes: number;
  /** Bytes of messages currently stored in this account's mailboxes. */
  usedBytes: number;
  createdAt: Date;
}

export interface Alias {
  /** `local@domain`, or `@domain` for a catch-all. Lower-case. */
  source: string;
  /** Addresses the alias expands to (local or remote), lower-case. */
  targets: string[];
}

/** RFC 6154 special-use attributes of the mailboxes every account starts with. */
export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Junk' | '\\Trash' | '\\Archive';

export const DEFAULT_MAILBOXES: ReadonlyArray<{ name: string; specialUse: SpecialUse | null }> = [
  { name: 'INBOX', specialUse: null },
  { name: 'Sent', specialUse: '\\Sent' },
  { name: 'Drafts', specialUse: '\\Drafts' },
  { name: 'Junk', specialUse: '\\Junk' },
  { name: 'Trash', specialUse: '\\Trash' },
  { name: 'Archive', specialUse: '\\Archive' },
];

export interface Mailbox {
  id: number;
  accountId: number;
  name: string;
  specialUse: SpecialUse | null;
  subscribed: boolean;
  /** RFC 9051 §2.3.1.1: changes only if UIDs are reused (never, in practice). */
  uidValidity: number;
  uidNext: number;
  /** RFC 7162: bumped on every change in the mailbox. */
  highestModseq: number;
  messageCount: number;
}

export interface StoredMessage {
  id: number;
  mailboxId: number;
  uid: number;
  modseq: number;
  flags: string[];
  internalDate: Date;
  size: number;
  /** Opaque reference to the stored bytes, shared by every copy. */
  blobId: string;
}

export interface DeliveryRecipient {
  accountId: number;
  /** Mailbox name; default INBOX. A missing mailbox falls back to INBOX. */
  mailbox?: string;
  flags?: string[];
}

export interface DeliveryRequest {
  /** The message as stored (CRLF line ends, trace headers first), in pieces
   * to avoid copying; stored once however many recipients. */
  content: Buffer[];
  /** Arrival time; also the queue entry's createdAt (message expiry counts from it). */
  internalDate: Date;
  /** Local copies. May be empty when `outbound` has recipients. */
  recipients: DeliveryRecipient[];
  /** Parsed-message summary for IMAP (see MailboxStore.getMessageMeta). */
  meta?: string;
  /** Remote recipients: queued in the same transaction as the local copies,
   * sharing the one blob, so the whole message is stored or nothing is. */
  outbound?: OutboundRequest;
}

// The durable outbound queue (RFC 5321 §4.5.4 retry strategy lives in
// queue/; the store keeps the state). One queued message per SMTP
// transaction, one row per remote recipient with its own state, attempts and
// next attempt time. A delivery attempt leases recipients (claimDue) and
// reports back (recordOutcomes); a lease held by a process that died expires.

export type QueueRecipientState = 'pending' | 'delivered' | 'failed';
/** RFC 3461 §4.1 NOTIFY values. NEVER stands alone. */
export type DsnNotify = 'SUCCESS' | 'FAILURE' | 'DELAY' | 'NEVER';

export interface OutboundRecipientRequest {
  /** As the client gave it (the local part's case is kept: RFC 5321 §2.4). */
  address: string;
  notify?: DsnNotify[] | null;
  /** RFC 3461 §4.2 ORCPT, as received (`addr-type;xtext`). */
  orcpt?: string | null;
}

export interface OutboundRequest {
  /** The SMTP queue id (unique; reuse the one from the session). */
  queueId: string;
  /** Envelope sender, '' for <>. Kept as given. */
  sender: string;
  recipients: OutboundRecipientRequest[];
  /** RFC 3461 §4.4 ENVID and §4.3 RET. */
  envid?: string | null;
  ret?: 'FULL' | 'HDRS' | null;
  smtputf8: boolean;
  eightBit: boolean;
  /** First attempt time (normally now). */
  notBefore: Date;
}

export interface QueueRecipient {
  id: number;
  queueId: string;
  address: string;
  /** Lower-case, A-label, from the address (for grouping by destination);
   * an address literal keeps its brackets (`[192.0.2.1]`). */
  domain: string;
  state: QueueRecipientState;
  attempts: number;
  nextAttemptAt: Date;
  lastAttemptAt: Date | null;
  /** Verbatim reply text (multi-line joined with \n) or error text. */
  lastReply: string | null;
  /** Enhanced status code, e.g. "5.1.1". */
  lastStatus: string | null;
  /** MX host / IP tried last. */
  lastHost: string | null;
  notify: DsnNotify[] | null;
  orcpt: string | null;
  delayWarned: boolean;
}

export interface QueuedMessage {
  queueId: string;
  blobId: string;
  size: number;
  sender: string;
  createdAt: Date;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  smtputf8: boolean;
  eightBit: boolean;
  /** In insertion order. */
  recipients: QueueRecipient[];
}

/** A batch leased to one delivery attempt: one message, recipients of one destination domain. */
export interface QueueClaim {
  /** recipients = only the claimed ones. */
  message: QueuedMessage;
  domain: string;
}

export interface AttemptOutcome {
  recipientId: number;
  result: 'delivered' | 'failed' | 'deferred';
  reply: string | null;
  status: string | null;
  host: string | null;
  at: Date;
  /** Required for 'deferred'. */
  nextAttemptAt?: Date;
}

export interface ClaimOptions {
  now: Date;
  /** Most recipients leased by this call. */
  limit: number;
  /** The lease lasts until now + leaseMs; then another owner may claim. */
  leaseMs: number;
  /** Who holds the lease (a node/process id, unique per running scheduler). */
  owner: string;
  /** Only this destination domain (connection reuse). */
  domain?: string;
}

export interface DeliveredCopy {
  accountId: number;
  mailboxId: number;
  uid: number;
  messageId: number;
}

/** A per-device password of an account, revocable on its own. */
export interface AppPasswordInfo {
  id: number;
  /** Unique per account: letters, digits and `._@+-`, 1–64 characters. */
  name: string;
  createdAt: Date;
}

export interface AppPassword extends AppPasswordInfo {
  /** argon2id PHC string, as Account.passwordHash. */
  passwordHash: string;
  /** SCRAM-SHA-256 keys, as Account.scram. */
  scram: string | null;
}

export class StoreError extends Error {
  readonly code: 'not_found' | 'exists' | 'invalid' | 'disk_full' | 'unavailable';
  constructor(code: StoreError['code'], message: string) {
    super(message);
    this.name = 'StoreError';
    this.code = code;
  }
}

export interface Store extends MailboxStore, DkimKeyStore, AbuseStore {
  // Domains
  addDomain(name: string): Promise<Domain>; // StoreError('exists')
  removeDomain(name: string): Promise<void>; // StoreError('not_found'); also removes its accounts and aliases
  listDomains(): Promise<Domain[]>;
  hasDomain(name: string): Promise<boolean>;

  // Accounts (the domain must exist: StoreError('not_found'))
  addAccount(a: { address: string; passwordHash: string; quotaBytes: number; scram?: string | null }): Promise<Account>; // creates DEFAULT_MAILBOXES
  getAccount(address: string): Promise<Account | null>;
  getAccountById(id: number): Promise<Account | null>;
  listAccounts(domain?: string): Promise<Account[]>;
  removeAccount(address: string): Promise<void>;
  /** Replaces the password; the SCRAM keys are replaced too (cleared when `scram` is omitted,
   * since keys of the old password must not keep working). */
  setPassword(address: string, passwordHash: string, scram?: string | null): Promise<void>;
  setQuota(address: string, quotaBytes: number): Promise<void>;

  // App passwords (unknown account: StoreError('not_found'))
  addAppPassword(accountId: number, name: string, passwordHash: string, scram: string | null): Promise<AppPasswordInfo>; // 'exists' for a taken name
  /** Oldest first, with their hashes (the authenticator checks each). */
  listAppPasswords(accountId: number): Promise<AppPassword[]>;
  removeAppPassword(accountId: number, name: string): Promise<void>; // 'not_found'

  // Sender grants: envelope senders an account may use besides its own
  // address (`local@domain`, or `@domain` for every address of a domain).
  addSenderGrant(accountId: number, address: string): Promise<void>; // 'exists', 'not_found' (account)
  removeSenderGrant(accountId: number, address: string): Promise<void>; // 'not_found'
  /** Canonical (lower-case) addresses and `@domain`s, sorted. */
  listSenderGrants(accountId: number): Promise<string[]>;

  // Aliases (the source's domain must exist)
  addAlias(source: string, targets: string[]): Promise<Alias>; // adds targets to an existing alias
  removeAlias(source: string, targets?: string[]): Promise<void>; // no targets: the whole alias
  getAlias(source: string): Promise<Alias | null>;
  listAliases(domain?: string): Promise<Alias[]>;

  // Mailboxes and messages
  listMailboxes(accountId: number): Promise<Mailbox[]>;
  getMailbox(accountId: number, name: string): Promise<Mailbox | null>;
  listMessages(mailboxId: number): Promise<StoredMessage[]>;
  readBlob(blobId: string): Promise<Buffer>;

  /** Stores the bytes once and adds a message row per recipient, updating
   * uidNext, highestModseq and quota usage, in one transaction. Resolves only
   * once everything is durable (fsync); may batch concurrent deliveries into
   * one commit (group commit). Quota is not enforced here: the caller checks
   * usage beforehand. Throws StoreError('disk_full') on ENOSPC. */
  deliver(req: DeliveryRequest): Promise<DeliveredCopy[]>;

  // Outbound queue. Every write is durable before its promise resolves.
  /** Atomically leases up to `limit` recipients that are pending, due
   * (nextAttemptAt ≤ now) and not leased (or whose lease expired), oldest
   * due first, grouped into one claim per (message, domain). */
  claimDue(opts: ClaimOptions): Promise<QueueClaim[]>;
  /** Applies outcomes whose recipient is pending and leased by `owner`
   * (attempts + 1, last*, state, nextAttemptAt for 'deferred'; the lease is
   * cleared); the others (lease lost, deleted, bounced meanwhile) are left
   * alone and reported as stale. One transaction. */
  recordOutcomes(owner: string, outcomes: AttemptOutcome[]): Promise<{ applied: number[]; stale: number[] }>;
  /** Drops every lease `owner` holds (graceful shutdown). */
  releaseLeases(owner: string): Promise<void>;
  markDelayWarned(recipientIds: number[]): Promise<void>;
  /** The earliest time a pending recipient becomes claimable: its
   * nextAttemptAt, or for a leased one the later of that and the lease's
   * expiry. Null when nothing is pending. */
  nextQueueWakeup(): Promise<Date | null>;
  /** Messages with pending recipients (all: also finished ones not yet
   * purged), oldest first, each with all its recipients. */
  listQueue(opts?: { all?: boolean }): Promise<QueuedMessage[]>;
  /** Any state, including finished messages not yet purged. */
  getQueued(queueId: string): Promise<QueuedMessage | null>;
  /** Sets nextAttemptAt = now for pending recipients of one message (null:
   * every message); returns how many recipients. */
  retryQueued(queueId: string | null, now: Date): Promise<number>;
  /** Removes the message and its recipients; false if there was none. */
  deleteQueued(queueId: string): Promise<boolean>;
  /** Marks every pending recipient failed (lease dropped, attempts unchanged)
   * and returns them, for `queue bounce`. StoreError('not_found') for an
   * unknown queue id; [] if nothing was pending. */
  failQueued(queueId: string, reply: string, status: string, at: Date): Promise<QueueRecipient[]>;
  /** Removes finished messages (no pending recipient) that finished before
   * `before`; returns how many. Their blobs stay for the collector. */
  purgeQueue(before: Date): Promise<number>;

  close(): Promise<void>;
}
