// The abuse-defence state (store/abuse-store.ts) on PostgreSQL, shared by
// every node so an attacker cannot multiply greylisting or rate limits by the
// number of nodes: a counter is one upsert that returns the new total, so
// concurrent increments on different nodes add up exactly. This state is
// advisory, so it uses its own small pool with synchronous_commit = off:
// commits are atomic and ordered but do not wait for the WAL flush (a crash
// of the database server may forget the last fraction of a second of them).

import type { Pool, PoolClient } from 'pg';
import { StoreError } from '../store.ts';
import type { AbuseStore, GreylistEntry, GreylistKey, RateOverride, SenderRule, SpamLabel, TokenCounts } from '../abuse-store.ts';
import { pgStoreError, withTx } from './connection.ts';

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

interface GreylistRow {
  network: string;
  sender: string;
  recipient: string;
  first_seen: number;
  last_seen: number;
  passed_at: number | null;
  passes: number;
}

export class PgAbuseStore implements AbuseStore {
  readonly #pool: Pool;
  readonly #guard: <T>(what: string, fn: () => Promise<T>) => Promise<T>;

  /** `guard` is the owning store's #op (closed check, in-flight tracking). */
  constructor(pool: Pool, guard: <T>(what: string, fn: () => Promise<T>) => Promise<T>) {
    this.#pool = pool;
    this.#guard = guard;
  }

  #q<T>(what: string, fn: (c: Pool) => Promise<T>): Promise<T> {
    return this.#guard(what, async () => {
      try {
        return await fn(this.#pool);
      } catch (err) {
        throw pgStoreError(err, what);
      }
    });
  }

  getGreylist(key: GreylistKey): Promise<GreylistEntry | null> {
    return this.#q('reading greylist', async (c) => {
      const r = await c.query<GreylistRow>(
        'SELECT * FROM greylist WHERE network = $1 AND sender = $2 AND recipient = $3',
        [key.network, key.sender, key.recipient],
      );
      const g = r.rows[0];
      if (!g) return null;
      return { network: g.network, sender: g.sender, recipient: g.recipient, firstSeen: g.first_seen, lastSeen: g.last_seen, passedAt: g.passed_at, passes: g.passes };
    });
  }

  putGreylist(e: GreylistEntry): Promise<void> {
    return this.#q('writing greylist', async (c) => {
      await c.query(
        `INSERT INTO greylist (network, sender, recipient, first_seen, last_seen, passed_at, passes) VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (network, sender, recipient) DO UPDATE SET first_seen = EXCLUDED.first_seen, last_seen = EXCLUDED.last_seen,
           passed_at = EXCLUDED.passed_at, passes = EXCLUDED.passes`,
        [
          e.network,
          e.sender,
          e.recipient,
          requireMs(e.firstSeen, 'firstSeen'),
          requireMs(e.lastSeen, 'lastSeen'),
          e.passedAt === null ? null : requireMs(e.passedAt, 'passedAt'),
          e.passes,
        ],
      );
    });
  }

  countGreylistPassed(network: string, sinceMs: number): Promise<number> {
    return this.#q('reading greylist', async (c) => {
      const r = await c.query<{ n: number }>(
        'SELECT count(*) AS n FROM greylist WHERE network = $1 AND passed_at IS NOT NULL AND last_seen >= $2',
        [network, requireMs(sinceMs, 'since')],
      );
      return r.rows[0]!.n;
    });
  }

  purgeGreylist(beforeMs: number): Promise<number> {
    return this.#q('purging greylist', async (c) => (await c.query('DELETE FROM greylist WHERE last_seen < $1', [requireMs(beforeMs, 'before')])).rowCount ?? 0);
  }

  addToCounter(key: string, windowStartMs: number, by: number, expiresAtMs: number): Promise<number> {
    return this.#q('counting', async (c) => {
      if (!Number.isSafeInteger(by)) throw new StoreError('invalid', 'by must be an integer');
      const r = await c.query<{ count: number }>(
        `INSERT INTO rate_counters (key, window_start, count, expires_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (key, window_start) DO UPDATE SET count = rate_counters.count + EXCLUDED.count,
           expires_at = greatest(rate_counters.expires_at, EXCLUDED.expires_at)
         RETURNING count`,
        [key, requireMs(windowStartMs, 'windowStart'), by, requireMs(expiresAtMs, 'expiresAt')],
      );
      return r.rows[0]!.count;
    });
  }

  getCounter(key: string, windowStartMs: number): Promise<number> {
    return this.#q('reading counter', async (c) => {
      const r = await c.query<{ count: number }>('SELECT count FROM rate_counters WHERE key = $1 AND window_start = $2', [key, requireMs(windowStartMs, 'windowStart')]);
      return r.rows[0]?.count ?? 0;
    });
  }

  purgeCounters(beforeMs: number): Promise<number> {
    return this.#q('purging counters', async (c) => (await c.query('DELETE FROM rate_counters WHERE expires_at < $1', [requireMs(beforeMs, 'before')])).rowCount ?? 0);
  }

  setRateOverride(accountId: number, o: RateOverride | null): Promise<void> {
    return this.#q('setting rate override', async (c) => {
      const exists = Number.isSafeInteger(accountId) && ((await c.query('SELECT 1 FROM accounts WHERE id = $1', [accountId])).rowCount ?? 0) > 0;
      if (!exists) throw new StoreError('not_found', `no account with id ${accountId}`);
      if (o === null || (o.messagesPerHour === null && o.recipientsPerDay === null)) {
        await c.query('DELETE FROM rate_overrides WHERE account_id = $1', [accountId]);
        return;
      }
      await c.query(
        `INSERT INTO rate_overrides (account_id, messages_per_hour, recipients_per_day) VALUES ($1, $2, $3)
         ON CONFLICT (account_id) DO UPDATE SET messages_per_hour = EXCLUDED.messages_per_hour, recipients_per_day = EXCLUDED.recipients_per_day`,
        [accountId, requireLimit(o.messagesPerHour, 'messagesPerHour'), requireLimit(o.recipientsPerDay, 'recipientsPerDay')],
      );
    });
  }

  getRateOverride(accountId: number): Promise<RateOverride | null> {
    return this.#q('reading rate override', async (c) => {
      if (!Number.isSafeInteger(accountId)) return null;
      const r = await c.query<{ messages_per_hour: number | null; recipients_per_day: number | null }>(
        'SELECT messages_per_hour, recipients_per_day FROM rate_overrides WHERE account_id = $1',
        [accountId],
      );
      const o = r.rows[0];
      return o ? { messagesPerHour: o.messages_per_hour, recipientsPerDay: o.recipients_per_day } : null;
    });
  }

  getSpamTokens(scope: number, tokens: readonly string[]): Promise<Map<string, TokenCounts>> {
    return this.#q('reading spam tokens', async (c) => {
      const out = new Map<string, TokenCounts>();
      if (tokens.length === 0) return out;
      const r = await c.query<{ token: string; spam: number; ham: number }>(
        'SELECT token, spam, ham FROM spam_tokens WHERE scope = $1 AND token = ANY($2::text[])',
        [requireScope(scope), [...new Set(tokens)]],
      );
      for (const t of r.rows) out.set(t.token, { spam: t.spam, ham: t.ham });
      return out;
    });
  }

  getSpamTotals(scope: number): Promise<TokenCounts> {
    return this.#q('reading spam totals', async (c) => {
      const r = await c.query<TokenCounts>('SELECT spam, ham FROM spam_totals WHERE scope = $1', [requireScope(scope)]);
      return r.rows[0] ? { spam: r.rows[0].spam, ham: r.rows[0].ham } : { spam: 0, ham: 0 };
    });
  }

  trainSpam(scope: number, messageKey: string, tokens: readonly string[], label: SpamLabel, atMs: number): Promise<boolean> {
    return this.#guard('training spam filter', async () => {
      requireScope(scope);
      if (label !== 'spam' && label !== 'ham') throw new StoreError('invalid', 'label must be spam or ham');
      const at = requireMs(atMs, 'at');
      const unique = [...new Set(tokens)];
      try {
        return await withTx(this.#pool, async (c: PoolClient) => {
          // Two nodes training one message serialize on this lock (the row may not exist yet).
          await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`spam:${scope}:${messageKey}`]);
          const prev = (
            await c.query<{ label: string; tokens: string }>('SELECT label, tokens FROM spam_trained WHERE scope = $1 AND message_key = $2 FOR UPDATE', [scope, messageKey])
          ).rows[0];
          if (prev?.label === label) return false;
          const add = async (list: string[], s: number, h: number) => {
            if (list.length === 0) return;
            await c.query(
              `INSERT INTO spam_tokens (scope, token, spam, ham) SELECT $1, t, $3, $4 FROM unnest($2::text[]) AS t ORDER BY t
               ON CONFLICT (scope, token) DO UPDATE SET spam = greatest(0, spam_tokens.spam + EXCLUDED.spam), ham = greatest(0, spam_tokens.ham + EXCLUDED.ham)`,
              [scope, list, s, h],
            );
          };
          if (prev && (prev.label === 'spam' || prev.label === 'ham')) {
            const old = JSON.parse(prev.tokens) as string[];
            const [s, h] = prev.label === 'spam' ? [-1, 0] : [0, -1];
            await add(old, s, h);
            await c.query('DELETE FROM spam_tokens WHERE scope = $1 AND spam = 0 AND ham = 0 AND token = ANY($2::text[])', [scope, old]);
            await c.query('UPDATE spam_totals SET spam = greatest(0, spam + $2), ham = greatest(0, ham + $3) WHERE scope = $1', [scope, s, h]);
          }
          const [s, h] = label === 'spam' ? [1, 0] : [0, 1];
          await add(unique, s, h);
          await c.query(
            `INSERT INTO spam_totals (scope, spam, ham) VALUES ($1, $2, $3) ON CONFLICT (scope) DO UPDATE
             SET spam = greatest(0, spam_totals.spam + $2), ham = greatest(0, spam_totals.ham + $3)`,
            [scope, s, h],
          );
          await c.query(
            `INSERT INTO spam_trained (scope, message_key, label, tokens, trained_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (scope, message_key) DO UPDATE SET label = EXCLUDED.label, tokens = EXCLUDED.tokens, trained_at = EXCLUDED.trained_at`,
            [scope, messageKey, label, JSON.stringify(unique), at],
          );
          return true;
        });
      } catch (err) {
        throw pgStoreError(err, 'training spam filter');
      }
    });
  }

  addSenderRule(rule: SenderRule): Promise<void> {
    return this.#q('adding sender rule', async (c) => {
      if (rule.action !== 'allow' && rule.action !== 'block') throw new StoreError('invalid', 'action must be allow or block');
      if (rule.accountId !== 0) {
        const exists = Number.isSafeInteger(rule.accountId) && ((await c.query('SELECT 1 FROM accounts WHERE id = $1', [rule.accountId])).rowCount ?? 0) > 0;
        if (!exists) throw new StoreError('not_found', `no account with id ${rule.accountId}`);
      }
      const p = String(rule.pattern).toLowerCase();
      if (!/^[^\s@]*@[^\s@]+$/.test(p)) throw new StoreError('invalid', 'pattern must be user@domain or @domain');
      await c.query(
        `INSERT INTO sender_rules (account_id, pattern, action) VALUES ($1, $2, $3)
         ON CONFLICT (account_id, pattern) DO UPDATE SET action = EXCLUDED.action`,
        [rule.accountId, p, rule.action],
      );
    });
  }

  removeSenderRule(accountId: number, pattern: string): Promise<boolean> {
    return this.#q('removing sender rule', async (c) => {
      const r = await c.query('DELETE FROM sender_rules WHERE account_id = $1 AND pattern = $2', [accountId, pattern.toLowerCase()]);
      return (r.rowCount ?? 0) > 0;
    });
  }

  listSenderRules(accountId: number): Promise<SenderRule[]> {
    return this.#q('listing sender rules', async (c) => {
      const r = await c.query<{ account_id: number; pattern: string; action: 'allow' | 'block' }>(
        'SELECT account_id, pattern, action FROM sender_rules WHERE account_id = $1 ORDER BY pattern',
        [accountId],
      );
      return r.rows.map((x) => ({ accountId: x.account_id, pattern: x.pattern, action: x.action }));
    });
  }
}
