// Tests for modified UTF-7 mailbox names (RFC 3501 §5.1.3): the RFC example,
// strict decoding errors, INBOX case-insensitivity, and property tests
// (encode → decode round trip for any Unicode string; decode never throws).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { canonicalMailboxName, decodeMailboxName, encodeMailboxName, isInbox } from './mailbox-name.ts';

describe('modified UTF-7 mailbox names', () => {
  it('RFC 3501 §5.1.3 example', () => {
    const name = '~peter/mail/台北/日本語';
    assert.equal(encodeMailboxName(name), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
    assert.deepEqual(decodeMailboxName('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), { ok: true, value: name });
  });

  it('ampersand, ASCII and non-BMP characters', () => {
    assert.equal(encodeMailboxName('Tom & Jerry'), 'Tom &- Jerry');
    assert.equal(encodeMailboxName('Entwürfe'), 'Entw&APw-rfe');
    assert.deepEqual(decodeMailboxName('Tom &- Jerry'), { ok: true, value: 'Tom & Jerry' });
    assert.deepEqual(decodeMailboxName(encodeMailboxName('📬 box')), { ok: true, value: '📬 box' });
    assert.equal(encodeMailboxName('a\tb'), 'a&AAk-b');
  });

  it('reports invalid encodings without throwing', () => {
    const bad = [
      '&', // unterminated
      '&U,BTFw', // unterminated
      '&U,BTF-', // leftover bits
      '&U,BTFw=-', // padding
      '&U/BTFw-', // "/" is not modified BASE64
      '&AGE-', // "a" must not be encoded
      '&ACY-', // "&" must be "&-"
      '&ZeU-&ZeU-', // adjacent runs
      '&2D0-', // lone high surrogate
      '&3gA-', // lone low surrogate
      'Entwürfe', // raw 8-bit
      'a\tb', // control
    ];
    for (const b of bad) {
      const r = decodeMailboxName(b);
      assert.equal(r.ok, false, `${b} → ${JSON.stringify(r)}`);
    }
  });

  it('INBOX is case-insensitive', () => {
    assert.ok(isInbox('inbox'));
    assert.ok(isInbox('InBoX'));
    assert.equal(isInbox('INBOX.x'), false);
    assert.equal(canonicalMailboxName('Inbox'), 'INBOX');
    assert.equal(canonicalMailboxName('inbox/Sub', '/'), 'INBOX/Sub');
    assert.equal(canonicalMailboxName('inbox/Sub'), 'inbox/Sub');
    assert.equal(canonicalMailboxName('inboxes', '/'), 'inboxes');
  });
});

describe('modified UTF-7 properties', () => {
  it('encode → decode round trip for arbitrary Unicode strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (s) => {
      const enc = encodeMailboxName(s);
      assert.match(enc, /^[\x20-\x7e]*$/);
      assert.deepEqual(decodeMailboxName(enc), { ok: true, value: s });
    }), { numRuns: 2000 });
  });

  it('decode never throws, and what decodes re-encodes to the same text', () => {
    const utf7ish = fc.array(fc.constantFrom('&', '-', 'A', 'G', 'E', ',', '+', 'Z', 'e', 'U', 'a', '/', '2', 'D', '0', 'é'), { maxLength: 20 }).map((a) => a.join(''));
    fc.assert(fc.property(fc.oneof(fc.string(), utf7ish), (s) => {
      const r = decodeMailboxName(s);
      if (r.ok) assert.equal(encodeMailboxName(r.value), s);
    }), { numRuns: 3000 });
  });
});
