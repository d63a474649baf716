// SASL PLAIN (RFC 4616): message parsing, the authzid rule, the empty
// challenge without an initial response, and every malformed message ending
// in failure 'malformed' (property test: arbitrary bytes never throw).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { PlainMechanism, parsePlain } from './plain.ts';
import type { VerifyPassword } from './mechanism.ts';

const USER = { accountId: 1, address: 'bob@example.com', appPassword: null };

function mech(calls: Array<[string, string]> = [], opts: { sameIdentity?: (a: string, b: string) => boolean } = {}) {
  const verify: VerifyPassword = async (u, p) => {
    calls.push([u, p]);
    return p === 'secret' ? { kind: 'success', user: USER, data: null } : { kind: 'failure', reason: 'bad_credentials', message: 'no' };
  };
  return new PlainMechanism({ verify, ...opts });
}

const b = (s: string) => Buffer.from(s, 'utf8');

describe('PLAIN', () => {
  it('parses authzid NUL authcid NUL passwd', () => {
    assert.deepEqual(parsePlain(b('\0bob@example.com\0secret')), { authzid: '', authcid: 'bob@example.com', password: 'secret' });
    assert.deepEqual(parsePlain(b('a\0b\0pässwörd 🔑')), { authzid: 'a', authcid: 'b', password: 'pässwörd 🔑' });
    for (const bad of ['', 'bob', '\0bob', '\0bob\0', '\0\0pw', 'a\0b\0c\0d', '\0bob\0pw\0']) assert.equal(parsePlain(b(bad)), null, JSON.stringify(bad));
    assert.equal(parsePlain(Buffer.from([0, 0x62, 0, 0xff, 0xfe])), null, 'invalid UTF-8');
    assert.equal(parsePlain(b(`\0${'x'.repeat(1025)}\0pw`)), null, 'over-long field');
  });

  it('succeeds with an initial response and passes authcid and password to verify', async () => {
    const calls: Array<[string, string]> = [];
    const m = mech(calls);
    const r = await m.step(b('\0Bob@Example.com\0secret'));
    assert.deepEqual(r, { kind: 'success', user: USER, data: null });
    assert.deepEqual(calls, [['Bob@Example.com', 'secret']]);
    assert.equal(m.username, 'Bob@Example.com');
    assert.equal((await m.step(b('again'))).kind, 'failure', 'finished exchanges refuse more steps');
  });

  it('sends an empty challenge without an initial response (RFC 4616 §2)', async () => {
    const m = mech();
    assert.deepEqual(await m.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
    const r = await m.step(b('\0bob@example.com\0wrong'));
    assert.equal(r.kind === 'failure' && r.reason, 'bad_credentials');
  });

  it('refuses an authzid naming someone else without checking the password', async () => {
    const calls: Array<[string, string]> = [];
    const r = await mech(calls).step(b('alice@example.com\0bob@example.com\0secret'));
    assert.equal(r.kind === 'failure' && r.reason, 'bad_credentials');
    assert.deepEqual(calls, []);
    assert.equal((await mech().step(b('bob@example.com\0bob@example.com\0secret'))).kind, 'success');
    const ci = mech([], { sameIdentity: (a, c) => a.toLowerCase() === c.toLowerCase() });
    assert.equal((await ci.step(b('BOB@example.com\0bob@example.com\0secret'))).kind, 'success');
  });

  it('answers abort with aborted and empty or bad input with malformed', async () => {
    const a = mech();
    await a.step(null);
    assert.equal(((await a.step(null, true)) as { reason: string }).reason, 'aborted');
    assert.equal(((await mech().step(Buffer.alloc(0))) as { reason: string }).reason, 'malformed');
    const twice = mech();
    await twice.step(null);
    assert.equal(((await twice.step(null)) as { reason: string }).reason, 'malformed');
  });

  it('a verify callback that throws is a temporary failure, not an exception', async () => {
    const m = new PlainMechanism({ verify: async () => { throw new Error('store down'); } });
    assert.equal(((await m.step(b('\0a\0b'))) as { reason: string }).reason, 'temporary');
  });

  it('property: arbitrary bytes, as initial response or answer, never throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.uint8Array({ maxLength: 300 }))), fc.boolean(), async (msgs, abort) => {
        const m = mech();
        for (const x of msgs) {
          const r = await m.step(x === null ? null : Buffer.from(x), abort && x === null);
          assert.ok(['challenge', 'success', 'failure'].includes(r.kind));
        }
      }),
    );
  });
});
