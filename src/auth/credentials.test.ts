// hashCredentials stores an argon2id hash and SCRAM keys that both verify the
// password; the account salt is reused on request; app passwords have the
// promised shape and come from the random source given.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateAppPassword, hashCredentials, scramSaltOf } from './credentials.ts';
import { verifyPassword } from './password.ts';
import { deriveScramKeys, parseScramKeys } from './sasl/scram-keys.ts';

describe('credentials', () => {
  it('hashes a password both ways', async () => {
    const c = await hashCredentials('pässword');
    assert.equal(await verifyPassword('pässword', c.passwordHash), true);
    const k = parseScramKeys(c.scram)!;
    assert.equal(k.iterations, 4096);
    assert.equal(k.salt.length, 16);
    assert.deepEqual(await deriveScramKeys('pässword', { salt: k.salt }), k);
    // SASLprep-lite: NFKC, so a decomposed "ä" gives the same keys.
    assert.deepEqual(await deriveScramKeys('pa\u0308ssword', { salt: k.salt }), k);
  });

  it('reuses the account salt when given, finds it from the main or an app password', async () => {
    const main = await hashCredentials('a');
    const salt = parseScramKeys(main.scram)!.salt;
    const app = await hashCredentials('b', { scramSalt: salt });
    assert.deepEqual(parseScramKeys(app.scram)!.salt, salt);
    assert.deepEqual(scramSaltOf(main.scram, []), salt);
    assert.deepEqual(scramSaltOf(null, [{ scram: null }, { scram: app.scram }]), salt);
    assert.equal(scramSaltOf(null, [{ scram: 'garbage' }]), undefined);
  });

  it('app passwords: four groups of four [a-z0-9], from the random source', () => {
    for (let i = 0; i < 50; i++) assert.match(generateAppPassword(), /^[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}-[a-z0-9]{4}$/);
    let n = 0;
    assert.equal(generateAppPassword(() => n++ % 36), 'abcd-efgh-ijkl-mnop');
    assert.notEqual(generateAppPassword(), generateAppPassword());
  });
});
