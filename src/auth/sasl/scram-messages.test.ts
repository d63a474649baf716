// Property and example tests for the SCRAM message parsers: arbitrary text
// never throws, saslname escaping round-trips, and what our client builds
// parses back to the same fields.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeSaslname, encodeSaslname, parseClientFinal, parseClientFirst } from './scram-messages.ts';
import { scramClientFirst } from './scram-client.ts';

const nonce = fc.stringMatching(/^[\x21-\x2b\x2d-\x7e]{1,40}$/);

describe('SCRAM messages', () => {
  it('property: arbitrary text never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        parseClientFirst(s);
        parseClientFinal(s);
        decodeSaslname(s);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom('n', 'y', 'p', ',', '=', 'a', 'r', 'c', 'm', 'biws', '2C', '3D', 'x')), (parts) => {
        parseClientFirst(parts.join(''));
        parseClientFinal(parts.join(''));
      }),
    );
  });

  it('property: saslname escaping round-trips', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((s) => !s.includes('\0')), (s) => {
        assert.equal(decodeSaslname(encodeSaslname(s)), s);
      }),
    );
    assert.equal(decodeSaslname('a=3Db=2Cc'), 'a=b,c');
    assert.equal(decodeSaslname('a=2c'), null);
    assert.equal(decodeSaslname('a='), null);
    assert.equal(decodeSaslname(''), null);
  });

  it('property: what the client builds parses back', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }).filter((s) => !s.includes('\0')), nonce, (user, n) => {
        const first = scramClientFirst(user, n);
        const p = parseClientFirst(first.message);
        assert.ok(p.ok);
        assert.equal(p.value.username, user);
        assert.equal(p.value.clientNonce, n);
        assert.equal(p.value.bare, first.bare);
        assert.equal(p.value.gs2Header, 'n,,');
      }),
    );
  });

  it('client-final keeps the text without the proof', () => {
    const proof = Buffer.alloc(32, 7).toString('base64');
    const p = parseClientFinal(`c=biws,r=abc,x=ext,p=${proof}`);
    assert.ok(p.ok);
    assert.equal(p.value.withoutProof, 'c=biws,r=abc,x=ext');
    assert.equal(p.value.channelBinding.toString(), 'n,,');
    assert.equal(p.value.nonce, 'abc');
  });
});
