// StoreAuthenticator against a real SqliteStore in a temporary directory:
// main and app passwords through PLAIN, LOGIN, SCRAM-SHA-256 and verifyPlain,
// a revoked app password, unknown users, wrong passwords, the log lines, and
// throttling with a fake clock and a fake sleep (lockout and its expiry).

import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from '../store/sqlite/index.ts';
import { createLogger } from '../log/logger.ts';
import { StoreAuthenticator, canonicalUsername } from './authenticator.ts';
import { Throttle, type ThrottleOptions } from './throttle.ts';
import { hashCredentials, scramSaltOf } from './credentials.ts';
import { hashPassword } from './password.ts';
import { scramClientFinal, scramClientFirst } from './sasl/scram-client.ts';
import type { AuthContext, Authenticator, SaslStep } from './types.ts';

const CTX: AuthContext = { clientIp: '192.0.2.10', protocol: 'submission', sessionId: 'S1' };
const b = (s: string) => Buffer.from(s, 'utf8');
const reason = (r: SaslStep) => (r.kind === 'failure' ? r.reason : r.kind);

let dir: string;
let store: SqliteStore;
let appPw: string;
let accountId: number;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mailroom-auth-'));
  store = await openSqliteStore({ dataDir: dir, commitIn: 'main' });
  await store.addDomain('example.com');
  const main = await hashCredentials('correct horse');
  accountId = (await store.addAccount({ address: 'bob@example.com', quotaBytes: 0, ...main })).id;
  appPw = 'abcd-efgh-ijkl-mnop';
  const app = await hashCredentials(appPw, { scramSalt: scramSaltOf(main.scram, []) });
  await store.addAppPassword(accountId, 'phone', app.passwordHash, app.scram);
  const old = await hashCredentials('revoked-one', { scramSalt: scramSaltOf(main.scram, []) });
  await store.addAppPassword(accountId, 'old-laptop', old.passwordHash, old.scram);
  await store.removeAppPassword(accountId, 'old-laptop');
  // An account from before SCRAM: argon2id only.
  await store.addAccount({ address: 'legacy@example.com', quotaBytes: 0, passwordHash: await hashPassword('legacy pw') });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const THROTTLE: ThrottleOptions = {
  maxFailuresPerIp: 10,
  maxFailuresPerAccount: 20,
  failureWindowMs: 15 * 60_000,
  lockoutMs: 15 * 60_000,
  slowdownMs: 1000,
  slowdownAfter: 3,
  slowdownMaxMs: 5000,
};

let lines: Array<Record<string, unknown>>;
let slept: number[];
let clock: { t: number };

function make(opts: Partial<ThrottleOptions> = {}): Authenticator {
  const logger = createLogger({ write: (l) => void lines.push(JSON.parse(l)) });
  const throttle = new Throttle({ ...THROTTLE, ...opts }, { now: () => clock.t, sleep: async (ms) => void slept.push(ms), logger });
  return new StoreAuthenticator(store, throttle, logger);
}

beforeEach(() => {
  lines = [];
  slept = [];
  clock = { t: 1_700_000_000_000 };
});

async function plain(a: Authenticator, user: string, pw: string, ctx = CTX): Promise<SaslStep> {
  return a.start('PLAIN', ctx)!.step(b(`\0${user}\0${pw}`));
}

async function login(a: Authenticator, user: string, pw: string): Promise<SaslStep> {
  const x = a.start('login', CTX)!;
  assert.equal((await x.step(null)).kind, 'challenge');
  assert.equal((await x.step(b(user))).kind, 'challenge');
  return x.step(b(pw));
}

async function scram(a: Authenticator, user: string, pw: string): Promise<SaslStep> {
  const x = a.start('SCRAM-SHA-256', CTX)!;
  const first = scramClientFirst(user);
  const sf = await x.step(b(first.message));
  if (sf.kind !== 'challenge') return sf;
  const fin = (await scramClientFinal(first, sf.data.toString(), pw))!;
  const r = await x.step(b(fin.message));
  if (r.kind === 'success') assert.equal(r.data?.toString(), fin.expectedServerFinal, 'server signature');
  return r;
}

describe('StoreAuthenticator', () => {
  it('offers SCRAM-SHA-256, PLAIN and LOGIN, case-insensitively; nothing else', () => {
    const a = make();
    assert.deepEqual(a.mechanisms(), ['SCRAM-SHA-256', 'PLAIN', 'LOGIN']);
    assert.ok(a.start('plain', CTX));
    assert.equal(a.start('CRAM-MD5', CTX), null);
  });

  it('the main password works with every mechanism and verifyPlain', async () => {
    const a = make();
    const me = { accountId, address: 'bob@example.com', appPassword: null };
    assert.deepEqual(await plain(a, 'bob@example.com', 'correct horse'), { kind: 'success', user: me, data: null });
    assert.deepEqual(await login(a, ' Bob@EXAMPLE.com ', 'correct horse'), { kind: 'success', user: me, data: null });
    const s = await scram(a, 'bob@example.com', 'correct horse');
    assert.equal(s.kind === 'success' && s.user.accountId, accountId);
    assert.deepEqual(await a.verifyPlain('BOB@example.com', 'correct horse', CTX), { kind: 'success', user: me, data: null });
    const ok = lines.filter((l) => l.msg === 'auth ok');
    assert.deepEqual(ok.map((l) => l.mechanism), ['PLAIN', 'LOGIN', 'SCRAM-SHA-256', 'password']);
    assert.equal(ok[0]!.user, 'bob@example.com');
    assert.equal(ok[0]!.ip, CTX.clientIp);
    assert.equal(ok[0]!.session, 'S1');
    assert.ok(!JSON.stringify(lines).includes('correct horse'), 'the password is never logged');
  });

  it('an app password works anywhere and is named; a revoked one does not', async () => {
    const a = make();
    for (const r of [await plain(a, 'bob@example.com', appPw), await login(a, 'bob@example.com', appPw), await scram(a, 'bob@example.com', appPw), await a.verifyPlain('bob@example.com', appPw, CTX)]) {
      assert.equal(r.kind === 'success' && r.user.appPassword, 'phone');
    }
    assert.equal(lines.filter((l) => l.msg === 'auth ok' && l.appPassword === 'phone').length, 4);
    assert.equal(reason(await plain(a, 'bob@example.com', 'revoked-one')), 'bad_credentials');
    assert.equal(reason(await scram(a, 'bob@example.com', 'revoked-one')), 'bad_credentials');
  });

  it('wrong passwords and unknown users fail alike, and are logged with ip, username and reason', async () => {
    const a = make();
    assert.equal(reason(await plain(a, 'bob@example.com', 'wrong')), 'bad_credentials');
    assert.equal(reason(await plain(a, 'nobody@example.com', 'wrong')), 'bad_credentials');
    assert.equal(reason(await scram(a, 'nobody@example.com', 'wrong')), 'bad_credentials');
    assert.equal(reason(await a.verifyPlain('not an address', 'x', CTX)), 'bad_credentials');
    const failed = lines.filter((l) => l.msg === 'auth failed');
    assert.deepEqual(
      failed.map((l) => [l.username, l.reason, l.ip]),
      [
        ['bob@example.com', 'wrong password', CTX.clientIp],
        ['nobody@example.com', 'unknown user', CTX.clientIp],
        ['nobody@example.com', 'unknown user', CTX.clientIp],
        ['not an address', 'not an address', CTX.clientIp],
      ],
    );
    assert.ok(!JSON.stringify(lines).includes('wrong"'), 'no password in the log');
  });

  it('an account without SCRAM keys fails SCRAM but can use PLAIN', async () => {
    const a = make();
    assert.equal(reason(await scram(a, 'legacy@example.com', 'legacy pw')), 'bad_credentials');
    assert.equal((await plain(a, 'legacy@example.com', 'legacy pw')).kind, 'success');
  });

  it('throttles an IP after N failures, refuses even the right password, and lifts after the lockout', async () => {
    const a = make({ maxFailuresPerIp: 5 });
    for (let i = 0; i < 4; i++) assert.equal(reason(await plain(a, 'bob@example.com', `guess${i}`)), 'bad_credentials');
    assert.deepEqual(slept, [1000], 'the 4th failure waited');
    assert.equal(reason(await plain(a, 'bob@example.com', 'guess5')), 'throttled');
    assert.equal(a.isBlocked(CTX), true);
    assert.equal(reason(await plain(a, 'bob@example.com', 'correct horse')), 'throttled');
    assert.equal(reason(await a.verifyPlain('bob@example.com', 'correct horse', CTX)), 'throttled');
    assert.equal(reason(await a.start('SCRAM-SHA-256', CTX)!.step(null)), 'throttled');
    assert.ok(lines.some((l) => l.msg === 'auth throttled' && l.ip === CTX.clientIp));
    const other = { ...CTX, clientIp: '192.0.2.99' };
    assert.equal((await plain(a, 'bob@example.com', 'correct horse', other)).kind, 'success', 'another IP is fine');
    clock.t += 15 * 60_000;
    assert.equal(a.isBlocked(CTX), false);
    assert.equal((await plain(a, 'bob@example.com', 'correct horse')).kind, 'success');
  });

  it('locks an account after failures from many IPs; a success before that clears its count', async () => {
    const a = make({ maxFailuresPerAccount: 3, slowdownMs: 0 });
    const from = (n: number) => ({ ...CTX, clientIp: `198.51.100.${n}` });
    await plain(a, 'bob@example.com', 'x', from(1));
    await plain(a, 'bob@example.com', 'x', from(2));
    assert.equal((await plain(a, 'bob@example.com', 'correct horse', from(3))).kind, 'success');
    await plain(a, 'bob@example.com', 'x', from(4));
    await plain(a, 'bob@example.com', 'x', from(5));
    assert.equal(reason(await plain(a, 'bob@example.com', 'x', from(6))), 'throttled');
    assert.equal(reason(await plain(a, 'bob@example.com', 'correct horse', from(7))), 'throttled');
    assert.equal(reason(await scram(a, 'bob@example.com', 'correct horse')), 'throttled', 'SCRAM refuses at client-first');
    assert.equal(a.isBlocked(from(7)), false, 'the IP itself is not blocked');
    clock.t += 15 * 60_000;
    assert.equal((await plain(a, 'bob@example.com', 'correct horse', from(7))).kind, 'success');
  });

  it('answers temporary when the store is down', async () => {
    const d = await mkdtemp(join(tmpdir(), 'mailroom-auth-down-'));
    const s = await openSqliteStore({ dataDir: d, commitIn: 'main' });
    await s.close();
    const a = new StoreAuthenticator(s, new Throttle(THROTTLE, { sleep: async () => {} }), createLogger({ write: () => {} }));
    assert.equal(reason(await plain(a, 'bob@example.com', 'x')), 'temporary');
    assert.equal(reason(await scram(a, 'bob@example.com', 'x')), 'temporary');
    await rm(d, { recursive: true, force: true });
  });

  it('canonicalises usernames like the store', () => {
    assert.equal(canonicalUsername('  Bob@Bücher.Example '), 'bob@xn--bcher-kva.example');
    assert.equal(canonicalUsername('bob'), null);
  });
});
