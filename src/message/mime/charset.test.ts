import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeCharset, knownCharset, bytesToText } from './charset.ts';

test('charsets via TextDecoder, with mail aliases', () => {
  assert.equal(decodeCharset(Buffer.from([0xe9]), 'ISO-8859-1'), 'é');
  assert.equal(decodeCharset(Buffer.from([0xe9]), 'latin1'), 'é');
  assert.equal(decodeCharset(Buffer.from('é'), 'utf8'), 'é');
  assert.equal(decodeCharset(Buffer.from([0xb0, 0xa1]), 'ks_c_5601-1987'), '가');
  assert.equal(decodeCharset(Buffer.from([0x82, 0xa0]), 'Shift_JIS'), 'あ');
  assert.equal(decodeCharset(Buffer.from('x'), 'x-no-such-charset'), null);
  assert.ok(knownCharset('windows-1251'));
  assert.ok(!knownCharset('bogus'));
});

test('UTF-7 (RFC 2152)', () => {
  assert.equal(decodeCharset(Buffer.from('Hi Mom -+Jjo--!'), 'utf-7'), 'Hi Mom -☺-!');
  assert.equal(decodeCharset(Buffer.from('+ZeVnLIqe-'), 'UNICODE-1-1-UTF-7'), '日本語');
  assert.equal(decodeCharset(Buffer.from('1 +- 1'), 'utf-7'), '1 + 1');
});

test('bytesToText: ASCII, valid UTF-8, else windows-1252', () => {
  assert.equal(bytesToText(Buffer.from('abc')), 'abc');
  assert.equal(bytesToText(Buffer.from('café')), 'café');
  assert.equal(bytesToText(Buffer.from([0x80, 0xe9])), '€é');
});

test('property: never throws', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 100 }), fc.constantFrom('utf-8', 'utf-7', 'iso-2022-jp', 'gbk', 'bogus', 'us-ascii', ''), (u, cs) => {
      decodeCharset(u, cs);
      bytesToText(u);
    }),
    { numRuns: 1000 },
  );
});
