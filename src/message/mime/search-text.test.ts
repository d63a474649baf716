import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { searchableText, searchHeaderValues, htmlToText } from './search-text.ts';
import { summarizeMessage } from './summary.ts';
import { SAMPLE_MESSAGE } from './testing.ts';

const st = (m: string | Buffer, max?: number) => {
  const b = typeof m === 'string' ? Buffer.from(m) : m;
  return searchableText(b, summarizeMessage(b), max);
};

test('sample: decoded header and body text, nested message included', () => {
  const t = st(SAMPLE_MESSAGE);
  assert.match(t.header, /^Subject: Café test$/m);
  assert.match(t.header, /^From: "Joe Q. Public" <john.q.public@example.com>$/m);
  assert.match(t.body, /Hello\r\nworld/);
  assert.match(t.body, /café/); // quoted-printable UTF-8 in the encapsulated message
  assert.match(t.body, /Subject: inner/); // the encapsulated header
  assert.match(t.body, /\bhi\b/);
  assert.doesNotMatch(t.body, /<p>/);
  assert.doesNotMatch(t.body, /AAECAw/); // attachments are not text
});

test('charsets and transfer encodings are decoded', () => {
  const latin1 = Buffer.concat([Buffer.from('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\nna'), Buffer.from([0xef]), Buffer.from('ve\r\n')]);
  assert.match(st(latin1).body, /naïve/);
  const b64 = `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n${Buffer.from('Grüße aus Köln').toString('base64')}\r\n`;
  assert.match(st(b64).body, /Grüße aus Köln/);
  const koi = Buffer.concat([Buffer.from('Content-Type: text/plain; charset=koi8-r\r\n\r\n'), Buffer.from([0xf0, 0xd2, 0xc9, 0xd7, 0xc5, 0xd4])]);
  assert.match(st(koi).body, /Привет/);
});

test('HTML: tags, scripts and styles dropped, entities decoded', () => {
  assert.equal(htmlToText('<style>p{}</style><p>Fish &amp; chips&nbsp;&#233;&#x41;</p><script>x()</script>').trim(), 'Fish & chips éA');
});

test('the text is bounded', () => {
  const t = st('Subject: x\r\n\r\n' + 'a'.repeat(10_000), 100);
  assert.equal(t.body.length, 100);
});

test('property: never throws on arbitrary bytes', () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 400 }), (u) => void st(Buffer.from(u), 1000)), { numRuns: 1000 });
});

test('searchHeaderValues: addresses parsed (comments dropped, comment names kept), others decoded, [] when absent', () => {
  const m = Buffer.from(
    'From: <user-from (comment)@ (comment) domain.org>\r\nTo: user-to@domain.org (RealTo)\r\nCc: g: =?utf-8?q?Zo=C3=AB?= <z@x.test>;\r\nSubject: =?utf-8?q?caf=C3=A9?= au\r\n lait\r\nX-A: 1\r\nX-A: 2\r\nBcc:\r\n\r\nbody',
  );
  const s = summarizeMessage(m);
  assert.deepEqual(searchHeaderValues(m, s, 'FROM'), ['user-from@domain.org']);
  assert.deepEqual(searchHeaderValues(m, s, 'to'), ['RealTo <user-to@domain.org>']);
  assert.deepEqual(searchHeaderValues(m, s, 'cc'), ['g:, Zoë <z@x.test>, ;']);
  assert.deepEqual(searchHeaderValues(m, s, 'subject'), ['café au lait']);
  assert.deepEqual(searchHeaderValues(m, s, 'x-a'), ['1', '2']);
  assert.deepEqual(searchHeaderValues(m, s, 'bcc'), ['']);
  assert.deepEqual(searchHeaderValues(m, s, 'x-none'), []);
});

test('HTML: unclosed comments, tags and scripts end the text (linear time, no backtracking)', () => {
  assert.equal(htmlToText('a<!-- b'), 'a');
  assert.equal(htmlToText('a<b'), 'a');
  assert.equal(htmlToText('a<script>x'), 'a');
  assert.equal(htmlToText('a<br>b<STYLE>p{}</STYLE >c'), 'a\nb c');
  const t0 = performance.now();
  htmlToText('<p>x</p><!-- '.repeat(200_000));
  htmlToText('<p>x</p><'.repeat(200_000));
  htmlToText('<script>'.repeat(200_000));
  assert.ok(performance.now() - t0 < 2000, 'pathological HTML is handled in linear time');
});
