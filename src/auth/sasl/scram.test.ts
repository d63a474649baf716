// SCRAM-SHA-256 server: driven by the RFC 7677 §3 test vector (user "user",
// password "pencil"), a round trip with our client, app passwords sharing the
// account's salt, unknown users failing only at the end with a stable salt,
// and malformed messages (property test: arbitrary bytes never throw).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { AuthUser, SaslStep } from '../types.ts';
import { ScramSha256Mechanism, type ScramCredential, type ScramLookupResult, type ScramOptions } from './scram.ts';
import { deriveScramKeys, formatScramKeys, parseScramKeys } from './scram-keys.ts';
import { scramClientFinal, scramClientFirst } from './scram-client.ts';

const b = (s: string) => Buffer.from(s, 'utf8');
const text = (r: SaslStep) => (r.kind === 'challenge' ? r.data.toString('utf8') : assert.fail(`expected a challenge, got ${JSON.stringify(r)}`));
const reason = (r: SaslStep) => (r.kind === 'failure' ? r.reason : `(${r.kind})`);

// RFC 7677 §3.
const V = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
  salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
};

interface Harness {
  mech: ScramSha256Mechanism;
  settled: Array<{ username: string; user: AuthUser | null; why: string }>;
  lookups: string[];
}

function harness(creds: Record<string, ScramCredential[]>, extra: Partial<ScramOptions> = {}): Harness {
  const settled: Harness['settled'] = [];
  const lookups: string[] = [];
  const mech = new ScramSha256Mechanism({
    async lookup(username): Promise<ScramLookupResult> {
      lookups.push(username);
      const c = creds[username];
      if (!c) return { kind: 'unknown', why: 'no such user' };
      return { kind: 'found', user: { accountId: 7, address: username }, credentials: c };
    },
    async settle(username, user, why) {
      settled.push({ username, user, why });
      return user ? { kind: 'success', user, data: null } : { kind: 'failure', reason: 'bad_credentials', message: 'authentication failed' };
    },
    ...extra,
  });
  return { mech, settled, lookups };
}

async function keys(pw: string, salt?: Buffer, appPassword: string | null = null): Promise<ScramCredential> {
  return { appPassword, keys: await deriveScramKeys(pw, { salt }) };
}

async function login(h: Harness, username: string, password: string, gs2 = 'n,,'): Promise<SaslStep> {
  const first = scramClientFirst(username, 'cnonce', gs2);
  const sf = text(await h.mech.step(b(first.message)));
  const fin = await scramClientFinal(first, sf, password);
  return h.mech.step(b(fin!.message));
}

describe('SCRAM-SHA-256', () => {
  it('RFC 7677 §3 test vector, server side', async () => {
    const h = harness({ user: [await keys('pencil', V.salt)] }, { nonce: () => V.serverNonce });
    assert.equal(text(await h.mech.step(b(V.clientFirst))), V.serverFirst);
    const r = await h.mech.step(b(V.clientFinal));
    assert.equal(r.kind, 'success');
    assert.equal(r.kind === 'success' && r.data?.toString(), V.serverFinal);
    assert.deepEqual(h.settled, [{ username: 'user', user: { accountId: 7, address: 'user', appPassword: null }, why: '' }]);
    assert.equal(h.mech.username, 'user');
  });

  it('RFC 7677 §3 test vector: our client computes the same messages', async () => {
    const first = scramClientFirst('user', 'rOprNGfwEbeRWgbNEkqO');
    assert.equal(first.message, V.clientFirst);
    const fin = await scramClientFinal(first, V.serverFirst, 'pencil');
    assert.deepEqual(fin, { message: V.clientFinal, expectedServerFinal: V.serverFinal });
  });

  it('starts with an empty challenge when there is no initial response', async () => {
    const h = harness({ user: [await keys('pencil')] });
    assert.deepEqual(await h.mech.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
    const first = scramClientFirst('user');
    const sf = text(await h.mech.step(b(first.message)));
    const fin = (await scramClientFinal(first, sf, 'pencil'))!;
    const r = await h.mech.step(b(fin.message));
    assert.equal(r.kind === 'success' && r.data?.toString(), fin.expectedServerFinal);
  });

  it('a wrong password fails at the end and is settled with the reason', async () => {
    const h = harness({ user: [await keys('pencil')] });
    assert.equal(reason(await login(h, 'user', 'pen')), 'bad_credentials');
    assert.deepEqual(h.settled, [{ username: 'user', user: null, why: 'wrong password' }]);
  });

  it('an app password sharing the account salt works and is named', async () => {
    const main = await keys('pencil');
    const app = await keys('abcd-efgh', main.keys.salt, 'phone');
    const other = await keys('zzzz', undefined, 'old'); // another salt: not usable with SCRAM
    const h = harness({ user: [main, app, other] });
    const r = await login(h, 'user', 'abcd-efgh');
    assert.equal(r.kind === 'success' && r.user.appPassword, 'phone');
    assert.equal(reason(await login(harness({ user: [main, app, other] }), 'user', 'zzzz')), 'bad_credentials');
  });

  it('uses the first credential when the main password has no keys', async () => {
    const app = await keys('abcd', undefined, 'phone');
    const r = await login(harness({ user: [app] }), 'user', 'abcd');
    assert.equal(r.kind === 'success' && r.user.appPassword, 'phone');
  });

  it('unknown users and accounts without keys get a stable fake salt and fail only at the end', async () => {
    const key = Buffer.alloc(32, 1);
    const h1 = harness({ keyless: [] }, { fakeSaltKey: key });
    const sf1 = text(await h1.mech.step(b('n,,n=ghost,r=abc')));
    assert.match(sf1, /^r=abc[^,]+,s=[A-Za-z0-9+/=]{24},i=4096$/);
    const h2 = harness({}, { fakeSaltKey: key });
    const sf2 = text(await h2.mech.step(b('n,,n=ghost,r=abc')));
    assert.equal(sf1.split(',')[1], sf2.split(',')[1], 'same salt for the same name');
    assert.equal(reason(await login(harness({}), 'ghost', 'pw')), 'bad_credentials');
    const h3 = harness({ keyless: [] });
    assert.equal(reason(await login(h3, 'keyless', 'pw')), 'bad_credentials');
    assert.match(h3.settled[0]!.why, /no SCRAM keys/);
  });

  it('accepts gs2 "y,," (c=eSws) and refuses channel binding "p="', async () => {
    const h = harness({ user: [await keys('pencil')] });
    assert.equal((await login(h, 'user', 'pencil', 'y,,')).kind, 'success');
    const p = harness({ user: [await keys('pencil')] });
    const r = await p.mech.step(b('p=tls-exporter,,n=user,r=abc'));
    assert.equal(reason(r), 'malformed');
    assert.deepEqual(p.lookups, []);
  });

  it('authzid: the same user is fine, another is refused before any lookup', async () => {
    const h = harness({ 'a=b,c': [await keys('pw')] });
    assert.equal((await login(h, 'a=b,c', 'pw', 'n,a=a=3Db=2Cc,')).kind, 'success');
    const other = harness({ user: [await keys('pw')] });
    assert.equal(reason(await other.mech.step(b('n,a=admin,n=user,r=abc'))), 'bad_credentials');
    assert.deepEqual(other.lookups, []);
  });

  it('malformed client-first and client-final messages', async () => {
    const firsts = ['', 'x', 'n', 'n,', 'n,,', 'n,,r=abc', 'n,,n=user', 'n,,n=,r=abc', 'n,,n=us=er,r=abc', 'n,,n=user,r=a,b',
      'n,,m=ext,n=user,r=abc', 'n,x,n=user,r=abc', 'n,,n=user,r=ab c', 'n,,n=user,r=abc,1=x'];
    for (const f of firsts) {
      const h = harness({ user: [await keys('pw')] });
      assert.equal(reason(await h.mech.step(b(f))), 'malformed', JSON.stringify(f));
    }
    const finals = (nonce: string) => [
      `c=biws,r=${nonce}`,
      `c=biws,r=${nonce},p=AAAA`,
      `c=eSws,r=${nonce},p=${Buffer.alloc(32).toString('base64')}`, // gs2 header was "n,,"
      `c=biws,r=${nonce}x,p=${Buffer.alloc(32).toString('base64')}`,
      `r=${nonce},c=biws,p=${Buffer.alloc(32).toString('base64')}`,
      `c=biws,r=${nonce},p=${Buffer.alloc(32).toString('base64').slice(0, -1)}`,
    ];
    for (let i = 0; i < 6; i++) {
      const h = harness({ user: [await keys('pw')] });
      const sf = text(await h.mech.step(b('n,,n=user,r=abc')));
      const nonce = sf.slice(2, sf.indexOf(','));
      const f = finals(nonce)[i]!;
      assert.equal(reason(await h.mech.step(b(f))), 'malformed', f);
      assert.deepEqual(h.settled, [], 'malformed messages are not settled');
    }
  });

  it('lookup failures (throttled, temporary) end the exchange at once', async () => {
    const m = new ScramSha256Mechanism({
      lookup: async () => ({ kind: 'failure', reason: 'throttled', message: 'slow down' }),
      settle: async () => assert.fail('not reached'),
    });
    assert.equal(reason(await m.step(b('n,,n=user,r=abc'))), 'throttled');
    const t = new ScramSha256Mechanism({ lookup: async () => { throw new Error('db'); }, settle: async () => assert.fail('no') });
    assert.equal(reason(await t.step(b('n,,n=user,r=abc'))), 'temporary');
  });

  it('abort at any point; steps after the end are malformed', async () => {
    const h = harness({ user: [await keys('pw')] });
    await h.mech.step(b('n,,n=user,r=abc'));
    assert.equal(reason(await h.mech.step(null, true)), 'aborted');
    assert.equal(reason(await h.mech.step(b('c=biws'))), 'malformed');
  });

  it('stored keys: format round trip and malformed rows', async () => {
    const k = await deriveScramKeys('pencil', { salt: V.salt });
    const s = formatScramKeys(k);
    assert.match(s, /^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[A-Za-z0-9+/]{43}=:[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(parseScramKeys(s), k);
    for (const bad of [null, '', 'x', s.replace('4096', '0'), s.replace('SCRAM-SHA-256', 'SCRAM-SHA-1'), s + '$', s.replace('W22Z', 'W2*Z'),
      s.replace(/:[^:]+$/, ':AAAA')]) {
      assert.equal(parseScramKeys(bad), null, String(bad));
    }
  });

  it('property: arbitrary bytes at any step never throw', async () => {
    const cred = await keys('pw');
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.uint8Array({ maxLength: 200 }).map((x) => Buffer.from(x)), fc.string().map(b), fc.constant(null)), { maxLength: 4 }),
        async (msgs) => {
          const h = harness({ user: [cred] });
          await h.mech.step(b('n,,n=user,r=abc'));
          for (const x of msgs) assert.ok(['challenge', 'success', 'failure'].includes((await h.mech.step(x)).kind));
          const fresh = harness({ user: [cred] });
          for (const x of msgs) assert.ok(['challenge', 'success', 'failure'].includes((await fresh.mech.step(x)).kind));
        },
      ),
    );
  });
});
