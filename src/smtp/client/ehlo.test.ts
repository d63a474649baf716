// EHLO keyword parsing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noCapabilities, parseEhlo } from './ehlo.ts';
import { reply } from '../protocol/reply.ts';

test('the keywords Mailroom itself advertises', () => {
  const c = parseEhlo(reply(250, null, ['mx.example Hello', 'PIPELINING', 'SIZE 52428800', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', 'CHUNKING', 'STARTTLS', 'DSN', 'AUTH PLAIN LOGIN']));
  assert.deepEqual({ ...c, extensions: undefined }, {
    pipelining: true,
    size: 52428800,
    eightBitMime: true,
    smtpUtf8: true,
    chunking: true,
    startTls: true,
    dsn: true,
    enhancedStatusCodes: true,
    auth: ['PLAIN', 'LOGIN'],
    extensions: undefined,
  });
  assert.equal(c.extensions.get('AUTH'), 'PLAIN LOGIN');
});

test('case-insensitive keywords, AUTH= form, SIZE without a limit, unknown keywords kept', () => {
  const c = parseEhlo(reply(250, null, ['x', 'pipelining', 'Size', 'auth=login plain', 'AUTH CRAM-MD5 PLAIN', 'X-FOO bar baz', '', '???']));
  assert.equal(c.pipelining, true);
  assert.equal(c.size, 0);
  assert.deepEqual(c.auth, ['LOGIN', 'PLAIN', 'CRAM-MD5']);
  assert.equal(c.extensions.get('X-FOO'), 'bar baz');
  assert.equal(c.startTls, false);
});

test('the first line is the greeting, never a keyword; an empty reply means nothing', () => {
  assert.equal(parseEhlo(reply(250, null, ['STARTTLS'])).startTls, false);
  assert.deepEqual(parseEhlo(reply(250, null, [''])), noCapabilities());
  assert.equal(parseEhlo(reply(250, null, ['x', 'SIZE 12abc'])).size, 0);
});
