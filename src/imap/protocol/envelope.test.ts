import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { serializeEnvelope, serializeAddressList } from './envelope.ts';
import { summarizeMessage } from '../../message/mime/summary.ts';
import { parseAddressList } from '../../message/mime/address.ts';
import { SAMPLE_MESSAGE, parseImapValue } from '../../message/mime/testing.ts';

const env = (header: string, opts = {}) => serializeEnvelope(summarizeMessage(Buffer.from(header + '\r\nbody')).envelope, opts);

test('sample ENVELOPE (RFC 9051 §7.5.2): sender and reply-to default to from', () => {
  const s = summarizeMessage(Buffer.from(SAMPLE_MESSAGE));
  const from = '(("Joe Q. Public" NIL "john.q.public" "example.com"))';
  assert.equal(
    serializeEnvelope(s.envelope),
    `("Fri, 21 Nov 1997 09:55:06 -0600" "=?ISO-8859-1?Q?Caf=E9?= test" ${from} ${from} ${from} (("Mary Smith" NIL "mary" "x.test")(NIL NIL "jdoe" "example.org")) NIL NIL NIL "<1234@local.machine.example>")`,
  );
});

test('all fields absent: NIL everywhere', () => {
  assert.equal(env('X-Nothing: 1\r\n'), '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)');
});

test('explicit sender, reply-to, cc, bcc, in-reply-to', () => {
  assert.equal(
    env('From: a@x.test\r\nSender: s@x.test\r\nReply-To: r@x.test\r\nCc: c@x.test\r\nBcc: b@x.test\r\nIn-Reply-To: <p@x>\r\nSubject: \r\n'),
    '(NIL "" ((NIL NIL "a" "x.test")) ((NIL NIL "s" "x.test")) ((NIL NIL "r" "x.test")) NIL ((NIL NIL "c" "x.test")) ((NIL NIL "b" "x.test")) "<p@x>" NIL)',
  );
});

test('an empty Reply-To defaults to from', () => {
  assert.match(env('From: a@x.test\r\nReply-To:\r\n'), /^\(NIL NIL \(\(NIL NIL "a" "x.test"\)\) \(\(NIL NIL "a" "x.test"\)\) \(\(NIL NIL "a" "x.test"\)\)/);
});

test('groups: a start marker with the name and an end marker (RFC 9051 §7.5.2)', () => {
  assert.equal(
    serializeAddressList(parseAddressList('A Group:Ed Jones <c@a.test>,joe@where.test;, x@y.test')),
    '((NIL NIL "A Group" NIL)("Ed Jones" NIL "c" "a.test")(NIL NIL "joe" "where.test")(NIL NIL NIL NIL)(NIL NIL "x" "y.test"))',
  );
  assert.equal(serializeAddressList(parseAddressList('undisclosed-recipients:;')), '((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL))');
});

test('a source route goes in adl; a missing domain is never NIL', () => {
  assert.equal(serializeAddressList(parseAddressList('Mary <@node.test,@b.test:mary@example.net>')), '(("Mary" "@node.test,@b.test" "mary" "example.net"))');
  assert.equal(serializeAddressList(parseAddressList('Whomever')), '((NIL NIL "Whomever" "MISSING_DOMAIN"))');
});

test('quoted names are unescaped then quoted again; 8-bit names are literals unless UTF-8 is on', () => {
  assert.equal(serializeAddressList(parseAddressList('"Giant; \\"Big\\" Box" <s@e.net>')), '(("Giant; \\"Big\\" Box" NIL "s" "e.net"))');
  assert.equal(serializeAddressList(parseAddressList('Zoë <z@e.net>')), '(({4}\r\nZoë NIL "z" "e.net"))');
  assert.equal(serializeAddressList(parseAddressList('Zoë <z@e.net>'), { utf8: true }), '(("Zoë" NIL "z" "e.net"))');
});

test('property: the ENVELOPE of arbitrary headers re-parses as one IMAP list', () => {
  const field = fc.oneof(
    fc.constantFrom('From', 'To', 'Cc', 'Subject', 'Date', 'Sender', 'Reply-To', 'Message-ID'),
  );
  const value = fc.array(fc.oneof(fc.constantFrom('"', '\\', '<', '>', '@', ',', ';', ':', '(', ')', ' ', 'é', '=?utf-8?q?x?=', '\r\n '), fc.string({ maxLength: 5 })), { maxLength: 12 });
  fc.assert(
    fc.property(fc.array(fc.tuple(field, value), { maxLength: 6 }), fc.boolean(), (fields, utf8) => {
      const header = fields.map(([n, v]) => `${n}: ${v.join('')}\r\n`).join('');
      const text = serializeEnvelope(summarizeMessage(Buffer.from(header + '\r\n')).envelope, { utf8 });
      const v = parseImapValue(text);
      assert.ok(Array.isArray(v) && v.length === 10, text);
    }),
    { numRuns: 500 },
  );
});
