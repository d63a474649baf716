// Tests for argon2id password hashing: PHC format, round trip, parameters read
// from the string, and malformed hashes answering false rather than throwing.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { argon2Sync } from 'node:crypto';
import { hashPassword, verifyPassword, parsePhc } from './password.ts';

const PHC = /^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/;

describe('password', () => {
  it('produces a PHC argon2id string with the expected parameters', async () => {
    const h = await hashPassword('correct horse');
    assert.match(h, PHC);
  });

  it('verifies the right password and rejects a wrong one', async () => {
    const h = await hashPassword('correct horse');
    assert.equal(await verifyPassword('correct horse', h), true);
    assert.equal(await verifyPassword('correct horsf', h), false);
    assert.equal(await verifyPassword('', h), false);
  });

  it('salts: the same password hashes differently', async () => {
    assert.notEqual(await hashPassword('x'), await hashPassword('x'));
  });

  it('handles non-ASCII passwords', async () => {
    const h = await hashPassword('pässwörd 🔑');
    assert.equal(await verifyPassword('pässwörd 🔑', h), true);
    assert.equal(await verifyPassword('passwörd 🔑', h), false);
  });

  it('reads parameters from the string (other m/t/p and tag length)', async () => {
    const salt = Buffer.from('0123456789abcdef');
    const tag = argon2Sync('argon2id', { message: 'pw', nonce: salt, parallelism: 2, tagLength: 16, memory: 1024, passes: 1 });
    const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
    const phc = `$argon2id$v=19$m=1024,t=1,p=2$${b64(salt)}$${b64(tag)}`;
    assert.equal(await verifyPassword('pw', phc), true);
    assert.equal(await verifyPassword('pw2', phc), false);
  });

  it('verifies strings made by the reference argon2 CLI', async () => {
    // `echo -n password | argon2 somesalt -id -t 2 -m 16 -p 4 -l 32 -e` (phc-winner-argon2):
    const a = '$argon2id$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$GpZ3sK/oH9p7VIiV56G/64Zo/8GaUw434IimaPqxwCo';
    assert.equal(await verifyPassword('password', a), true);
    // `echo -n pässwörd | argon2 saltsaltsalt -id -t 3 -k 4096 -p 1 -l 24 -e` (UTF-8 input):
    const b = '$argon2id$v=19$m=4096,t=3,p=1$c2FsdHNhbHRzYWx0$5TyumY7KoSwKTYLaT6PRGfNY2ZynojTP';
    assert.equal(await verifyPassword('pässwörd', b), true);
    assert.equal(await verifyPassword('passwörd', b), false);
  });

  it('answers false, never throws, for malformed hashes', async () => {
    const good = await hashPassword('pw');
    const bad = [
      '',
      'plaintext',
      '$argon2i$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      '$argon2id$v=16$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      '$argon2id$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      '$argon2id$v=19$m=19456,t=2$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      '$argon2id$v=19$m=19456,t=2,p=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      '$argon2id$v=19$m=99999999999,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      '$argon2id$v=19$m=4,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      '$argon2id$v=19$m=19456,t=0,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaGhhc2hoYXNo', // salt < 8 bytes
      '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$', // empty hash
      '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$***',
      '$argon2id$v=19$m=-1,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo',
      good + '$',
      // Hash altered in its first character (the last one may only carry padding bits).
      good.replace(/\$([^$])([^$]*)$/, (_m, c: string, rest: string) => '$' + (c === 'A' ? 'B' : 'A') + rest),
    ];
    for (const h of bad) assert.equal(await verifyPassword('pw', h), false, h);
    assert.equal(parsePhc('$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo')?.salt.toString(), 'somesalt');
  });
});
