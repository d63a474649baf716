// The embedded Store: SQLite (node:sqlite, WAL, synchronous=FULL) for rows,
// plus content-addressed blobs — inline in the database up to a threshold,
// files under <dataDir>/blobs above it. deliver() and the outbound queue's
// writes go through a group committer so that many concurrent deliveries and
// delivery attempts share one durable commit, run by a worker thread on its
// own connection (commit-worker.ts) so the fsync never blocks the sessions;
// everything else runs on the main connection.
// The database may be opened by several processes at once (the CLI beside a
// running server): every write is a short BEGIN IMMEDIATE transaction and
// waits on the busy timeout rather than failing.

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { DatabaseSync } from 'node:sqlite';
import {
  DEFAULT_MAILBOXES,
  StoreError,
  type Account,
  type Alias,
  type AppPassword,
  type AppPasswordInfo,
  type AttemptOutcome,
  type ClaimOptions,
  type DeliveredCopy,
  type DeliveryRequest,
  type Domain,
  type Mailbox,
  type QueueClaim,
  type QueuedMessage,
  type QueueRecipient,
  type Store,
  type StoredMessage,
  type SpecialUse,
} from '../store.ts';
import type {
  AppendRequest,
  AppendResult,
  CopyResult,
  FlagOperation,
  FlagUpdate,
  MailboxChange,
  MailboxChanges,
  MailboxListener,
  MailboxStatus,
} from '../mailbox-store.ts';
import {
  normalizeFlags,
  requireFlagOperation,
  requireId,
  requireMailboxName,
  requireUids,
} from '../mailbox-input.ts';
import type { Announced } from './mailbox-jobs.ts';
import {
  normalizeClaim,
  normalizeOutbound,
  normalizeOutcomes,
  requireIds,
  requireOwner,
  requireQueueId,
  requireReason,
  requireTime,
} from '../queue-input.ts';
import { domainOf, parseAddress, requireAddress, requireAliasSource, requireDomain, requireFlag } from '../names.ts';
import { isConstraintError, toStoreError } from '../errors.ts';
import { FileBlobs, fsyncDir } from '../blobs/file-blobs.ts';
import { applyMigrations } from './migrations.ts';
import { GroupCommitter, type Outcome } from '../group-commit.ts';
import type { WriteJob } from './write-batch.ts';
import * as queue from './queue.ts';
import { openConnection } from './connection.ts';
import { CommitWriter, InlineWriter, type BatchWriter } from './writer.ts';
import { prepareStatements, type Statements } from './statements.ts';
import {
  groupAliases,
  mailboxName,
  toAccount,
  toDomain,
  toMailbox,
  toMessage,
  type AccountRow,
  type MailboxRow,
  type MessageRow,
} from './rows.ts';
import { withReadTransaction, withTransaction } from './tx.ts';
import * as creds from './credentials.ts';
import { SqliteAbuseStore } from './abuse-sqlite.ts';
import type { GreylistEntry, GreylistKey, RateOverride, SenderRule, SpamLabel, TokenCounts } from '../abuse-store.ts';
import * as dkim from './dkim-keys.ts';
import type { DkimKey, DkimScheduleChange, DkimSupersede, NewDkimKey } from '../dkim-keys.ts';

export interface SqliteStoreOptions {
  dataDir: string;
  now?: () => Date;
  /** Messages up to this size (bytes) are stored inline in the database, in
   * the delivery's own transaction; larger ones as files. Default 256 KiB. */
  inlineMaxBytes?: number;
  /** How long a write waits for another process's lock. Default 10 s. */
  busyTimeoutMs?: number;
  /** Most deliveries committed in one transaction. Default 1000. */
  maxBatch?: number;
  /** Where delivery batches commit: a worker thread with its own connection
   * (default; the fsync does not block the event loop) or this thread. */
  commitIn?: 'worker' | 'main';
}

export const DEFAULT_INLINE_MAX_BYTES = 256 * 1024;
const BLOB_ID = /^[0-9a-f]{64}$/;

export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqliteStore> {
  const now = opts.now ?? (() => new Date());
  const dbPath = join(opts.dataDir, 'mailroom.db');
  const busyTimeoutMs = opts.busyTimeoutMs ?? 10_000;
  let db: DatabaseSync | undefined;
  let writer: BatchWriter | undefined;
  try {
    await mkdir(opts.dataDir, { recursive: true });
    const files = await FileBlobs.open(join(opts.dataDir, 'blobs'), { now });
    db = openConnection(dbPath, busyTimeoutMs);
    applyMigrations(db);
    // The database and WAL files may have just been created: make their
    // directory entries durable before the first acknowledgement.
    await fsyncDir(opts.dataDir);
    // Started at the first delivery: a CLI that only edits accounts never pays for a thread.
    writer = opts.commitIn === 'main' ? new InlineWriter(db) : new CommitWriter({ dbPath, busyTimeoutMs });
    return new SqliteStore(db, files, writer, { ...opts, now });
  } catch (err) {
    await writer?.close();
    db?.close();
    throw toStoreError(err, `opening store in ${opts.dataDir}`);
  }
}

const SPECIAL_USES: ReadonlySet<string> = new Set(['\\Sent', '\\Drafts', '\\Junk', '\\Trash', '\\Archive']);

function requireSpecialUse(u: unknown): SpecialUse | null {
  if (u === null) return null;
  if (typeof u !== 'string' || !SPECIAL_USES.has(u)) throw new StoreError('invalid', `invalid special use: ${JSON.stringify(u)}`);
  return u as SpecialUse;
}

function requireCount(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
    throw new StoreError('invalid', `${what} must be a non-negative integer`);
  }
  return n;
}

/** sha256 of the pieces, yielding to the event loop every few MiB so a large
 * message does not stall other sessions. */
async function sha256(pieces: readonly Buffer[]): Promise<string> {
  const h = createHash('sha256');
  let since = 0;
  for (const p of pieces) {
    h.update(p);
    since += p.length;
    if (since >= 4 << 20) {
      since = 0;
      await new Promise((r) => setImmediate(r));
    }
  }
  return h.digest('hex');
}

export class SqliteStore implements Store {
  readonly dataDir: string;
  readonly inlineMaxBytes: number;
  readonly #db: DatabaseSync;
  readonly #st: Statements;
  readonly #files: FileBlobs;
  readonly #writer: BatchWriter;
  readonly #now: () => Date;
  readonly #committer: GroupCommitter<WriteJob, unknown>;
  readonly #creds: creds.CredentialsDb;
  /** Greylist, rate counters, spam tokens, sender lists (abuse-sqlite.ts): own connection, synchronous=NORMAL. */
  readonly #abuse: SqliteAbuseStore;
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #watchers = new Map<number, Set<MailboxListener>>();
  #closed = false;

  constructor(db: DatabaseSync, files: FileBlobs, writer: BatchWriter, opts: SqliteStoreOptions & { now: () => Date }) {
    this.dataDir = opts.dataDir;
    this.inlineMaxBytes = opts.inlineMaxBytes ?? DEFAULT_INLINE_MAX_BYTES;
    this.#db = db;
    this.#files = files;
    this.#now = opts.now;
    this.#writer = writer;
    this.#st = prepareStatements(db);
    this.#creds = { db, st: this.#st, nowMs: () => this.#nowMs() };
    this.#abuse = new SqliteAbuseStore(() => openConnection(join(opts.dataDir, 'mailroom.db'), opts.busyTimeoutMs ?? 10_000));
    // One batch at a time goes to the worker; the next one gathers meanwhile.
    this.#committer = new GroupCommitter(
      (jobs): Promise<Outcome<unknown>[]> => writer.run(jobs, this.#nowMs()),
      { maxBatch: opts.maxBatch },
    );
  }

  /** Batches and jobs committed so far (for benchmarks and metrics);
   * `deliveries` counts every group-committed write, queue writes included. */
  get commitStats(): { batches: number; deliveries: number } {
    return { batches: this.#committer.batches, deliveries: this.#committer.items };
  }

  /** Runs a synchronous database operation as a Store call: refuses after
   * close and maps unexpected errors to StoreError. */
  #op<T>(what: string, fn: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'store is closed'));
    try {
      return Promise.resolve(fn());
    } catch (err) {
      return Promise.reject(toStoreError(err, what));
    }
  }

  /** A group-committed write: durable when it resolves. */
  #write<T>(what: string, job: () => WriteJob): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'store is closed'));
    let j: WriteJob;
    try {
      j = job();
    } catch (err) {
      return Promise.reject(toStoreError(err, what));
    }
    return this.#committer.submit(j) as Promise<T>;
  }

  #nowMs(): number {
    return this.#now().getTime();
  }

  #domainId(name: string): number {
    const row = this.#st.domainId.get(name) as { id: number } | undefined;
    if (!row) throw new StoreError('not_found', `no such domain: ${name}`);
    return row.id;
  }

  /** UIDVALIDITY (RFC 9051 §2.3.1.1) from the clock in seconds, but always
   * above every value handed out before (kept in `counters`, so deleting and
   * re-creating a mailbox still gets a larger one). Call inside a transaction. */
  #allocUidValidity(count: number): number {
    const last = (this.#st.getCounter.get('uid_validity') as { value: number } | undefined)?.value ?? 0;
    const first = Math.max(Math.floor(this.#nowMs() / 1000), last + 1);
    if (first + count - 1 > 0xffffffff) throw new StoreError('unavailable', 'UIDVALIDITY space exhausted');
    this.#st.setCounter.run('uid_validity', first + count - 1);
    return first;
  }

  // Domains

  addDomain(name: string): Promise<Domain> {
    return this.#op('adding domain', () => {
      const d = requireDomain(name);
      const at = this.#nowMs();
      try {
        this.#st.insertDomain.run(d, at);
      } catch (err) {
        if (isConstraintError(err)) throw new StoreError('exists', `domain exists: ${d}`);
        throw err;
      }
      return { name: d, createdAt: new Date(at) };
    });
  }

  removeDomain(name: string): Promise<void> {
    return this.#op('removing domain', () => {
      const d = requireDomain(name);
      // ON DELETE CASCADE removes its accounts (→ mailboxes → messages) and
      // aliases; the blobs stay for the collector.
      const res = withTransaction(this.#db, () => this.#st.deleteDomain.run(d));
      if (res.changes === 0) throw new StoreError('not_found', `no such domain: ${d}`);
    });
  }

  listDomains(): Promise<Domain[]> {
    return this.#op('listing domains', () =>
      (this.#st.listDomains.all() as Array<{ name: string; created_at: number }>).map(toDomain),
    );
  }

  hasDomain(name: string): Promise<boolean> {
    return this.#op('looking up domain', () => {
      const d = requireDomain(name);
      return this.#st.domainId.get(d) !== undefined;
    });
  }

  // Accounts

  addAccount(a: { address: string; passwordHash: string; quotaBytes: number; scram?: string | null }): Promise<Account> {
    return this.#op('adding account', () => {
      const address = requireAddress(a.address);
      if (typeof a.passwordHash !== 'string') throw new StoreError('invalid', 'passwordHash must be a string');
      const scram = creds.requireScram(a.scram);
      const quota = requireCount(a.quotaBytes, 'quotaBytes');
      return withTransaction(this.#db, () => {
        const domainId = this.#domainId(domainOf(address));
        let row: AccountRow;
        try {
          row = this.#st.insertAccount.get(domainId, address, a.passwordHash, scram, quota, this.#nowMs()) as unknown as AccountRow;
        } catch (err) {
          if (isConstraintError(err)) throw new StoreError('exists', `account exists: ${address}`);
          throw err;
        }
        const uv = this.#allocUidValidity(DEFAULT_MAILBOXES.length);
        DEFAULT_MAILBOXES.forEach((m, i) => this.#st.insertMailbox.run(row.id, m.name, m.specialUse, uv + i));
        return toAccount(row);
      });
    });
  }

  getAccount(address: string): Promise<Account | null> {
    return this.#op('looking up account', () => {
      const a = parseAddress(address);
      const row = a === null ? undefined : (this.#st.accountByAddress.get(a) as AccountRow | undefined);
      return row ? toAccount(row) : null;
    });
  }

  getAccountById(id: number): Promise<Account | null> {
    return this.#op('looking up account', () => {
      const row = this.#st.accountById.get(id) as AccountRow | undefined;
      return row ? toAccount(row) : null;
    });
  }

  listAccounts(domain?: string): Promise<Account[]> {
    return this.#op('listing accounts', () => {
      const rows =
        domain === undefined ? this.#st.listAccounts.all() : this.#st.listAccountsOfDomain.all(requireDomain(domain));
      return (rows as unknown as AccountRow[]).map(toAccount);
    });
  }

  removeAccount(address: string): Promise<void> {
    return this.#op('removing account', () => {
      const a = requireAddress(address);
      const res = withTransaction(this.#db, () => this.#st.deleteAccount.run(a));
      if (res.changes === 0) throw new StoreError('not_found', `no such account: ${a}`);
    });
  }

  setPassword(address: string, passwordHash: string, scram?: string | null): Promise<void> {
    return this.#op('setting password', () => {
      const a = requireAddress(address);
      if (typeof passwordHash !== 'string') throw new StoreError('invalid', 'passwordHash must be a string');
      const keys = creds.requireScram(scram);
      const res = withTransaction(this.#db, () => this.#st.setPassword.run(passwordHash, keys, a));
      if (res.changes === 0) throw new StoreError('not_found', `no such account: ${a}`);
    });
  }

  setQuota(address: string, quotaBytes: number): Promise<void> {
    return this.#op('setting quota', () => {
      const a = requireAddress(address);
      const q = requireCount(quotaBytes, 'quotaBytes');
      const res = withTransaction(this.#db, () => this.#st.setQuota.run(q, a));
      if (res.changes === 0) throw new StoreError('not_found', `no such account: ${a}`);
    });
  }

  // App passwords and sender grants (credentials.ts)

  addAppPassword(accountId: number, name: string, passwordHash: string, scram: string | null): Promise<AppPasswordInfo> {
    return this.#op('adding app password', () => creds.addAppPassword(this.#creds, accountId, name, passwordHash, scram));
  }

  listAppPasswords(accountId: number): Promise<AppPassword[]> {
    return this.#op('listing app passwords', () => creds.listAppPasswords(this.#creds, accountId));
  }

  removeAppPassword(accountId: number, name: string): Promise<void> {
    return this.#op('removing app password', () => creds.removeAppPassword(this.#creds, accountId, name));
  }

  addSenderGrant(accountId: number, address: string): Promise<void> {
    return this.#op('adding sender grant', () => creds.addSenderGrant(this.#creds, accountId, address));
  }

  removeSenderGrant(accountId: number, address: string): Promise<void> {
    return this.#op('removing sender grant', () => creds.removeSenderGrant(this.#creds, accountId, address));
  }

  listSenderGrants(accountId: number): Promise<string[]> {
    return this.#op('listing sender grants', () => creds.listSenderGrants(this.#creds, accountId));
  }

  // DKIM signing keys (store/dkim-keys.ts)

  addDkimKey(key: NewDkimKey, supersede?: DkimSupersede): Promise<DkimKey> {
    return this.#op('adding DKIM key', () => dkim.addDkimKey(this.#db, this.#nowMs(), key, supersede));
  }

  listDkimKeys(domain?: string): Promise<DkimKey[]> {
    return this.#op('listing DKIM keys', () => dkim.listDkimKeys(this.#db, domain));
  }

  getDkimKey(domain: string, selector: string): Promise<DkimKey | null> {
    return this.#op('reading DKIM key', () => dkim.getDkimKey(this.#db, domain, selector));
  }

  setDkimKeySchedule(domain: string, selector: string, change: DkimScheduleChange): Promise<DkimKey> {
    return this.#op('changing DKIM key schedule', () => dkim.setDkimKeySchedule(this.#db, domain, selector, change));
  }

  removeDkimKey(domain: string, selector: string): Promise<void> {
    return this.#op('removing DKIM key', () => dkim.removeDkimKey(this.#db, domain, selector));
  }

  // Aliases

  addAlias(source: string, targets: string[]): Promise<Alias> {
    return this.#op('adding alias', () => {
      const src = requireAliasSource(source);
      if (!Array.isArray(targets) || targets.length === 0) throw new StoreError('invalid', 'an alias needs targets');
      const tgts = [...new Set(targets.map(requireAddress))];
      return withTransaction(this.#db, () => {
        const domainId = this.#domainId(domainOf(src));
        for (const t of tgts) this.#st.insertAliasTarget.run(domainId, src, t);
        return { source: src, targets: this.#aliasTargets(src) };
      });
    });
  }

  removeAlias(source: string, targets?: string[]): Promise<void> {
    return this.#op('removing alias', () => {
      const src = requireAliasSource(source);
      withTransaction(this.#db, () => {
        const existing = this.#aliasTargets(src);
        if (existing.length === 0) throw new StoreError('not_found', `no such alias: ${src}`);
        if (targets === undefined) {
          this.#st.deleteAlias.run(src);
          return;
        }
        // All or nothing: a target that is not there fails the whole call.
        const tgts = targets.map(requireAddress);
        const missing = tgts.find((t) => !existing.includes(t));
        if (missing !== undefined) throw new StoreError('not_found', `${src} has no target ${missing}`);
        for (const t of tgts) this.#st.deleteAliasTarget.run(src, t);
      });
    });
  }

  #aliasTargets(src: string): string[] {
    return (this.#st.aliasTargets.all(src) as Array<{ target: string }>).map((r) => r.target);
  }

  getAlias(source: string): Promise<Alias | null> {
    return this.#op('looking up alias', () => {
      let src: string;
      try {
        src = requireAliasSource(source);
      } catch {
        return null;
      }
      const targets = this.#aliasTargets(src);
      return targets.length === 0 ? null : { source: src, targets };
    });
  }

  listAliases(domain?: string): Promise<Alias[]> {
    return this.#op('listing aliases', () => {
      const rows =
        domain === undefined ? this.#st.listAliases.all() : this.#st.listAliasesOfDomain.all(requireDomain(domain));
      return groupAliases(rows as Array<{ source: string; target: string }>);
    });
  }

  // Mailboxes and messages

  listMailboxes(accountId: number): Promise<Mailbox[]> {
    return this.#op('listing mailboxes', () =>
      (this.#st.listMailboxes.all(accountId) as unknown as MailboxRow[]).map(toMailbox),
    );
  }

  getMailbox(accountId: number, name: string): Promise<Mailbox | null> {
    return this.#op('looking up mailbox', () => {
      const row = this.#st.getMailbox.get(accountId, mailboxName(name)) as MailboxRow | undefined;
      return row ? toMailbox(row) : null;
    });
  }

  listMessages(mailboxId: number): Promise<StoredMessage[]> {
    return this.#op('listing messages', () =>
      (this.#st.listMessages.all(mailboxId) as unknown as MessageRow[]).map(toMessage),
    );
  }

  async readBlob(blobId: string): Promise<Buffer> {
    const row = await this.#op('reading blob', () => {
      if (!BLOB_ID.test(blobId)) throw new StoreError('invalid', `invalid blob id: ${JSON.stringify(blobId)}`);
      return this.#st.getBlob.get(blobId) as { size: number; content: Uint8Array | null } | undefined;
    });
    if (!row) throw new StoreError('not_found', `no such blob: ${blobId}`);
    if (row.content !== null) return Buffer.from(row.content.buffer, row.content.byteOffset, row.content.byteLength);
    const bytes = await this.#files.read(blobId);
    if (bytes.length !== row.size) {
      throw new StoreError('unavailable', `blob ${blobId} has ${bytes.length} bytes, expected ${row.size}`);
    }
    return bytes;
  }

  deliver(req: DeliveryRequest): Promise<DeliveredCopy[]> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'store is closed'));
    const p = this.#deliver(req);
    // close() waits for deliveries already started (their file writes too).
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  async #deliver(req: DeliveryRequest): Promise<DeliveredCopy[]> {
    // Validated before any bytes are written.
    const outbound = req.outbound === undefined || req.outbound === null ? null : normalizeOutbound(req.outbound);
    if (!Array.isArray(req.recipients) || (req.recipients.length === 0 && outbound === null)) {
      throw new StoreError('invalid', 'a delivery needs recipients');
    }
    const internalDate = req.internalDate?.getTime?.();
    if (typeof internalDate !== 'number' || !Number.isFinite(internalDate)) {
      throw new StoreError('invalid', 'internalDate must be a valid Date');
    }
    if (!Array.isArray(req.content) || !req.content.every((b) => Buffer.isBuffer(b))) {
      throw new StoreError('invalid', 'content must be an array of Buffers');
    }
    const recipients = req.recipients.map((r) => {
      if (!Number.isSafeInteger(r.accountId)) throw new StoreError('invalid', 'accountId must be an integer');
      return {
        accountId: r.accountId,
        mailbox: mailboxName(r.mailbox ?? 'INBOX'),
        flags: normalizeFlags(r.flags).join(' '),
      };
    });
    const size = req.content.reduce((n, b) => n + b.length, 0);
    const blobId = await sha256(req.content);
    const inline = size <= this.inlineMaxBytes;
    if (!inline) {
      // Durable on disk before any row can reference it.
      await this.#files.write(blobId, req.content);
    }
    const bytes = !inline ? null : req.content.length === 1 ? req.content[0]! : Buffer.concat(req.content, size);
    if (req.meta !== undefined && req.meta !== null && typeof req.meta !== 'string') {
      throw new StoreError('invalid', 'meta must be a string');
    }
    const meta = typeof req.meta === 'string' ? req.meta : null;
    const job: WriteJob = { kind: 'deliver', blobId, size, inline: bytes, internalDate, recipients, outbound, meta };
    const out = (await this.#committer.submit(job)) as Announced<DeliveredCopy[]>;
    this.#announce(out.changes);
    return out.value;
  }

  // Outbound queue (queue.ts)

  claimDue(opts: ClaimOptions): Promise<QueueClaim[]> {
    return this.#write('claiming queue entries', () => ({ kind: 'claim', ...normalizeClaim(opts) }));
  }

  recordOutcomes(owner: string, outcomes: AttemptOutcome[]): Promise<{ applied: number[]; stale: number[] }> {
    return this.#write('recording delivery outcomes', () => ({
      kind: 'outcomes',
      owner: requireOwner(owner),
      outcomes: normalizeOutcomes(outcomes),
    }));
  }

  releaseLeases(owner: string): Promise<void> {
    return this.#write('releasing leases', () => ({ kind: 'release', owner: requireOwner(owner) }));
  }

  markDelayWarned(recipientIds: number[]): Promise<void> {
    return this.#write('marking delay warnings', () => ({ kind: 'delayWarned', ids: requireIds(recipientIds, 'recipientIds') }));
  }

  nextQueueWakeup(): Promise<Date | null> {
    return this.#op('reading the queue', () => queue.nextQueueWakeup(this.#st));
  }

  listQueue(opts: { all?: boolean } = {}): Promise<QueuedMessage[]> {
    return this.#op('listing the queue', () => withReadTransaction(this.#db, () => queue.listQueue(this.#st, opts.all === true)));
  }

  getQueued(queueId: string): Promise<QueuedMessage | null> {
    return this.#op('reading the queue', () => {
      if (typeof queueId !== 'string') throw new StoreError('invalid', 'queueId must be a string');
      return withReadTransaction(this.#db, () => queue.getQueued(this.#st, queueId));
    });
  }

  retryQueued(queueId: string | null, now: Date): Promise<number> {
    return this.#write('retrying queued messages', () => ({
      kind: 'retry',
      queueId: queueId === null ? null : requireQueueId(queueId),
      now: requireTime(now, 'now'),
    }));
  }

  deleteQueued(queueId: string): Promise<boolean> {
    return this.#write('deleting a queued message', () => ({ kind: 'delete', queueId: requireQueueId(queueId) }));
  }

  failQueued(queueId: string, reply: string, status: string, at: Date): Promise<QueueRecipient[]> {
    return this.#write('failing a queued message', () => ({
      kind: 'fail',
      queueId: requireQueueId(queueId),
      ...requireReason(reply, status),
      at: requireTime(at, 'at'),
    }));
  }

  purgeQueue(before: Date): Promise<number> {
    return this.#write('purging the queue', () => ({ kind: 'purge', before: requireTime(before, 'before') }));
  }

  // --- Mailbox operations (mailbox-store.ts). Writes are group-committed
  // jobs (mailbox-jobs.ts), durable when they resolve; their changes are
  // announced to watch() listeners right after.

  /** A group-committed mailbox write whose job returns Announced<T>. */
  async #mailboxWrite<T>(what: string, job: () => WriteJob): Promise<T> {
    const out = await this.#write<Announced<T>>(what, job);
    this.#announce(out.changes);
    return out.value;
  }

  #announce(changes: readonly MailboxChange[]): void {
    for (const c of changes) {
      const set = this.#watchers.get(c.accountId);
      if (!set) continue;
      for (const l of [...set]) {
        try {
          l(c);
        } catch {
          // A listener's failure is its own; the write is durable regardless.
        }
      }
    }
  }

  watch(accountId: number, listener: MailboxListener): () => void {
    let set = this.#watchers.get(accountId);
    if (!set) this.#watchers.set(accountId, (set = new Set()));
    set.add(listener);
    return () => {
      const s = this.#watchers.get(accountId);
      if (!s) return;
      s.delete(listener);
      if (s.size === 0) this.#watchers.delete(accountId);
    };
  }

  createMailbox(accountId: number, name: string, opts: { specialUse?: SpecialUse | null } = {}): Promise<Mailbox> {
    return this.#mailboxWrite('creating mailbox', () => ({
      kind: 'mbCreate',
      accountId: requireId(accountId, 'accountId'),
      name: requireMailboxName(name),
      specialUse: requireSpecialUse(opts.specialUse ?? null),
    }));
  }

  deleteMailbox(accountId: number, name: string): Promise<void> {
    return this.#mailboxWrite('deleting mailbox', () => ({
      kind: 'mbDelete',
      accountId: requireId(accountId, 'accountId'),
      name: requireMailboxName(name),
    }));
  }

  renameMailbox(accountId: number, from: string, to: string): Promise<void> {
    return this.#mailboxWrite('renaming mailbox', () => ({
      kind: 'mbRename',
      accountId: requireId(accountId, 'accountId'),
      from: requireMailboxName(from),
      to: requireMailboxName(to),
    }));
  }

  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void> {
    return this.#mailboxWrite('changing subscription', () => ({
      kind: 'mbSubscribe',
      accountId: requireId(accountId, 'accountId'),
      name: requireMailboxName(name),
      subscribed: subscribed === true,
    }));
  }

  getMailboxById(mailboxId: number): Promise<Mailbox | null> {
    return this.#op('looking up mailbox', () => {
      const row = this.#st.mailboxWithCountById.get(requireId(mailboxId, 'mailboxId')) as MailboxRow | undefined;
      return row ? toMailbox(row) : null;
    });
  }

  mailboxStatus(mailboxId: number): Promise<MailboxStatus> {
    return this.#op('reading mailbox status', () =>
      withReadTransaction(this.#db, () => {
        const mb = this.#st.mailboxRowById.get(requireId(mailboxId, 'mailboxId')) as MailboxRow | undefined;
        if (!mb) throw new StoreError('not_found', `no mailbox with id ${mailboxId}`);
        const s = this.#st.mailboxStatus.get(mb.id) as { messages: number; size: number; unseen: number; deleted: number };
        return {
          messages: s.messages,
          unseen: s.unseen,
          deleted: s.deleted,
          size: s.size,
          uidNext: mb.uid_next,
          uidValidity: mb.uid_validity,
          highestModseq: mb.highest_modseq,
        };
      }),
    );
  }

  append(mailboxId: number, req: AppendRequest): Promise<AppendResult> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'store is closed'));
    const p = this.#append(mailboxId, req);
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  async #append(mailboxId: number, req: AppendRequest): Promise<AppendResult> {
    const id = requireId(mailboxId, 'mailboxId');
    const internalDate = req.internalDate?.getTime?.();
    if (typeof internalDate !== 'number' || !Number.isFinite(internalDate)) {
      throw new StoreError('invalid', 'internalDate must be a valid Date');
    }
    if (!Array.isArray(req.content) || !req.content.every((b) => Buffer.isBuffer(b))) {
      throw new StoreError('invalid', 'content must be an array of Buffers');
    }
    if (req.meta !== undefined && typeof req.meta !== 'string') throw new StoreError('invalid', 'meta must be a string');
    const flags = normalizeFlags(req.flags);
    const size = req.content.reduce((n, b) => n + b.length, 0);
    const blobId = await sha256(req.content);
    const inline = size <= this.inlineMaxBytes;
    // Durable on disk before any row can reference it.
    if (!inline) await this.#files.write(blobId, req.content);
    const bytes = !inline ? null : req.content.length === 1 ? req.content[0]! : Buffer.concat(req.content, size);
    return this.#mailboxWrite('appending', () => ({
      kind: 'append',
      mailboxId: id,
      blobId,
      size,
      inline: bytes,
      internalDate,
      flags,
      meta: req.meta ?? null,
    }));
  }

  getMessages(mailboxId: number, uids: readonly number[]): Promise<StoredMessage[]> {
    return this.#op('reading messages', () => {
      const list = requireUids(uids);
      if (list.length === 0) return [];
      const rows = this.#st.messagesByUids.all(requireId(mailboxId, 'mailboxId'), JSON.stringify(list));
      return (rows as unknown as MessageRow[]).map(toMessage);
    });
  }

  changesSince(mailboxId: number, modseq: number): Promise<MailboxChanges> {
    return this.#op('reading changes', () => {
      const id = requireId(mailboxId, 'mailboxId');
      const since = requireCount(modseq, 'modseq');
      return withReadTransaction(this.#db, () => {
        const mb = this.#st.mailboxRowById.get(id) as MailboxRow | undefined;
        if (!mb) throw new StoreError('not_found', `no mailbox with id ${id}`);
        const changed = (this.#st.messagesChangedSince.all(id, since) as unknown as MessageRow[]).map(toMessage);
        const expunged = (this.#st.expungedSince.all(id, since) as Array<{ uid: number }>).map((r) => r.uid);
        return { changed, expunged, highestModseq: mb.highest_modseq };
      });
    });
  }

  updateFlags(
    mailboxId: number,
    uids: readonly number[],
    op: FlagOperation,
    flags: readonly string[],
    opts: { unchangedSince?: number } = {},
  ): Promise<FlagUpdate> {
    return this.#mailboxWrite('updating flags', () => ({
      kind: 'flags',
      mailboxId: requireId(mailboxId, 'mailboxId'),
      uids: requireUids(uids),
      op: requireFlagOperation(op),
      flags: normalizeFlags(flags),
      unchangedSince: opts.unchangedSince === undefined ? null : requireCount(opts.unchangedSince, 'unchangedSince'),
    }));
  }

  expunge(mailboxId: number, opts: { uids?: readonly number[]; onlyDeleted: boolean }): Promise<number[]> {
    return this.#mailboxWrite('expunging', () => ({
      kind: 'expunge',
      mailboxId: requireId(mailboxId, 'mailboxId'),
      uids: opts.uids === undefined ? null : requireUids(opts.uids),
      onlyDeleted: opts.onlyDeleted === true,
    }));
  }

  copyMessages(sourceMailboxId: number, uids: readonly number[], destMailboxId: number): Promise<CopyResult> {
    return this.#mailboxWrite('copying messages', () => ({
      kind: 'copy',
      sourceId: requireId(sourceMailboxId, 'sourceMailboxId'),
      uids: requireUids(uids),
      destId: requireId(destMailboxId, 'destMailboxId'),
      move: false,
    }));
  }

  moveMessages(sourceMailboxId: number, uids: readonly number[], destMailboxId: number): Promise<CopyResult> {
    return this.#mailboxWrite('moving messages', () => ({
      kind: 'copy',
      sourceId: requireId(sourceMailboxId, 'sourceMailboxId'),
      uids: requireUids(uids),
      destId: requireId(destMailboxId, 'destMailboxId'),
      move: true,
    }));
  }

  getMessageMeta(blobIds: readonly string[]): Promise<Map<string, string>> {
    return this.#op('reading message meta', () => {
      if (!Array.isArray(blobIds) || !blobIds.every((b) => typeof b === 'string')) {
        throw new StoreError('invalid', 'blobIds must be strings');
      }
      const out = new Map<string, string>();
      if (blobIds.length === 0) return out;
      for (const r of this.#st.blobMeta.all(JSON.stringify([...new Set(blobIds)])) as Array<{ id: string; meta: string }>) {
        out.set(r.id, r.meta);
      }
      return out;
    });
  }

  setMessageMeta(blobId: string, meta: string): Promise<void> {
    return this.#mailboxWrite('storing message meta', () => {
      if (typeof blobId !== 'string' || !BLOB_ID.test(blobId)) throw new StoreError('invalid', `invalid blob id: ${JSON.stringify(blobId)}`);
      if (typeof meta !== 'string') throw new StoreError('invalid', 'meta must be a string');
      return { kind: 'setMeta', blobId, meta };
    });
  }

  // Abuse defences (store/abuse-store.ts), delegated to abuse-sqlite.ts

  getGreylist(key: GreylistKey): Promise<GreylistEntry | null> { return this.#abuse.getGreylist(key); }
  putGreylist(entry: GreylistEntry): Promise<void> { return this.#abuse.putGreylist(entry); }
  countGreylistPassed(network: string, sinceMs: number): Promise<number> { return this.#abuse.countGreylistPassed(network, sinceMs); }
  purgeGreylist(beforeMs: number): Promise<number> { return this.#abuse.purgeGreylist(beforeMs); }
  addToCounter(key: string, windowStartMs: number, by: number, expiresAtMs: number): Promise<number> { return this.#abuse.addToCounter(key, windowStartMs, by, expiresAtMs); }
  getCounter(key: string, windowStartMs: number): Promise<number> { return this.#abuse.getCounter(key, windowStartMs); }
  purgeCounters(beforeMs: number): Promise<number> { return this.#abuse.purgeCounters(beforeMs); }
  setRateOverride(accountId: number, o: RateOverride | null): Promise<void> { return this.#abuse.setRateOverride(accountId, o); }
  getRateOverride(accountId: number): Promise<RateOverride | null> { return this.#abuse.getRateOverride(accountId); }
  getSpamTokens(scope: number, tokens: readonly string[]): Promise<Map<string, TokenCounts>> { return this.#abuse.getSpamTokens(scope, tokens); }
  getSpamTotals(scope: number): Promise<TokenCounts> { return this.#abuse.getSpamTotals(scope); }
  trainSpam(scope: number, messageKey: string, tokens: readonly string[], label: SpamLabel, atMs: number): Promise<boolean> { return this.#abuse.trainSpam(scope, messageKey, tokens, label, atMs); }
  addSenderRule(rule: SenderRule): Promise<void> { return this.#abuse.addSenderRule(rule); }
  removeSenderRule(accountId: number, pattern: string): Promise<boolean> { return this.#abuse.removeSenderRule(accountId, pattern); }
  listSenderRules(accountId: number): Promise<SenderRule[]> { return this.#abuse.listSenderRules(accountId); }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abuse.close();
    await Promise.allSettled([...this.#inflight]);
    await this.#committer.drain();
    await this.#writer.close();
    this.#db.close();
  }
}
