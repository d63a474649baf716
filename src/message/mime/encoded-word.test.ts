import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeEncodedWords, decodeUnstructured } from './encoded-word.ts';
import { unfold } from './header.ts';

test('RFC 2047 §8 examples', () => {
  const cases: [string, string][] = [
    ['(=?ISO-8859-1?Q?a?=)', '(a)'],
    ['(=?ISO-8859-1?Q?a?= b)', '(a b)'],
    ['(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)', '(ab)'],
    ['(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)', '(ab)'],
    [unfold('(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)'), '(ab)'],
    ['(=?ISO-8859-1?Q?a_b?=)', '(a b)'],
    ['(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)', '(a b)'],
    ['=?US-ASCII?Q?Keith_Moore?=', 'Keith Moore'],
    ['=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=', 'Keld Jørn Simonsen'],
    ['=?ISO-8859-1?Q?Andr=E9?= Pirard', 'André Pirard'],
    ['=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?= =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?=', 'If you can read this you understand the example.'],
    ['=?iso-8859-8?b?7eXs+SDv4SDp7Oj08A==?=', 'םולש ןב ילטפנ'],
  ];
  for (const [input, want] of cases) assert.equal(decodeEncodedWords(input), want, input);
});

test('RFC 2231 §5: charset*language in an encoded word', () => {
  assert.equal(decodeEncodedWords('=?US-ASCII*EN?Q?Keith_Moore?='), 'Keith Moore');
});

test('a multi-byte character split across two words in one charset survives', () => {
  assert.equal(decodeEncodedWords('=?utf-8?Q?caf=C3?= =?utf-8?Q?=A9?='), 'café');
  assert.equal(decodeEncodedWords('=?utf-8?B?w6nDqQ==?='), 'éé');
});

test('unknown charset: the word is kept as written; malformed words are left alone', () => {
  assert.equal(decodeEncodedWords('=?x-unknown?Q?abc?= d'), '=?x-unknown?Q?abc?= d');
  assert.equal(decodeEncodedWords('=?utf-8?X?abc?='), '=?utf-8?X?abc?=');
  assert.equal(decodeEncodedWords("let's = try =?iso-8859-1? to break"), "let's = try =?iso-8859-1? to break");
});

test('other charsets through TextDecoder', () => {
  assert.equal(decodeEncodedWords('=?ISO-2022-JP?B?GyRCJDMkcyRLJEEkTxsoQg==?='), 'こんにちは');
  assert.equal(decodeEncodedWords('=?windows-1252?Q?=80?='), '€');
  assert.equal(decodeEncodedWords('=?koi8-r?B?8NLJ18XU?='), 'Привет');
});

test('decodeUnstructured collapses folding whitespace', () => {
  assert.equal(decodeUnstructured(unfold(' Fwd: \r\n\tSaying \r\n Hello')), 'Fwd: Saying Hello');
});

test('property: never throws; text without "=?" is unchanged', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => {
      decodeEncodedWords(s);
      if (!s.includes('=?')) assert.equal(decodeEncodedWords(s), s);
    }),
    { numRuns: 2000 },
  );
  const piece = fc.oneof(fc.constantFrom('=?', '?=', '?Q?', '?B?', 'utf-8', '_', '=C3', ' ', '=?utf-8?q?', '=?iso-8859-1?b?'), fc.string({ maxLength: 4 }));
  fc.assert(fc.property(fc.array(piece, { maxLength: 30 }), (a) => void decodeEncodedWords(a.join(''))), { numRuns: 2000 });
});

test('property: Q and B encodings of any text decode back', () => {
  fc.assert(
    fc.property(fc.string({ minLength: 1, maxLength: 60 }), (s) => {
      const bytes = Buffer.from(s, 'utf8');
      const b = `=?UTF-8?B?${bytes.toString('base64')}?=`;
      const q = `=?UTF-8?Q?${[...bytes].map((x) => '=' + x.toString(16).toUpperCase().padStart(2, '0')).join('')}?=`;
      const want = Buffer.from(s, 'utf8').toString('utf8'); // lone surrogates become U+FFFD
      assert.equal(decodeEncodedWords(b), want);
      assert.equal(decodeEncodedWords(q), want);
    }),
    { numRuns: 1000 },
  );
});
