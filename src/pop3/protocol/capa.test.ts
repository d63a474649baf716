import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { capabilities } from './capa.ts';
import { multiline } from './reply.ts';

describe('capabilities (RFC 2449 §5)', () => {
  it('plaintext connection, login not allowed: no USER, STLS offered', () => {
    assert.deepEqual(capabilities({ tls: false, plaintextAllowed: false, saslMechanisms: [] }), [
      'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'STLS', 'IMPLEMENTATION Mailroom',
    ]);
  });
  it('after TLS: USER and SASL PLAIN, no STLS', () => {
    assert.deepEqual(capabilities({ tls: true, plaintextAllowed: true, saslMechanisms: ['plain'] }), [
      'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'USER', 'SASL PLAIN', 'IMPLEMENTATION Mailroom',
    ]);
  });
  it('several mechanisms; bad names dropped', () => {
    const c = capabilities({ tls: true, plaintextAllowed: true, saslMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'bad name'] });
    assert.ok(c.includes('SASL PLAIN SCRAM-SHA-256'));
  });
  it('STLS not offered without a TLS context', () => {
    assert.ok(!capabilities({ tls: false, plaintextAllowed: true, saslMechanisms: [], stlsAvailable: false }).includes('STLS'));
  });
  it('in TRANSACTION, login capabilities are left out', () => {
    const c = capabilities({ tls: false, plaintextAllowed: true, saslMechanisms: ['PLAIN'], authenticated: true });
    assert.deepEqual(c, ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'IMPLEMENTATION Mailroom']);
  });
  it('renders as a multi-line body', () => {
    const body = multiline(capabilities({ tls: true, plaintextAllowed: false, saslMechanisms: ['PLAIN'] }));
    assert.ok(body.endsWith('IMPLEMENTATION Mailroom\r\n.\r\n'));
  });
});
