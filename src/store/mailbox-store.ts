// The mailbox half of the Store interface: what IMAP (RFC 9051, RFC 7162
// CONDSTORE/QRESYNC, RFC 4315 UIDPLUS, RFC 6851 MOVE) and POP3 need from
// storage. Every write is one durable transaction that allocates UIDs and
// mod-sequences inside it, so SMTP delivery, IMAP and POP3 sessions on the
// same account (and, with PostgreSQL, on different nodes) never race.
// After a write commits, the store tells watchers of that account (watch());
// a session then asks what changed since the mod-sequence it last saw
// (changesSince), so nothing depends on in-memory luck.

import type { Mailbox, SpecialUse, StoredMessage } from './store.ts';

/** A change to one mailbox of an account, announced after it is durable. */
export interface MailboxChange {
  accountId: number;
  mailboxId: number;
  /** The mailbox's highest mod-sequence after the change (0 for mailbox-list changes). */
  modseq: number;
  /** What happened: messages added, flags changed, messages expunged, or the
   * mailbox list itself changed (create, delete, rename, subscribe). */
  kind: 'append' | 'flags' | 'expunge' | 'mailboxes';
}

export type MailboxListener = (change: MailboxChange) => void;

/** STATUS data (RFC 9051 §6.3.11, RFC 8438 SIZE, RFC 7162 HIGHESTMODSEQ). */
export interface MailboxStatus {
  messages: number;
  unseen: number;
  deleted: number;
  /** Sum of RFC822.SIZE of the messages (RFC 8438). */
  size: number;
  uidNext: number;
  uidValidity: number;
  highestModseq: number;
}

export interface MailboxChanges {
  /** Messages added or whose flags changed with modseq > since, by UID. */
  changed: StoredMessage[];
  /** UIDs expunged with modseq > since, ascending (RFC 7162 §3.2.5.1 VANISHED). */
  expunged: number[];
  highestModseq: number;
}

export type FlagOperation = 'add' | 'remove' | 'replace';

export interface FlagUpdate {
  /** The messages whose flags changed (new flags and modseq). Messages whose
   * flags already were as asked are not in it and keep their modseq. */
  updated: StoredMessage[];
  /** RFC 7162 §3.1.3 UNCHANGEDSINCE: UIDs left alone because their modseq
   * was greater than the given value. */
  conflicts: number[];
}

export interface CopyResult {
  /** The destination's UIDVALIDITY (RFC 4315 COPYUID). */
  uidValidity: number;
  /** Source UID → new destination UID, in source UID order. */
  mapping: Array<{ sourceUid: number; destUid: number }>;
}

export interface AppendRequest {
  content: Buffer[];
  flags: string[];
  internalDate: Date;
  /** Parsed-message summary (see getMessageMeta). */
  meta?: string;
}

export interface AppendResult {
  mailboxId: number;
  uidValidity: number;
  uid: number;
  modseq: number;
}

/** Mailbox hierarchy separator (RFC 9051 §5.1.1). */
export const MAILBOX_SEPARATOR = '/';

export interface MailboxStore {
  // Mailbox list. Names are full paths with MAILBOX_SEPARATOR; `INBOX` is
  // case-insensitive (RFC 9051 §5.1) and stored as `INBOX`.
  /** StoreError('exists') if taken, 'not_found' for an unknown account.
   * Parents are not created implicitly (the IMAP layer creates them first). */
  createMailbox(accountId: number, name: string, opts?: { specialUse?: SpecialUse | null }): Promise<Mailbox>;
  /** Removes the mailbox and its messages (usage decreases). Children stay
   * (RFC 9051 §6.3.5). INBOX cannot be deleted: StoreError('invalid'). */
  deleteMailbox(accountId: number, name: string): Promise<void>;
  /** Renames a mailbox and its children (`from/…` → `to/…`), keeping UIDs and
   * UIDVALIDITY. Renaming INBOX moves its messages to a new mailbox `to` (with
   * its own UIDVALIDITY) and leaves INBOX empty (RFC 9051 §6.3.6); INBOX's
   * changesSince reports the moved UIDs as expunged. 'exists' / 'not_found';
   * 'invalid' for a rename into the mailbox's own subtree. */
  renameMailbox(accountId: number, from: string, to: string): Promise<void>;
  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void>;
  getMailboxById(mailboxId: number): Promise<Mailbox | null>;
  mailboxStatus(mailboxId: number): Promise<MailboxStatus>;

  // Messages
  /** One message into one existing mailbox; StoreError('not_found') if the
   * mailbox is gone. Durable when it resolves (APPEND's OK follows it). Quota
   * is the caller's to check. */
  append(mailboxId: number, req: AppendRequest): Promise<AppendResult>;
  /** The messages with the given UIDs (ascending; unknown UIDs skipped). */
  getMessages(mailboxId: number, uids: readonly number[]): Promise<StoredMessage[]>;
  changesSince(mailboxId: number, modseq: number): Promise<MailboxChanges>;
  /** Sets flags on the given UIDs; each changed message gets a new modseq. */
  updateFlags(
    mailboxId: number,
    uids: readonly number[],
    op: FlagOperation,
    flags: readonly string[],
    opts?: { unchangedSince?: number },
  ): Promise<FlagUpdate>;
  /** Removes messages and returns the UIDs removed (ascending). With
   * onlyDeleted, only those flagged \Deleted (EXPUNGE, UID EXPUNGE, CLOSE);
   * without it, the given UIDs regardless of flags (POP3 UPDATE state).
   * `uids` omitted = every message of the mailbox. Usage decreases;
   * the expunge is remembered for changesSince (VANISHED). */
  expunge(mailboxId: number, opts: { uids?: readonly number[]; onlyDeleted: boolean }): Promise<number[]>;
  /** Copies into another mailbox of the same account (same blob; usage grows). */
  copyMessages(sourceMailboxId: number, uids: readonly number[], destMailboxId: number): Promise<CopyResult>;
  /** Copy and expunge from the source in one transaction (RFC 6851). */
  moveMessages(sourceMailboxId: number, uids: readonly number[], destMailboxId: number): Promise<CopyResult>;

  /** Parsed-message data stored beside a blob (message/mime summary JSON
   * used by IMAP ENVELOPE/BODYSTRUCTURE/SEARCH), written at delivery or
   * APPEND; null for blobs stored before it existed. */
  getMessageMeta(blobIds: readonly string[]): Promise<Map<string, string>>;
  setMessageMeta(blobId: string, meta: string): Promise<void>;

  /** Calls `listener` after every durable change to a mailbox of the account
   * made through this store (and, for a shared database, by other nodes).
   * Returns the unsubscribe function. */
  watch(accountId: number, listener: MailboxListener): () => void;
}
