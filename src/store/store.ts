// The Store interface: every read and write of accounts, domains, aliases,
// mailboxes and messages goes through it (DESIGN convention 10). Async so that
// the PostgreSQL backend (a later issue) fits without changing callers. Every
// implementation passes store/contract.ts.

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
  internalDate: Date;
  recipients: DeliveryRecipient[];
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

export interface Store {
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

  close(): Promise<void>;
}
