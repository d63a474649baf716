// The PostgreSQL Store: several Mailroom nodes share one database (selected
// by `[store] url = "postgres://…"`). Same semantics as the SQLite store
// (store/contract.ts), with what a shared database adds:
// - every write is one transaction on a pooled connection with
//   synchronous_commit on, so a promise resolves only after the COMMIT's WAL
//   flush (store first, then acknowledge); PostgreSQL itself groups the WAL
//   flushes of concurrent commits;
// - message bytes go through a BlobStore (PgBlobStore by default: the bytes
//   commit in the same transaction as their rows);
// - the outbound queue leases with FOR UPDATE SKIP LOCKED (queue.ts);
// - watch() hears about changes from every node through LISTEN/NOTIFY
//   (listener.ts); after a lost LISTEN connection each watcher gets a
//   `kind: 'mailboxes'` change for every mailbox of its account ("re-read");
// - schema migrations run once under an advisory lock (migrations.ts).

import { createHash, randomBytes } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
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
  type SpecialUse,
  type Store,
  type StoredMessage,
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
  normalizeClaim,
  normalizeOutbound,
  normalizeOutcomes,
  requireIds,
  requireOwner,
  requireQueueId,
  requireReason,
  requireTime,
} from '../queue-input.ts';
import {
  domainOf,
  parseAddress,
  requireAddress,
  requireAliasSource,
  requireAppPasswordName,
  requireDomain,
  requireSenderGrant,
} from '../names.ts';
import { BLOB_ID, type BlobStore, type TransactionalBlobStore } from '../blobs/blob-store.ts';
import { PgBlobStore } from '../blobs/pg-blobs.ts';
import { createPool, isForeignKeyViolation, isUniqueViolation, parsePgUrl, pgCode, pgStoreError, withTx, type PgTarget } from './connection.ts';
import { applyPgMigrations } from './migrations.ts';
import { PgListener } from './listener.ts';
import { GroupCommitter, type Outcome } from '../group-commit.ts';
import * as q from './queue.ts';
import * as mbx from './mailbox.ts';
import { normalizeFlags } from '../mailbox-input.ts';
import * as dkim from './dkim-keys.ts';
import { PgAbuseStore } from './abuse.ts';
import type { GreylistEntry, GreylistKey, RateOverride, SenderRule, SpamLabel, TokenCounts } from '../abuse-store.ts';
import type { DkimKey, DkimScheduleChange, DkimSupersede, NewDkimKey } from '../dkim-keys.ts';
import { toAccount, toAppPassword, toMailbox, toMessage, MAILBOX_COLUMNS, type AccountRow, type AppPasswordRow, type MailboxRow, type MessageRow } from './rows.ts';

export interface PgStoreOptions {
  /** postgres://user:password@host:port/database[?schema=name] */
  url: string;
  now?: () => Date;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Where message bytes go; default the database itself (PgBlobStore). */
  blobs?: BlobStore;
  /** Open the LISTEN connection at once (default true), so watchers
   * registered later miss nothing; false for short-lived CLI use. */
  listen?: boolean;
  /** Errors with no caller to report to (the LISTEN connection). */
  onBackgroundError?: (err: unknown) => void;
  /** Most local deliveries committed in one transaction (default 200). */
  maxBatch?: number;
}

export async function openPgStore(opts: PgStoreOptions): Promise<PgStore> {
  const target = parsePgUrl(opts.url);
  const pool = createPool(target, opts.poolSize ?? 10);
  try {
    await applyPgMigrations(pool, target.schema);
    const store = new PgStore(pool, target, opts);
    if (opts.listen !== false) await store.startListening();
    return store;
  } catch (err) {
    await pool.end().catch(() => {});
    throw pgStoreError(err, `opening PostgreSQL store ${target.display}`);
  }
}

function requireCount(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new StoreError('invalid', `${what} must be a non-negative integer`);
  return n;
}

function requireHash(h: unknown, what: string): string {
  if (typeof h !== 'string' || h === '') throw new StoreError('invalid', `${what} must be a non-empty string`);
  return h;
}

function requireScram(s: unknown): string | null {
  return s === undefined || s === null ? null : requireHash(s, 'scram');
}

/** sha256 of the pieces, yielding every few MiB so a large message does not stall other sessions. */
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

/** A local delivery waiting for the group committer. */
interface LocalDelivery {
  blob: { id: string; size: number; pieces: Buffer[] };
  meta: string | undefined;
  internalDate: number;
  recipients: Array<{ accountId: number; mailbox: string; flags: string }>;
}

interface DeliverRow {
  r_account: number;
  r_mailbox: number;
  r_uid: number;
  r_modseq: number;
  r_message: number;
}

const DELIVER_SQL = 'SELECT * FROM mailroom_deliver($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)';

function isTransactional(b: BlobStore): b is TransactionalBlobStore<PoolClient> {
  return typeof (b as Partial<TransactionalBlobStore<PoolClient>>).putInTx === 'function';
}

export class PgStore implements Store {
  readonly target: PgTarget;
  /** The NOTIFY channel for mailbox changes (per schema, so test schemas do not hear each other). */
  readonly channel: string;
  /** The NOTIFY channel that wakes other nodes' queue schedulers. */
  readonly queueChannel: string;
  readonly #pool: Pool;
  /** Advisory state (greylist, counters, spam tokens): synchronous_commit off. */
  readonly #advisoryPool: Pool;
  readonly #abuse: PgAbuseStore;
  readonly #blobs: BlobStore;
  readonly #now: () => Date;
  readonly #listener: PgListener;
  readonly #watchers = new Map<number, Set<MailboxListener>>();
  readonly #inflight = new Set<Promise<unknown>>();
  readonly #committer: GroupCommitter<LocalDelivery, DeliveredCopy[]>;
  /** Marks this process's notifications: its own watchers heard them already. */
  readonly #nodeTag = randomBytes(6).toString('hex');
  #closed = false;

  constructor(pool: Pool, target: PgTarget, opts: PgStoreOptions) {
    this.#pool = pool;
    this.target = target;
    this.channel = `mailroom_mbox_${target.schema}`.slice(0, 63);
    this.queueChannel = `mailroom_queue_${target.schema}`.slice(0, 63);
    this.#blobs = opts.blobs ?? new PgBlobStore(pool);
    this.#now = opts.now ?? (() => new Date());
    this.#listener = new PgListener(target, opts.onBackgroundError);
    this.#listener.onReconnect(() => this.#everyoneRecheck());
    this.#advisoryPool = createPool(target, Math.max(2, Math.ceil((opts.poolSize ?? 10) / 3)), false);
    this.#abuse = new PgAbuseStore(this.#advisoryPool, (what, fn) => this.#op(what, fn));
    this.#committer = new GroupCommitter((jobs) => this.#runBatch(jobs), { maxBatch: opts.maxBatch ?? 200 });
  }

  /** Batches and deliveries group-committed so far (benchmarks, metrics). */
  get commitStats(): { batches: number; deliveries: number } {
    return { batches: this.#committer.batches, deliveries: this.#committer.items };
  }

  /** The pool, for other PostgreSQL-backed services of this node (auth throttle, migrate). */
  get pool(): Pool {
    return this.#pool;
  }

  get listener(): PgListener {
    return this.#listener;
  }

  async startListening(): Promise<void> {
    await this.#listener.subscribe(this.channel, (payload) => this.#onNotification(payload));
  }

  /** Calls `fn` when another node queued mail, made it due (queue retry) or
   * gave its leases back (shutdown), so this node's scheduler wakes now
   * rather than at its next timer. Returns the unsubscribe function. */
  onQueueActivity(fn: () => void): Promise<() => void> {
    return this.#listener.subscribe(this.queueChannel, (payload) => {
      if (payload !== this.#nodeTag) fn();
    });
  }

  async #queueActivity(c: Pick<PoolClient, 'query'>): Promise<void> {
    await c.query('SELECT pg_notify($1, $2)', [this.queueChannel, this.#nodeTag]);
  }

  #nowMs(): number {
    return this.#now().getTime();
  }

  /** Runs a Store call: refuses after close, tracks it for close(), maps errors. */
  #op<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'store is closed'));
    const p = (async () => {
      try {
        return await fn();
      } catch (err) {
        throw pgStoreError(err, what);
      }
    })();
    this.#inflight.add(p);
    const done = () => this.#inflight.delete(p);
    p.then(done, done);
    return p;
  }

  /** One query outside a transaction. */
  #query<T>(what: string, fn: (c: Pool) => Promise<T>): Promise<T> {
    return this.#op(what, () => fn(this.#pool));
  }

  /** A durable transaction; announces the changes it collected once committed. */
  #tx<T>(what: string, fn: (c: PoolClient, changes: MailboxChange[]) => Promise<T>): Promise<T> {
    return this.#op(what, async () => {
      let changes: MailboxChange[] = [];
      const v = await withTx(this.#pool, async (c) => {
        changes = []; // a retried transaction starts over
        const out = await fn(c, changes);
        await this.#announce(c, changes);
        return out;
      });
      this.#dispatchAll(changes);
      return v;
    });
  }

  /** pg_notify inside the transaction: other nodes hear it when it commits. */
  async #announce(c: PoolClient, changes: MailboxChange[]): Promise<void> {
    if (changes.length === 0) return;
    // Payload: "nodeTag accountId mailboxId modseq kind" (NOTIFY payloads are < 8000 bytes).
    await c.query('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [
      this.channel,
      changes.map((x) => `${this.#nodeTag} ${x.accountId} ${x.mailboxId} ${x.modseq} ${x.kind}`),
    ]);
  }

  #onNotification(payload: string): void {
    const [tag, a, m, s, kind] = payload.split(' ');
    // This node's watchers heard its own changes right after the commit.
    if (tag === this.#nodeTag) return;
    this.#dispatch({ accountId: Number(a), mailboxId: Number(m), modseq: Number(s), kind: kind as MailboxChange['kind'] });
  }

  #dispatchAll(changes: readonly MailboxChange[]): void {
    for (const ch of changes) this.#dispatch(ch);
  }

  #dispatch(change: MailboxChange): void {
    const set = this.#watchers.get(change.accountId);
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(change);
      } catch {
        // A watcher's failure is its own; the others still hear.
      }
    }
  }

  /** After a lost LISTEN connection: notifications sent meanwhile are gone,
   * so every watcher hears of every mailbox of its account (kind
   * 'mailboxes', with the mailbox's current HIGHESTMODSEQ) and re-reads. */
  #everyoneRecheck(): void {
    const accounts = [...this.#watchers.keys()];
    if (accounts.length === 0 || this.#closed) return;
    this.#pool
      .query<{ id: number; account_id: number; highest_modseq: number }>(
        'SELECT id, account_id, highest_modseq FROM mailboxes WHERE account_id = ANY($1::bigint[]) ORDER BY id',
        [accounts],
      )
      .then(
        (r) => this.#dispatchAll(r.rows.map((m) => ({ accountId: m.account_id, mailboxId: m.id, modseq: m.highest_modseq, kind: 'mailboxes' as const }))),
        () => {},
      );
  }

  // Domains

  addDomain(name: string): Promise<Domain> {
    return this.#query('adding domain', async (c) => {
      const d = requireDomain(name);
      const at = this.#nowMs();
      try {
        await c.query('INSERT INTO domains (name, created_at) VALUES ($1, $2)', [d, at]);
      } catch (err) {
        if (isUniqueViolation(err)) throw new StoreError('exists', `domain exists: ${d}`);
        throw err;
      }
      return { name: d, createdAt: new Date(at) };
    });
  }

  removeDomain(name: string): Promise<void> {
    return this.#query('removing domain', async (c) => {
      const d = requireDomain(name);
      const r = await c.query('DELETE FROM domains WHERE name = $1', [d]);
      if (r.rowCount === 0) throw new StoreError('not_found', `no such domain: ${d}`);
    });
  }

  listDomains(): Promise<Domain[]> {
    return this.#query('listing domains', async (c) => {
      const r = await c.query<{ name: string; created_at: number }>('SELECT name, created_at FROM domains ORDER BY name');
      return r.rows.map((x) => ({ name: x.name, createdAt: new Date(x.created_at) }));
    });
  }

  hasDomain(name: string): Promise<boolean> {
    return this.#query('looking up domain', async (c) => {
      let d: string;
      try {
        d = requireDomain(name);
      } catch {
        return false;
      }
      return ((await c.query('SELECT 1 FROM domains WHERE name = $1', [d])).rowCount ?? 0) > 0;
    });
  }

  // Accounts

  addAccount(a: { address: string; passwordHash: string; quotaBytes: number; scram?: string | null }): Promise<Account> {
    return this.#tx('adding account', async (c, changes) => {
      const address = requireAddress(a.address);
      if (typeof a.passwordHash !== 'string') throw new StoreError('invalid', 'passwordHash must be a string');
      const scram = requireScram(a.scram);
      const quota = requireCount(a.quotaBytes, 'quotaBytes');
      const dom = await c.query<{ id: number }>('SELECT id FROM domains WHERE name = $1 FOR KEY SHARE', [domainOf(address)]);
      if (!dom.rows[0]) throw new StoreError('not_found', `no such domain: ${domainOf(address)}`);
      const r = await c.query<AccountRow>(
        `INSERT INTO accounts (domain_id, address, password_hash, scram, quota_bytes, used_bytes, created_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6) ON CONFLICT (address) DO NOTHING RETURNING *`,
        [dom.rows[0].id, address, a.passwordHash, scram, quota, this.#nowMs()],
      );
      const row = r.rows[0];
      if (!row) throw new StoreError('exists', `account exists: ${address}`);
      const uv = await mbx.allocUidValidity(c, this.#nowMs(), DEFAULT_MAILBOXES.length);
      await c.query(
        `INSERT INTO mailboxes (account_id, name, special_use, subscribed, uid_validity)
         SELECT $1, n, s, TRUE, v FROM unnest($2::text[], $3::text[], $4::bigint[]) AS t(n, s, v)`,
        [row.id, DEFAULT_MAILBOXES.map((m) => m.name), DEFAULT_MAILBOXES.map((m) => m.specialUse), DEFAULT_MAILBOXES.map((_, i) => uv + i)],
      );
      changes.push({ accountId: row.id, mailboxId: 0, modseq: 0, kind: 'mailboxes' });
      return toAccount(row);
    });
  }

  getAccount(address: string): Promise<Account | null> {
    return this.#query('looking up account', async (c) => {
      const a = parseAddress(address);
      if (a === null) return null;
      const r = await c.query<AccountRow>('SELECT * FROM accounts WHERE address = $1', [a]);
      return r.rows[0] ? toAccount(r.rows[0]) : null;
    });
  }

  getAccountById(id: number): Promise<Account | null> {
    return this.#query('looking up account', async (c) => {
      if (!Number.isSafeInteger(id)) return null;
      const r = await c.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [id]);
      return r.rows[0] ? toAccount(r.rows[0]) : null;
    });
  }

  listAccounts(domain?: string): Promise<Account[]> {
    return this.#query('listing accounts', async (c) => {
      const r =
        domain === undefined
          ? await c.query<AccountRow>('SELECT * FROM accounts ORDER BY address')
          : await c.query<AccountRow>(
              'SELECT a.* FROM accounts a JOIN domains d ON d.id = a.domain_id WHERE d.name = $1 ORDER BY a.address',
              [requireDomain(domain)],
            );
      return r.rows.map(toAccount);
    });
  }

  removeAccount(address: string): Promise<void> {
    return this.#query('removing account', async (c) => {
      const a = requireAddress(address);
      const r = await c.query('DELETE FROM accounts WHERE address = $1', [a]);
      if (r.rowCount === 0) throw new StoreError('not_found', `no such account: ${a}`);
    });
  }

  setPassword(address: string, passwordHash: string, scram?: string | null): Promise<void> {
    return this.#query('setting password', async (c) => {
      const a = requireAddress(address);
      if (typeof passwordHash !== 'string') throw new StoreError('invalid', 'passwordHash must be a string');
      const r = await c.query('UPDATE accounts SET password_hash = $1, scram = $2 WHERE address = $3', [passwordHash, requireScram(scram), a]);
      if (r.rowCount === 0) throw new StoreError('not_found', `no such account: ${a}`);
    });
  }

  setQuota(address: string, quotaBytes: number): Promise<void> {
    return this.#query('setting quota', async (c) => {
      const a = requireAddress(address);
      const r = await c.query('UPDATE accounts SET quota_bytes = $1 WHERE address = $2', [requireCount(quotaBytes, 'quotaBytes'), a]);
      if (r.rowCount === 0) throw new StoreError('not_found', `no such account: ${a}`);
    });
  }

  // App passwords and sender grants

  addAppPassword(accountId: number, name: string, passwordHash: string, scram: string | null): Promise<AppPasswordInfo> {
    return this.#query('adding app password', async (c) => {
      const n = requireAppPasswordName(name);
      const hash = requireHash(passwordHash, 'passwordHash');
      const keys = requireScram(scram);
      if (!Number.isSafeInteger(accountId)) throw new StoreError('not_found', `no such account id: ${accountId}`);
      try {
        const r = await c.query<{ id: number; name: string; created_at: number }>(
          `INSERT INTO app_passwords (account_id, name, password_hash, scram, created_at)
           VALUES ($1, $2, $3, $4, $5) RETURNING id, name, created_at`,
          [accountId, n, hash, keys, this.#nowMs()],
        );
        const row = r.rows[0]!;
        return { id: row.id, name: row.name, createdAt: new Date(row.created_at) };
      } catch (err) {
        if (isUniqueViolation(err)) throw new StoreError('exists', `app password exists: ${n}`);
        if (isForeignKeyViolation(err)) throw new StoreError('not_found', `no such account id: ${accountId}`);
        throw err;
      }
    });
  }

  listAppPasswords(accountId: number): Promise<AppPassword[]> {
    return this.#query('listing app passwords', async (c) => {
      if (!Number.isSafeInteger(accountId)) return [];
      const r = await c.query<AppPasswordRow>('SELECT * FROM app_passwords WHERE account_id = $1 ORDER BY id', [accountId]);
      return r.rows.map(toAppPassword);
    });
  }

  removeAppPassword(accountId: number, name: string): Promise<void> {
    return this.#query('removing app password', async (c) => {
      const n = requireAppPasswordName(name);
      const r = await c.query('DELETE FROM app_passwords WHERE account_id = $1 AND name = $2', [Number.isSafeInteger(accountId) ? accountId : -1, n]);
      if (r.rowCount === 0) throw new StoreError('not_found', `no app password ${n} for account id ${accountId}`);
    });
  }

  addSenderGrant(accountId: number, address: string): Promise<void> {
    return this.#query('adding sender grant', async (c) => {
      const a = requireSenderGrant(address);
      if (!Number.isSafeInteger(accountId)) throw new StoreError('not_found', `no such account id: ${accountId}`);
      try {
        await c.query('INSERT INTO sender_grants (account_id, address, created_at) VALUES ($1, $2, $3)', [accountId, a, this.#nowMs()]);
      } catch (err) {
        if (isUniqueViolation(err)) throw new StoreError('exists', `sender grant exists: ${a}`);
        if (isForeignKeyViolation(err)) throw new StoreError('not_found', `no such account id: ${accountId}`);
        throw err;
      }
    });
  }

  removeSenderGrant(accountId: number, address: string): Promise<void> {
    return this.#query('removing sender grant', async (c) => {
      const a = requireSenderGrant(address);
      const r = await c.query('DELETE FROM sender_grants WHERE account_id = $1 AND address = $2', [Number.isSafeInteger(accountId) ? accountId : -1, a]);
      if (r.rowCount === 0) throw new StoreError('not_found', `no sender grant ${a} for account id ${accountId}`);
    });
  }

  listSenderGrants(accountId: number): Promise<string[]> {
    return this.#query('listing sender grants', async (c) => {
      if (!Number.isSafeInteger(accountId)) return [];
      const r = await c.query<{ address: string }>('SELECT address FROM sender_grants WHERE account_id = $1 ORDER BY address', [accountId]);
      return r.rows.map((x) => x.address);
    });
  }

  // Aliases

  addAlias(source: string, targets: string[]): Promise<Alias> {
    return this.#tx('adding alias', async (c) => {
      const src = requireAliasSource(source);
      if (!Array.isArray(targets) || targets.length === 0) throw new StoreError('invalid', 'an alias needs targets');
      const tgts = [...new Set(targets.map(requireAddress))];
      const dom = await c.query<{ id: number }>('SELECT id FROM domains WHERE name = $1 FOR KEY SHARE', [domainOf(src)]);
      if (!dom.rows[0]) throw new StoreError('not_found', `no such domain: ${domainOf(src)}`);
      for (const t of tgts) {
        await c.query('INSERT INTO aliases (domain_id, source, target) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING', [dom.rows[0].id, src, t]);
      }
      return { source: src, targets: await this.#aliasTargets(c, src) };
    });
  }

  async #aliasTargets(c: Pick<PoolClient, 'query'>, src: string): Promise<string[]> {
    const r = await c.query<{ target: string }>('SELECT target FROM aliases WHERE source = $1 ORDER BY id', [src]);
    return r.rows.map((x) => x.target);
  }

  removeAlias(source: string, targets?: string[]): Promise<void> {
    return this.#tx('removing alias', async (c) => {
      const src = requireAliasSource(source);
      const existing = (await c.query<{ target: string }>('SELECT target FROM aliases WHERE source = $1 ORDER BY id FOR UPDATE', [src])).rows.map(
        (x) => x.target,
      );
      if (existing.length === 0) throw new StoreError('not_found', `no such alias: ${src}`);
      if (targets === undefined) {
        await c.query('DELETE FROM aliases WHERE source = $1', [src]);
        return;
      }
      const tgts = targets.map(requireAddress);
      const missing = tgts.find((t) => !existing.includes(t));
      if (missing !== undefined) throw new StoreError('not_found', `${src} has no target ${missing}`);
      await c.query('DELETE FROM aliases WHERE source = $1 AND target = ANY($2::text[])', [src, tgts]);
    });
  }

  getAlias(source: string): Promise<Alias | null> {
    return this.#query('looking up alias', async (c) => {
      let src: string;
      try {
        src = requireAliasSource(source);
      } catch {
        return null;
      }
      const targets = await this.#aliasTargets(c, src);
      return targets.length === 0 ? null : { source: src, targets };
    });
  }

  listAliases(domain?: string): Promise<Alias[]> {
    return this.#query('listing aliases', async (c) => {
      const r =
        domain === undefined
          ? await c.query<{ source: string; target: string }>('SELECT source, target FROM aliases ORDER BY source, id')
          : await c.query<{ source: string; target: string }>(
              'SELECT a.source, a.target FROM aliases a JOIN domains d ON d.id = a.domain_id WHERE d.name = $1 ORDER BY a.source, a.id',
              [requireDomain(domain)],
            );
      const out: Alias[] = [];
      for (const row of r.rows) {
        const last = out[out.length - 1];
        if (last && last.source === row.source) last.targets.push(row.target);
        else out.push({ source: row.source, targets: [row.target] });
      }
      return out;
    });
  }

  // Mailboxes and messages (reads)

  listMailboxes(accountId: number): Promise<Mailbox[]> {
    return this.#query('listing mailboxes', async (c) => {
      if (!Number.isSafeInteger(accountId)) return [];
      const r = await c.query<MailboxRow>(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes m WHERE m.account_id = $1 ORDER BY m.id`, [accountId]);
      return r.rows.map(toMailbox);
    });
  }

  getMailbox(accountId: number, name: string): Promise<Mailbox | null> {
    return this.#query('looking up mailbox', async (c) => {
      if (!Number.isSafeInteger(accountId) || typeof name !== 'string') return null;
      const r = await c.query<MailboxRow>(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes m WHERE m.account_id = $1 AND m.name = $2`, [
        accountId,
        mbx.mailboxName(name),
      ]);
      return r.rows[0] ? toMailbox(r.rows[0]) : null;
    });
  }

  listMessages(mailboxId: number): Promise<StoredMessage[]> {
    return this.#query('listing messages', async (c) => {
      if (!Number.isSafeInteger(mailboxId)) return [];
      const r = await c.query<MessageRow>('SELECT * FROM messages WHERE mailbox_id = $1 ORDER BY uid', [mailboxId]);
      return r.rows.map(toMessage);
    });
  }

  readBlob(blobId: string): Promise<Buffer> {
    return this.#query('reading blob', async (c) => {
      if (typeof blobId !== 'string' || !BLOB_ID.test(blobId)) throw new StoreError('invalid', `invalid blob id: ${JSON.stringify(blobId)}`);
      if (this.#blobs instanceof PgBlobStore) {
        const r = await c.query<{ size: number; content: Buffer | null }>(
          'SELECT b.size, c.content FROM blobs b LEFT JOIN blob_content c ON c.id = b.id WHERE b.id = $1',
          [blobId],
        );
        const row = r.rows[0];
        if (!row) throw new StoreError('not_found', `no such blob: ${blobId}`);
        if (row.content === null) throw new StoreError('unavailable', `blob ${blobId} has no content`);
        if (row.content.length !== row.size) throw new StoreError('unavailable', `blob ${blobId} has ${row.content.length} bytes, expected ${row.size}`);
        return row.content;
      }
      const r = await c.query<{ size: number }>('SELECT size FROM blobs WHERE id = $1', [blobId]);
      if (!r.rows[0]) throw new StoreError('not_found', `no such blob: ${blobId}`);
      const bytes = await this.#blobs.get(blobId);
      if (bytes.length !== r.rows[0].size) throw new StoreError('unavailable', `blob ${blobId} has ${bytes.length} bytes, expected ${r.rows[0].size}`);
      return bytes;
    });
  }

  /** Writes the blob row (and, for a transactional blob store, the bytes) in `c`'s transaction. */
  async #putBlob(c: PoolClient, id: string, size: number, content: readonly Buffer[], meta: string | undefined): Promise<void> {
    await c.query('INSERT INTO blobs (id, size, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING', [id, size, this.#nowMs()]);
    if (isTransactional(this.#blobs)) await this.#blobs.putInTx(c, id, content);
    if (typeof meta === 'string') {
      await c.query('INSERT INTO message_meta (blob_id, meta) VALUES ($1, $2) ON CONFLICT (blob_id) DO NOTHING', [id, meta]);
    }
  }

  /** Validated content, its id and size; bytes of a non-transactional blob store are made durable first. */
  async #prepareContent(content: unknown): Promise<{ id: string; size: number; pieces: Buffer[] }> {
    if (!Array.isArray(content) || !content.every((b) => Buffer.isBuffer(b))) throw new StoreError('invalid', 'content must be an array of Buffers');
    const pieces = content as Buffer[];
    const size = pieces.reduce((n, b) => n + b.length, 0);
    const id = await sha256(pieces);
    if (!isTransactional(this.#blobs)) await this.#blobs.put(id, pieces);
    return { id, size, pieces };
  }

  deliver(req: DeliveryRequest): Promise<DeliveredCopy[]> {
    return this.#op('delivering', async () => {
      const outbound = req.outbound === undefined || req.outbound === null ? null : normalizeOutbound(req.outbound);
      if (!Array.isArray(req.recipients) || (req.recipients.length === 0 && outbound === null)) {
        throw new StoreError('invalid', 'a delivery needs recipients');
      }
      const internalDate = req.internalDate?.getTime?.();
      if (typeof internalDate !== 'number' || !Number.isFinite(internalDate)) throw new StoreError('invalid', 'internalDate must be a valid Date');
      const recipients = req.recipients.map((r) => {
        if (!Number.isSafeInteger(r.accountId)) throw new StoreError('invalid', 'accountId must be an integer');
        return {
          accountId: r.accountId,
          mailbox: mbx.mailboxName(typeof r.mailbox === 'string' ? r.mailbox : 'INBOX'),
          flags: normalizeFlags(r.flags).join(' '),
        };
      });
      const blob = await this.#prepareContent(req.content);
      if (outbound === null && this.#blobs instanceof PgBlobStore) return this.#committer.submit({ blob, meta: req.meta, internalDate, recipients });
      let changes: MailboxChange[] = [];
      const out = await withTx(this.#pool, async (c) => {
        await this.#putBlob(c, blob.id, blob.size, blob.pieces, req.meta);
        const copies: DeliveredCopy[] = [];
        changes = [];
        if (recipients.length > 0) {
          // Lock the candidate mailboxes in id order (no deadlock with other deliveries).
          const accountIds = [...new Set(recipients.map((r) => r.accountId))];
          const boxes = await c.query<{ id: number; account_id: number; name: string }>(
            `SELECT id, account_id, name FROM mailboxes
             WHERE account_id = ANY($1::bigint[]) AND (name = ANY($2::text[]) OR name = 'INBOX')
             ORDER BY id FOR UPDATE`,
            [accountIds, [...new Set(recipients.map((r) => r.mailbox))]],
          );
          const byKey = new Map(boxes.rows.map((b) => [`${b.account_id}\u0000${b.name}`, b.id]));
          const targets = recipients.map((r) => {
            // A missing mailbox falls back to INBOX (Store.deliver contract).
            const id = byKey.get(`${r.accountId}\u0000${r.mailbox}`) ?? byKey.get(`${r.accountId}\u0000INBOX`);
            if (id === undefined) throw new StoreError('not_found', `no account with id ${r.accountId}`);
            return { ...r, mailboxId: id };
          });
          const perBox = new Map<number, number>();
          for (const t of targets) perBox.set(t.mailboxId, (perBox.get(t.mailboxId) ?? 0) + 1);
          const next = new Map<number, { uid: number; modseq: number }>();
          for (const [id, n] of [...perBox].sort((a, b) => a[0] - b[0])) next.set(id, await mbx.bump(c, id, n, n));
          const rows = targets.map((t) => {
            const s = next.get(t.mailboxId)!;
            const row = { mailboxId: t.mailboxId, uid: s.uid, modseq: s.modseq, flags: t.flags, internalDate, size: blob.size, blobId: blob.id };
            s.uid++;
            s.modseq++;
            return row;
          });
          const ids = await mbx.insertMessages(c, rows);
          const usage = new Map<number, number>();
          for (const t of targets) usage.set(t.accountId, (usage.get(t.accountId) ?? 0) + blob.size);
          for (const [acc, bytes] of [...usage].sort((a, b) => a[0] - b[0])) await mbx.addUsage(c, acc, bytes);
          targets.forEach((t, i) => copies.push({ accountId: t.accountId, mailboxId: t.mailboxId, uid: rows[i]!.uid, messageId: ids[i]! }));
          for (const [id, s] of next) {
            const t = targets.find((x) => x.mailboxId === id)!;
            changes.push({ accountId: t.accountId, mailboxId: id, modseq: s.modseq - 1, kind: 'append' });
          }
        }
        if (outbound) {
          await q.enqueue(c, blob.id, blob.size, internalDate, outbound);
          await this.#queueActivity(c);
        }
        await this.#announce(c, changes);
        return copies;
      });
      this.#dispatchAll(changes);
      return out;
    });
  }

  /** The parameters of one mailroom_deliver call. */
  #deliverParams(j: LocalDelivery): unknown[] {
    const content = j.blob.pieces.length === 1 ? j.blob.pieces[0]! : Buffer.concat(j.blob.pieces, j.blob.size);
    return [
      j.blob.id,
      j.blob.size,
      content,
      typeof j.meta === 'string' ? j.meta : null,
      this.#nowMs(),
      j.internalDate,
      j.recipients.map((x) => x.accountId),
      j.recipients.map((x) => x.mailbox),
      j.recipients.map((x) => x.flags),
      this.channel,
      this.#nodeTag,
    ];
  }

  /** Copies and the changes to announce, from mailroom_deliver's rows. */
  static #deliverResult(rows: DeliverRow[]): { copies: DeliveredCopy[]; changes: MailboxChange[] } {
    const last = new Map<number, MailboxChange>();
    for (const row of rows) last.set(row.r_mailbox, { accountId: row.r_account, mailboxId: row.r_mailbox, modseq: row.r_modseq, kind: 'append' });
    return {
      copies: rows.map((row) => ({ accountId: row.r_account, mailboxId: row.r_mailbox, uid: row.r_uid, messageId: row.r_message })),
      changes: [...last.values()],
    };
  }

  /** One local delivery alone: one statement (mailroom_deliver, migration 2),
   * its own transaction, retried on deadlock; durable when it returns. */
  async #deliverLocal(j: LocalDelivery): Promise<DeliveredCopy[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        const r = await this.#pool.query<DeliverRow>(DELIVER_SQL, this.#deliverParams(j));
        const { copies, changes } = PgStore.#deliverResult(r.rows);
        this.#dispatchAll(changes);
        return copies;
      } catch (err) {
        const code = pgCode(err);
        if (code === 'P0002') throw new StoreError('not_found', (err as Error).message);
        if ((code === '40P01' || code === '40001') && attempt < 5) continue;
        throw err;
      }
    }
  }

  /** Group commit: the local deliveries gathered in one event-loop turn (or
   * while the previous batch committed) share one transaction, so one WAL
   * flush acknowledges them all; a SAVEPOINT per delivery lets an unknown
   * account fail alone. Anything else going wrong (a deadlock with another
   * node, a lost connection) rolls the batch back and runs each delivery on
   * its own, so a batch never fails for one bad neighbour. */
  async #runBatch(jobs: LocalDelivery[]): Promise<Outcome<DeliveredCopy[]>[]> {
    const alone = () =>
      Promise.all(
        jobs.map(async (j): Promise<Outcome<DeliveredCopy[]>> => {
          try {
            return { ok: true, value: await this.#deliverLocal(j) };
          } catch (err) {
            return { ok: false, error: pgStoreError(err, 'delivering') };
          }
        }),
      );
    if (jobs.length === 1) return alone();
    const c = await this.#pool.connect().catch(() => null);
    if (!c) return alone();
    const outcomes: Outcome<DeliveredCopy[]>[] = [];
    const changes: MailboxChange[] = [];
    try {
      await c.query('BEGIN');
      for (const j of jobs) {
        await c.query('SAVEPOINT job');
        try {
          const r = await c.query<DeliverRow>(DELIVER_SQL, this.#deliverParams(j));
          await c.query('RELEASE job');
          const res = PgStore.#deliverResult(r.rows);
          outcomes.push({ ok: true, value: res.copies });
          changes.push(...res.changes);
        } catch (err) {
          if (pgCode(err) !== 'P0002') throw err;
          await c.query('ROLLBACK TO job');
          await c.query('RELEASE job');
          outcomes.push({ ok: false, error: new StoreError('not_found', (err as Error).message) });
        }
      }
      await c.query('COMMIT');
    } catch {
      let broken = false;
      await c.query('ROLLBACK').catch(() => (broken = true));
      c.release(broken ? true : undefined);
      return alone();
    }
    c.release();
    this.#dispatchAll(changes);
    return outcomes;
  }

  // Outbound queue (queue.ts)

  claimDue(opts: ClaimOptions): Promise<QueueClaim[]> {
    return this.#op('claiming queue entries', () => {
      const j = normalizeClaim(opts);
      return withTx(this.#pool, (c) => q.claim(c, j));
    });
  }

  recordOutcomes(owner: string, outcomes: AttemptOutcome[]): Promise<{ applied: number[]; stale: number[] }> {
    return this.#op('recording delivery outcomes', () => {
      const o = requireOwner(owner);
      const list = normalizeOutcomes(outcomes);
      return withTx(this.#pool, (c) => q.recordOutcomes(c, o, list));
    });
  }

  releaseLeases(owner: string): Promise<void> {
    return this.#op('releasing leases', () => {
      const o = requireOwner(owner);
      return withTx(this.#pool, async (c) => {
        await q.releaseLeases(c, o);
        await this.#queueActivity(c);
      });
    });
  }

  markDelayWarned(recipientIds: number[]): Promise<void> {
    return this.#query('marking delay warnings', (c) => q.markDelayWarned(c, requireIds(recipientIds, 'recipientIds')));
  }

  nextQueueWakeup(): Promise<Date | null> {
    return this.#query('reading the queue', (c) => q.nextQueueWakeup(c));
  }

  listQueue(opts: { all?: boolean } = {}): Promise<QueuedMessage[]> {
    return this.#op('listing the queue', () => this.#snapshot((c) => q.listQueue(c, opts.all === true)));
  }

  getQueued(queueId: string): Promise<QueuedMessage | null> {
    return this.#op('reading the queue', () => {
      if (typeof queueId !== 'string') throw new StoreError('invalid', 'queueId must be a string');
      return this.#snapshot((c) => q.getQueued(c, queueId));
    });
  }

  /** A read-only REPEATABLE READ transaction: several queries, one snapshot. */
  async #snapshot<T>(fn: (c: PoolClient) => Promise<T>): Promise<T> {
    const c = await this.#pool.connect();
    try {
      await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      try {
        return await fn(c);
      } finally {
        await c.query('COMMIT');
      }
    } finally {
      c.release();
    }
  }

  retryQueued(queueId: string | null, now: Date): Promise<number> {
    return this.#op('retrying queued messages', () => {
      const id = queueId === null ? null : requireQueueId(queueId);
      const t = requireTime(now, 'now');
      return withTx(this.#pool, async (c) => {
        const n = await q.retryQueued(c, id, t);
        if (n > 0) await this.#queueActivity(c);
        return n;
      });
    });
  }

  deleteQueued(queueId: string): Promise<boolean> {
    return this.#query('deleting a queued message', (c) => q.deleteQueued(c, requireQueueId(queueId)));
  }

  failQueued(queueId: string, reply: string, status: string, at: Date): Promise<QueueRecipient[]> {
    return this.#op('failing a queued message', () => {
      const id = requireQueueId(queueId);
      const r = requireReason(reply, status);
      const t = requireTime(at, 'at');
      return withTx(this.#pool, (c) => q.failQueued(c, id, r.reply, r.status, t));
    });
  }

  purgeQueue(before: Date): Promise<number> {
    return this.#query('purging the queue', (c) => q.purgeQueue(c, requireTime(before, 'before')));
  }

  // Mailbox operations (mailbox.ts)

  createMailbox(accountId: number, name: string, opts?: { specialUse?: SpecialUse | null }): Promise<Mailbox> {
    return this.#tx('creating mailbox', (c, ch) => mbx.createMailbox(c, this.#nowMs(), accountId, name, opts?.specialUse ?? null, ch));
  }

  deleteMailbox(accountId: number, name: string): Promise<void> {
    return this.#tx('deleting mailbox', (c, ch) => mbx.deleteMailbox(c, accountId, name, ch));
  }

  renameMailbox(accountId: number, from: string, to: string): Promise<void> {
    return this.#tx('renaming mailbox', (c, ch) => mbx.renameMailbox(c, this.#nowMs(), accountId, from, to, ch));
  }

  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void> {
    return this.#tx('subscribing', (c, ch) => mbx.setSubscribed(c, accountId, name, subscribed, ch));
  }

  getMailboxById(mailboxId: number): Promise<Mailbox | null> {
    return this.#query('looking up mailbox', (c) => (Number.isSafeInteger(mailboxId) ? mbx.mailboxById(c, mailboxId) : Promise.resolve(null)));
  }

  mailboxStatus(mailboxId: number): Promise<MailboxStatus> {
    return this.#query('reading mailbox status', (c) => mbx.mailboxStatus(c, mailboxId));
  }

  append(mailboxId: number, req: AppendRequest): Promise<AppendResult> {
    return this.#op('appending', async () => {
      if (typeof req !== 'object' || req === null) throw new StoreError('invalid', 'append needs a request');
      const blob = await this.#prepareContent(req.content);
      let changes: MailboxChange[] = [];
      const out = await withTx(this.#pool, async (c) => {
        changes = [];
        await this.#putBlob(c, blob.id, blob.size, blob.pieces, req.meta);
        const r = await mbx.append(c, mailboxId, req, blob, changes);
        await this.#announce(c, changes);
        return r;
      });
      this.#dispatchAll(changes);
      return out;
    });
  }

  getMessages(mailboxId: number, uids: readonly number[]): Promise<StoredMessage[]> {
    return this.#query('reading messages', (c) => mbx.getMessages(c, mailboxId, uids));
  }

  changesSince(mailboxId: number, modseq: number): Promise<MailboxChanges> {
    return this.#op('reading changes', () => this.#snapshot((c) => mbx.changesSince(c, mailboxId, modseq)));
  }

  updateFlags(
    mailboxId: number,
    uids: readonly number[],
    op: FlagOperation,
    flags: readonly string[],
    opts?: { unchangedSince?: number },
  ): Promise<FlagUpdate> {
    return this.#tx('updating flags', (c, ch) => mbx.updateFlags(c, mailboxId, uids, op, flags, opts?.unchangedSince, ch));
  }

  expunge(mailboxId: number, opts: { uids?: readonly number[]; onlyDeleted: boolean }): Promise<number[]> {
    return this.#tx('expunging', (c, ch) => mbx.expunge(c, mailboxId, opts, ch));
  }

  copyMessages(sourceMailboxId: number, uids: readonly number[], destMailboxId: number): Promise<CopyResult> {
    return this.#tx('copying messages', (c, ch) => mbx.copyMessages(c, sourceMailboxId, uids, destMailboxId, false, ch));
  }

  moveMessages(sourceMailboxId: number, uids: readonly number[], destMailboxId: number): Promise<CopyResult> {
    return this.#tx('moving messages', (c, ch) => mbx.copyMessages(c, sourceMailboxId, uids, destMailboxId, true, ch));
  }

  getMessageMeta(blobIds: readonly string[]): Promise<Map<string, string>> {
    return this.#query('reading message metadata', (c) => mbx.getMessageMeta(c, blobIds));
  }

  setMessageMeta(blobId: string, meta: string): Promise<void> {
    return this.#query('writing message metadata', (c) => mbx.setMessageMeta(c, blobId, meta));
  }

  // DKIM signing keys (dkim-keys.ts)

  addDkimKey(key: NewDkimKey, supersede?: DkimSupersede): Promise<DkimKey> {
    return this.#tx('adding DKIM key', (c) => dkim.addDkimKey(c, this.#nowMs(), key, supersede));
  }

  listDkimKeys(domain?: string): Promise<DkimKey[]> {
    return this.#query('listing DKIM keys', (c) => dkim.listDkimKeys(c, domain));
  }

  getDkimKey(domain: string, selector: string): Promise<DkimKey | null> {
    return this.#query('reading DKIM key', (c) => dkim.getDkimKey(c, domain, selector));
  }

  setDkimKeySchedule(domain: string, selector: string, change: DkimScheduleChange): Promise<DkimKey> {
    return this.#tx('scheduling DKIM key', (c) => dkim.setDkimKeySchedule(c, domain, selector, change));
  }

  removeDkimKey(domain: string, selector: string): Promise<void> {
    return this.#query('removing DKIM key', (c) => dkim.removeDkimKey(c, domain, selector));
  }

  // Abuse defences (abuse.ts)

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

  watch(accountId: number, listener: MailboxListener): () => void {
    let set = this.#watchers.get(accountId);
    if (!set) this.#watchers.set(accountId, (set = new Set()));
    // Each registration is its own entry, so watching twice with one function needs two unsubscribes.
    const entry: MailboxListener = (ch) => listener(ch);
    set.add(entry);
    if (!this.#closed && !this.#listener.connected) void this.startListening().catch(() => {});
    return () => {
      set!.delete(entry);
      if (set!.size === 0 && this.#watchers.get(accountId) === set) this.#watchers.delete(accountId);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inflight]);
    await this.#committer.drain();
    await this.#listener.close();
    await Promise.all([this.#pool.end(), this.#advisoryPool.end()]);
  }
}
