// The spam filter's message reader: MIME walking and decoding, and the
// property that arbitrary input never throws and stays within the limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { performance } from 'node:perf_hooks';
import { decodeEncodedWords, decodeQuotedPrintable, header, htmlToText, parseContentType, viewMessage, visibleText, VIEW_LIMITS } from './message-view.ts';

const MULTI = [
  'From: a@b.example',
  'Subject: =?utf-8?B?Q2Fmw6k=?= menu',
  'Content-Type: multipart/alternative; boundary="xx"',
  '',
  'preamble',
  '--xx',
  'Content-Type: text/plain; charset=utf-8',
  'Content-Transfer-Encoding: quoted-printable',
  '',
  'caf=C3=A9 au lait, soft=',
  'break',
  '--xx',
  'Content-Type: text/html',
  'Content-Transfer-Encoding: base64',
  '',
  Buffer.from('<p>Hello &amp; <b>welcome</b></p><style>.x{}</style>').toString('base64'),
  '--xx',
  'Content-Type: image/png',
  '',
  'iVBORw0KGgo=',
  '--xx--',
  'epilogue',
].join('\r\n');

test('multipart: text and html parts decoded, other parts counted, headers unfolded and decoded', () => {
  const v = viewMessage(Buffer.from(MULTI, 'utf8'));
  assert.equal(header(v, 'subject'), 'Café menu');
  assert.deepEqual(v.text, ['café au lait, softbreak']);
  assert.equal(v.html.length, 1);
  assert.equal(htmlToText(v.html[0]).replace(/\s+/g, ' ').trim(), 'Hello & welcome');
  assert.equal(v.otherParts, 1);
  assert.match(visibleText(v), /café au lait/);
});

test('folded headers, missing body, bare LF', () => {
  const v = viewMessage('Subject: one\n two\nX: y\n\nbody');
  assert.equal(header(v, 'subject'), 'one two');
  assert.deepEqual(v.text, ['body']);
  assert.deepEqual(viewMessage('Subject: only headers').text, ['']);
});

test('decoders', () => {
  assert.equal(decodeQuotedPrintable('a=3Db=\r\nc'), 'a=bc');
  assert.equal(decodeEncodedWords('=?iso-8859-1?Q?caf=E9?= =?utf-8?Q?_ok?='), 'café ok');
  assert.deepEqual(parseContentType('Multipart/Mixed; boundary="a b"; charset=x'), { type: 'multipart/mixed', params: { boundary: 'a b', charset: 'x' } });
  assert.equal(parseContentType(undefined).type, 'text/plain');
});

test('nesting and part limits', () => {
  let m = 'Content-Type: text/plain\r\n\r\ninner';
  for (let i = 0; i < 20; i++) m = `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n${m}\r\n--b${i}--`;
  const v = viewMessage(m);
  assert.equal(v.truncated, true);
  assert.equal(v.text.length, 0);
});

test('property: any input gives a view within the limits, never a throw', () => {
  const piece = fc.oneof(
    fc.string(),
    fc.constantFrom('\r\n', '\r\n\r\n', '--b', 'Content-Type: multipart/mixed; boundary=b', 'Content-Transfer-Encoding: base64', '=?utf-8?B?', '?=', '<a href="http://x">', '&#x1F600;', '&#99999999;'),
  );
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), fc.uint8Array({ maxLength: 200 }), (parts, bytes) => {
      for (const input of [parts.join(''), Buffer.from(bytes)]) {
        const v = viewMessage(input);
        assert.ok(v.headers.length <= VIEW_LIMITS.maxHeaders);
        assert.ok([...v.text, ...v.html].reduce((n, t) => n + t.length, 0) <= VIEW_LIMITS.maxText);
        visibleText(v);
      }
    }),
    { numRuns: 300 },
  );
});

test('only the first MiB is read: a huge message costs bounded time', () => {
  const big = 'Subject: big\r\nContent-Type: text/plain\r\n\r\n' + 'word '.repeat(4 * 1024 * 1024 / 5);
  const t0 = performance.now();
  const v = viewMessage(Buffer.from(big));
  assert.ok(v.truncated);
  assert.ok(v.text[0].length <= VIEW_LIMITS.maxInput);
  assert.ok(performance.now() - t0 < 2000);
});

test('htmlToText drops script/style elements and comments (any case), keeps the rest; an unclosed one leaves the rest', () => {
  assert.equal(htmlToText('a<SCRIPT type="x">evil()</script >b<!-- hid -->c<style>p{}</STYLE>d').replace(/\s+/g, ''), 'abcd');
  assert.equal(htmlToText('a<!-- never closed <b>x</b>').includes('x'), true);
});
