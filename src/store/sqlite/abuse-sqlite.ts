// The SQLite implementation of AbuseStore (store/abuse-store.ts): greylist
// triplets, rate counters, the spam classifier's tokens and sender rules.
// It runs on its own connection with synchronous=NORMAL: in WAL mode each
// commit is atomic and survives a crash of the process, but is not fsynced
// (only a power loss can lose the last few). This state is advisory, and an
// fsync per RCPT on the event loop would stall every session; mail itself is
// still committed with synchronous=FULL by the commit worker.

import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { StoreError } from '../store.ts';
import type {
  AbuseStore,
  GreylistEntry,
  GreylistKey,
  RateOverride,
  SenderRule,
  SpamLabel,
  TokenCounts,
} from '../abuse-store.ts';
import { toStoreError } from '../errors.ts';
import { withTransaction } from './tx.ts';

function prepare(db: DatabaseSync) {
  return {
    glGet: db.prepare('SELECT network, sender, recipient, first_seen, last_seen, passed_at, passes FROM greylist WHERE network = ? AND sender = ? AND recipient = ?'),
    glPut: db.prepare(
      `INSERT INTO greylist (network, sender, recipient, first_seen, last_seen, passed_at, passes) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (network, sender, recipient) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen,
       passed_at = excluded.passed_at, passes = excluded.passes`,
    ),
    glPassed: db.prepare('SELECT COUNT(*) AS n FROM greylist WHERE network = ? AND passed_at IS NOT NULL AND last_seen >= ?'),
    glPurge: db.prepare('DELETE FROM greylist WHERE last_seen < ?'),
    ctrAdd: db.prepare(
      `INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key, window_start) DO UPDATE SET count = count + excluded.count, expires_at = MAX(expires_at, excluded.expires_at)
       RETURNING count`,
    ),
    ctrGet: db.prepare('SELECT count FROM rate_counters WHERE key = ? AND window_start = ?'),
    ctrPurge: db.prepare('DELETE FROM rate_counters WHERE expires_at < ?'),
    ovSet: db.prepare(
      `INSERT INTO rate_overrides (account_id, messages_per_hour, recipients_per_day) VALUES (?, ?, ?)
       ON CONFLICT (account_id) DO UPDATE SET messages_per_hour = excluded.messages_per_hour, recipients_per_day = excluded.recipients_per_day`,
    ),
    ovDel: db.prepare('DELETE FROM rate_overrides WHERE account_id = ?'),
    ovGet: db.prepare('SELECT messages_per_hour, recipients_per_day FROM rate_overrides WHERE account_id = ?'),
    accountExists: db.prepare('SELECT 1 FROM accounts WHERE id = ?'),
    tokGet: db.prepare('SELECT token, spam, ham FROM spam_tokens WHERE scope = ? AND token IN (SELECT value FROM json_each(?))'),
    tokAdd: db.prepare(
      `INSERT INTO spam_tokens (scope, token, spam, ham) VALUES (?, ?, ?, ?)
       ON CONFLICT (scope, token) DO UPDATE SET spam = MAX(0, spam + excluded.spam), ham = MAX(0, ham + excluded.ham)`,
    ),
    tokDropEmpty: db.prepare('DELETE FROM spam_tokens WHERE scope = ? AND spam = 0 AND ham = 0 AND token IN (SELECT value FROM json_each(?))'),
    totGet: db.prepare('SELECT spam, ham FROM spam_totals WHERE scope = ?'),
    totAdd: db.prepare(
      `INSERT INTO spam_totals (scope, spam, ham) VALUES (?, ?, ?)
       ON CONFLICT (scope) DO UPDATE SET spam = MAX(0, spam + excluded.spam), ham = MAX(0, ham + excluded.ham)`,
    ),
    trainedGet: db.prepare('SELECT label, tokens FROM spam_trained WHERE scope = ? AND message_key = ?'),
    trainedPut: db.prepare(
      `INSERT INTO spam_trained (scope, message_key, label, tokens, trained_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (scope, message_key) DO UPDATE SET label = excluded.label, tokens = excluded.tokens, trained_at = excluded.trained_at`,
    ),
    ruleAdd: db.prepare(
      `INSERT INTO sender_rules (account_id, pattern, action) VALUES (?, ?, ?)
       ON CONFLICT (account_id, pattern) DO UPDATE SET action = excluded.action`,
    ),
    ruleDel: db.prepare('DELETE FROM sender_rules WHERE account_id = ? AND pattern = ?'),
    ruleList: db.prepare('SELECT account_id, pattern, action FROM sender_rules WHERE account_id = ? ORDER BY pattern'),
  };
}

type Statements = ReturnType<typeof prepare>;

interface GreylistRow {
  network: string;
  sender: string;
  recipient: string;
  first_seen: number;
  last_seen: number;
  passed_at: number | null;
  passes: number;
}

function requireMs(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new StoreError('invalid', `${what} must be a time in milliseconds`);
  return n;
}

function requireScope(n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new StoreError('invalid', 'scope must be 0 or an account id');
  return n;
}

function requireLimit(n: unknown, what: string): number | null {
  if (n === null) return null;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new StoreError('invalid', `${what} must be a non-negative integer or null`);
  return n;
}

export class SqliteAbuseStore implements AbuseStore {
  readonly #open: () => DatabaseSync;
  #db: DatabaseSync | null = null;
  #st: Statements | null = null;
  #closed = false;

  /** `open` makes this store's own connection (openConnection), at first use, so
   * a CLI command that never touches this state never opens it; it is then
   * switched to synchronous=NORMAL. */
  constructor(open: () => DatabaseSync) {
    this.#open = open;
  }

  #conn(): DatabaseSync {
    if (!this.#db) {
      const db = this.#open();
      db.exec('PRAGMA synchronous = NORMAL');
      this.#db = db;
    }
    return this.#db;
  }

  #op<T>(what: string, fn: (st: Statements) => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('unavailable', 'store is closed'));
    try {
      this.#st ??= prepare(this.#conn());
      return Promise.resolve(fn(this.#st));
    } catch (err) {
      return Promise.reject(toStoreError(err, what));
    }
  }

  getGreylist(key: GreylistKey): Promise<GreylistEntry | null> {
    return this.#op('reading greylist', (st) => {
      const r = st.glGet.get(key.network, key.sender, key.recipient) as GreylistRow | undefined;
      if (!r) return null;
      return { network: r.network, sender: r.sender, recipient: r.recipient, firstSeen: r.first_seen, lastSeen: r.last_seen, passedAt: r.passed_at, passes: r.passes };
    });
  }

  putGreylist(e: GreylistEntry): Promise<void> {
    return this.#op('writing greylist', (st) => {
      st.glPut.run(e.network, e.sender, e.recipient, requireMs(e.firstSeen, 'firstSeen'), requireMs(e.lastSeen, 'lastSeen'), e.passedAt === null ? null : requireMs(e.passedAt, 'passedAt'), e.passes);
    });
  }

  countGreylistPassed(network: string, sinceMs: number): Promise<number> {
    return this.#op('reading greylist', (st) => (st.glPassed.get(network, requireMs(sinceMs, 'since')) as { n: number }).n);
  }

  purgeGreylist(beforeMs: number): Promise<number> {
    return this.#op('purging greylist', (st) => Number(st.glPurge.run(requireMs(beforeMs, 'before')).changes));
  }

  addToCounter(key: string, windowStartMs: number, by: number, expiresAtMs: number): Promise<number> {
    return this.#op('counting', (st) => {
      if (!Number.isSafeInteger(by)) throw new StoreError('invalid', 'by must be an integer');
      const r = st.ctrAdd.get(key, requireMs(windowStartMs, 'windowStart'), by, requireMs(expiresAtMs, 'expiresAt')) as { count: number };
      return r.count;
    });
  }

  getCounter(key: string, windowStartMs: number): Promise<number> {
    return this.#op('reading counter', (st) => (st.ctrGet.get(key, requireMs(windowStartMs, 'windowStart')) as { count: number } | undefined)?.count ?? 0);
  }

  purgeCounters(beforeMs: number): Promise<number> {
    return this.#op('purging counters', (st) => Number(st.ctrPurge.run(requireMs(beforeMs, 'before')).changes));
  }

  setRateOverride(accountId: number, o: RateOverride | null): Promise<void> {
    return this.#op('setting rate override', (st) => {
      if (!st.accountExists.get(accountId)) throw new StoreError('not_found', `no account with id ${accountId}`);
      if (o === null || (o.messagesPerHour === null && o.recipientsPerDay === null)) st.ovDel.run(accountId);
      else st.ovSet.run(accountId, requireLimit(o.messagesPerHour, 'messagesPerHour'), requireLimit(o.recipientsPerDay, 'recipientsPerDay'));
    });
  }

  getRateOverride(accountId: number): Promise<RateOverride | null> {
    return this.#op('reading rate override', (st) => {
      const r = st.ovGet.get(accountId) as { messages_per_hour: number | null; recipients_per_day: number | null } | undefined;
      return r ? { messagesPerHour: r.messages_per_hour, recipientsPerDay: r.recipients_per_day } : null;
    });
  }

  getSpamTokens(scope: number, tokens: readonly string[]): Promise<Map<string, TokenCounts>> {
    return this.#op('reading spam tokens', (st) => {
      const out = new Map<string, TokenCounts>();
      if (tokens.length === 0) return out;
      const rows = st.tokGet.all(requireScope(scope), JSON.stringify(tokens)) as Array<{ token: string; spam: number; ham: number }>;
      for (const r of rows) out.set(r.token, { spam: r.spam, ham: r.ham });
      return out;
    });
  }

  getSpamTotals(scope: number): Promise<TokenCounts> {
    return this.#op('reading spam totals', (st) => {
      const r = st.totGet.get(requireScope(scope)) as TokenCounts | undefined;
      return r ? { spam: r.spam, ham: r.ham } : { spam: 0, ham: 0 };
    });
  }

  trainSpam(scope: number, messageKey: string, tokens: readonly string[], label: SpamLabel, atMs: number): Promise<boolean> {
    return this.#op('training spam filter', (st) =>
      withTransaction(this.#conn(), () => {
        requireScope(scope);
        if (label !== 'spam' && label !== 'ham') throw new StoreError('invalid', 'label must be spam or ham');
        const unique = [...new Set(tokens)];
        const prev = st.trainedGet.get(scope, messageKey) as { label: SpamLabel; tokens: string } | undefined;
        if (prev?.label === label) return false;
        if (prev) {
          // Undo the earlier lesson with the tokens it used.
          const old = JSON.parse(prev.tokens) as string[];
          const [s, h] = prev.label === 'spam' ? [-1, 0] : [0, -1];
          for (const t of old) st.tokAdd.run(scope, t, s, h);
          st.tokDropEmpty.run(scope, prev.tokens);
          st.totAdd.run(scope, s, h);
        }
        const [s, h] = label === 'spam' ? [1, 0] : [0, 1];
        for (const t of unique) st.tokAdd.run(scope, t, s, h);
        st.totAdd.run(scope, s, h);
        st.trainedPut.run(scope, messageKey, label, JSON.stringify(unique), requireMs(atMs, 'at'));
        return true;
      }),
    );
  }

  addSenderRule(rule: SenderRule): Promise<void> {
    return this.#op('adding sender rule', (st) => {
      if (rule.action !== 'allow' && rule.action !== 'block') throw new StoreError('invalid', 'action must be allow or block');
      if (rule.accountId !== 0 && !st.accountExists.get(rule.accountId)) throw new StoreError('not_found', `no account with id ${rule.accountId}`);
      const p = rule.pattern.toLowerCase();
      if (!/^[^\s@]*@[^\s@]+$/.test(p)) throw new StoreError('invalid', 'pattern must be user@domain or @domain');
      st.ruleAdd.run(rule.accountId, p, rule.action);
    });
  }

  removeSenderRule(accountId: number, pattern: string): Promise<boolean> {
    return this.#op('removing sender rule', (st) => Number(st.ruleDel.run(accountId, pattern.toLowerCase()).changes) > 0);
  }

  listSenderRules(accountId: number): Promise<SenderRule[]> {
    return this.#op('listing sender rules', (st) =>
      (st.ruleList.all(accountId) as Array<{ account_id: number; pattern: string; action: 'allow' | 'block' }>).map((r) => ({ accountId: r.account_id, pattern: r.pattern, action: r.action })),
    );
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db?.close();
    this.#db = null;
  }
}
