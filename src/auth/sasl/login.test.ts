// The LOGIN mechanism: "Username:" / "Password:" challenges, the initial
// response as the username, and malformed answers (property test: arbitrary
// bytes never throw).

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LoginMechanism } from './login.ts';
import type { VerifyPassword } from './mechanism.ts';

const USER = { accountId: 1, address: 'bob@example.com', appPassword: null };
const b = (s: string) => Buffer.from(s, 'utf8');

function mech(calls: Array<[string, string]> = []) {
  const verify: VerifyPassword = async (u, p) => {
    calls.push([u, p]);
    return p === 'secret' ? { kind: 'success', user: USER, data: null } : { kind: 'failure', reason: 'bad_credentials', message: 'no' };
  };
  return new LoginMechanism({ verify });
}

describe('LOGIN', () => {
  it('asks Username: then Password:', async () => {
    const calls: Array<[string, string]> = [];
    const m = mech(calls);
    assert.deepEqual(await m.step(null), { kind: 'challenge', data: b('Username:') });
    assert.deepEqual(await m.step(b('bob@example.com')), { kind: 'challenge', data: b('Password:') });
    assert.equal(m.username, 'bob@example.com');
    assert.deepEqual(await m.step(b('secret')), { kind: 'success', user: USER, data: null });
    assert.deepEqual(calls, [['bob@example.com', 'secret']]);
  });

  it('takes the initial response as the username', async () => {
    const m = mech();
    assert.deepEqual(await m.step(b('bob@example.com')), { kind: 'challenge', data: b('Password:') });
    const r = await m.step(b('wrong'));
    assert.equal(r.kind === 'failure' && r.reason, 'bad_credentials');
    assert.equal(((await m.step(b('secret'))) as { reason: string }).reason, 'malformed', 'over');
  });

  it('malformed: empty username or password, NUL, invalid UTF-8; abort', async () => {
    for (const [user, pw] of [['', 'x'], ['bob', ''], ['b\0b', 'x'], ['bob', 'p\0w']]) {
      const m = mech();
      await m.step(null);
      let r = await m.step(b(user!));
      if (r.kind === 'challenge') r = await m.step(b(pw!));
      assert.equal(r.kind === 'failure' && r.reason, 'malformed', `${user}/${pw}`);
    }
    const inv = mech();
    assert.equal(((await inv.step(Buffer.from([0xc3, 0x28]))) as { reason: string }).reason, 'malformed');
    const ab = mech();
    await ab.step(null);
    assert.equal(((await ab.step(null, true)) as { reason: string }).reason, 'aborted');
  });

  it('property: arbitrary bytes never throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(fc.uint8Array({ maxLength: 200 })), { maxLength: 5 }), async (msgs) => {
        const m = mech();
        for (const x of msgs) {
          const r = await m.step(x === null ? null : Buffer.from(x));
          assert.ok(['challenge', 'success', 'failure'].includes(r.kind));
        }
      }),
    );
  });
});
