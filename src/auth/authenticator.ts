// The Authenticator protocol sessions are handed (types.ts), backed by the
// Store: usernames are full addresses, canonicalised like the store's keys
// (store/names.ts). A password is checked against the account's argon2id hash
// (constant-time compare, password.ts), then each app password; an unknown
// user is checked against a dummy hash so the answer takes about as long.
// SCRAM uses the stored keys. Every attempt passes the Throttle first, every
// failure is counted there, and each outcome is logged with the client IP,
// the username and the mechanism — never the password.

import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/store.ts';
import { parseAddress } from '../store/names.ts';
import type { AuthContext, Authenticator, AuthUser, SaslExchange, SaslStep } from './types.ts';
import { hashPassword, verifyPassword } from './password.ts';
import type { Throttle } from './throttle.ts';
import { failure, success, type SaslFailure, type SaslMechanism, type Verdict } from './sasl/mechanism.ts';
import { PlainMechanism } from './sasl/plain.ts';
import { LoginMechanism } from './sasl/login.ts';
import { ScramSha256Mechanism, type ScramCredential, type ScramLookupResult } from './sasl/scram.ts';
import { parseScramKeys } from './sasl/scram-keys.ts';

export const MECHANISMS = ['SCRAM-SHA-256', 'PLAIN', 'LOGIN'] as const;
export type MechanismName = (typeof MECHANISMS)[number];

export interface AuthenticatorOptions {
  /** Mechanisms offered, in this order; default all of MECHANISMS. */
  mechanisms?: readonly MechanismName[];
  /** SCRAM server nonce (tests); random by default. */
  scramNonce?: () => string;
}

const FAILED = failure('bad_credentials', 'authentication failed');
const THROTTLED = failure('throttled', 'too many failed logins; try again later');
const UNAVAILABLE = failure('temporary', 'authentication is temporarily unavailable');

/** Canonical account name for a login name: trimmed, lower-cased, IDN domain as A-labels; null if not an address. */
export function canonicalUsername(name: string): string | null {
  return parseAddress(name.trim());
}

/** The name failures are counted and logged under, also for names that are not addresses. */
function accountKey(name: string): string {
  return canonicalUsername(name) ?? name.trim().toLowerCase().slice(0, 200);
}

const sameIdentity = (a: string, b: string) => accountKey(a) === accountKey(b);

export class StoreAuthenticator implements Authenticator {
  readonly #store: Store;
  readonly #throttle: Throttle;
  readonly #log: Logger;
  readonly #mechanisms: readonly MechanismName[];
  readonly #scramNonce: (() => string) | undefined;
  readonly #fakeSaltKey = randomBytes(32);
  #dummyHash: Promise<string> | undefined;

  constructor(store: Store, throttle: Throttle, logger: Logger, opts: AuthenticatorOptions = {}) {
    this.#store = store;
    this.#throttle = throttle;
    this.#log = logger;
    this.#mechanisms = opts.mechanisms ?? MECHANISMS;
    this.#scramNonce = opts.scramNonce;
  }

  mechanisms(): string[] {
    return [...this.#mechanisms];
  }

  start(mechanism: string, ctx: AuthContext): SaslExchange | null {
    const name = mechanism.toUpperCase();
    if (!(this.#mechanisms as readonly string[]).includes(name)) return null;
    const verify = (u: string, p: string) => this.#checkPassword(u, p, name, ctx);
    let mech: SaslMechanism;
    if (name === 'PLAIN') mech = new PlainMechanism({ verify, sameIdentity });
    else if (name === 'LOGIN') mech = new LoginMechanism({ verify });
    else {
      mech = new ScramSha256Mechanism({
        lookup: (u) => this.#scramLookup(u, ctx),
        settle: (u, user, why) => this.#settle(accountKey(u), user, why, name, ctx),
        sameIdentity,
        nonce: this.#scramNonce,
        fakeSaltKey: this.#fakeSaltKey,
      });
    }
    return new GuardedExchange(mech, this.#throttle, this.#log, ctx);
  }

  async verifyPlain(username: string, password: string, ctx: AuthContext): Promise<Verdict> {
    if (this.#throttle.isBlocked(ctx.clientIp)) return THROTTLED;
    try {
      return await this.#checkPassword(username, password, 'password', ctx);
    } catch (err) {
      this.#log.error('auth error', { ip: ctx.clientIp, session: ctx.sessionId, err });
      return UNAVAILABLE;
    }
  }

  isBlocked(ctx: AuthContext): boolean {
    return this.#throttle.isBlocked(ctx.clientIp);
  }

  /** Refuses locked-out IPs and accounts before any password is looked at. */
  #refused(key: string, mechanism: string, ctx: AuthContext): SaslFailure | null {
    const why = this.#throttle.refusal(ctx.clientIp, key);
    if (why === null) return null;
    this.#log.info('auth refused', { ip: ctx.clientIp, username: key, reason: why, mechanism, protocol: ctx.protocol, session: ctx.sessionId });
    return THROTTLED;
  }

  async #checkPassword(rawUsername: string, password: string, mechanism: string, ctx: AuthContext): Promise<Verdict> {
    const key = accountKey(rawUsername);
    const refused = this.#refused(key, mechanism, ctx);
    if (refused) return refused;
    const username = canonicalUsername(rawUsername);
    let account;
    let apps;
    try {
      account = username === null ? null : await this.#store.getAccount(username);
      apps = account ? await this.#store.listAppPasswords(account.id) : [];
    } catch (err) {
      this.#log.error('auth store error', { ip: ctx.clientIp, username: key, session: ctx.sessionId, err });
      return UNAVAILABLE;
    }
    if (!account) {
      // Spend about the time a real check takes, so timing does not tell which accounts exist.
      await verifyPassword(password, await this.#dummy());
      return this.#settle(key, null, username === null ? 'not an address' : 'unknown user', mechanism, ctx);
    }
    let appPassword: string | null | undefined;
    if (await verifyPassword(password, account.passwordHash)) appPassword = null;
    else {
      for (const p of apps) {
        if (await verifyPassword(password, p.passwordHash)) {
          appPassword = p.name;
          break;
        }
      }
    }
    const user = appPassword === undefined ? null : { accountId: account.id, address: account.address, appPassword };
    return this.#settle(key, user, 'wrong password', mechanism, ctx);
  }

  async #scramLookup(rawUsername: string, ctx: AuthContext): Promise<ScramLookupResult> {
    const key = accountKey(rawUsername);
    const refused = this.#refused(key, 'SCRAM-SHA-256', ctx);
    if (refused) return refused;
    const username = canonicalUsername(rawUsername);
    if (username === null) return { kind: 'unknown', why: 'not an address' };
    try {
      const account = await this.#store.getAccount(username);
      if (!account) return { kind: 'unknown', why: 'unknown user' };
      const credentials: ScramCredential[] = [];
      const main = parseScramKeys(account.scram);
      if (main) credentials.push({ appPassword: null, keys: main });
      for (const p of await this.#store.listAppPasswords(account.id)) {
        const keys = parseScramKeys(p.scram);
        if (keys) credentials.push({ appPassword: p.name, keys });
      }
      return { kind: 'found', user: { accountId: account.id, address: account.address }, credentials };
    } catch (err) {
      this.#log.error('auth store error', { ip: ctx.clientIp, username: key, session: ctx.sessionId, err });
      return UNAVAILABLE;
    }
  }

  /** Logs the outcome and feeds the throttle; a failure may come back as 'throttled'. */
  async #settle(key: string, user: AuthUser | null, why: string, mechanism: string, ctx: AuthContext): Promise<Verdict> {
    const fields = { ip: ctx.clientIp, mechanism, protocol: ctx.protocol, session: ctx.sessionId };
    if (user) {
      this.#throttle.succeeded(ctx.clientIp, key);
      this.#log.info('auth ok', { ...fields, user: user.address, appPassword: user.appPassword });
      return success(user);
    }
    this.#log.warn('auth failed', { ...fields, username: key, reason: why });
    return (await this.#throttle.failed(ctx.clientIp, key)) === 'throttled' ? THROTTLED : FAILED;
  }

  #dummy(): Promise<string> {
    return (this.#dummyHash ??= hashPassword(randomBytes(16).toString('hex')));
  }
}

/** Refuses a locked-out IP at the first step, and turns anything a
 * mechanism throws (a bug) into a temporary failure: no exception reaches
 * the session. */
class GuardedExchange implements SaslExchange {
  readonly #mech: SaslMechanism;
  readonly #throttle: Throttle;
  readonly #log: Logger;
  readonly #ctx: AuthContext;
  #first = true;

  constructor(mech: SaslMechanism, throttle: Throttle, log: Logger, ctx: AuthContext) {
    this.#mech = mech;
    this.#throttle = throttle;
    this.#log = log;
    this.#ctx = ctx;
  }

  async step(response: Buffer | null, aborted = false): Promise<SaslStep> {
    if (this.#first && !aborted && this.#throttle.isBlocked(this.#ctx.clientIp)) {
      this.#first = false;
      // End the mechanism too, so further steps are refused.
      await this.#mech.step(null, true).catch(() => undefined);
      return THROTTLED;
    }
    this.#first = false;
    try {
      return await this.#mech.step(response, aborted);
    } catch (err) {
      this.#log.error('auth mechanism error', { mechanism: this.#mech.name, ip: this.#ctx.clientIp, session: this.#ctx.sessionId, err });
      return UNAVAILABLE;
    }
  }
}
