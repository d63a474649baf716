// The reply parser: single and multi-line replies, enhanced codes, split
// input, limits, malformed lines; property tests (never throws, chunking does
// not matter, serializeReply output parses back to the same reply).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplyParser } from './reply-parser.ts';
import { reply, serializeReply, R } from '../protocol/reply.ts';
import type { Reply } from '../protocol/reply.ts';

function parse(text: string | Buffer, p = new ReplyParser()) {
  return p.push(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
}

test('a single-line reply with an enhanced code', () => {
  assert.deepEqual(parse('250 2.1.5 Recipient OK\r\n'), { replies: [{ code: 250, enhanced: '2.1.5', lines: ['Recipient OK'] }], error: null });
});

test('a multi-line reply keeps every line; the enhanced code comes off each', () => {
  const r = parse('550-5.1.1 The email account that you tried to reach does not exist.\r\n550-5.1.1 Please try\r\n550 5.1.1 double-checking.\r\n');
  assert.deepEqual(r.replies, [
    { code: 550, enhanced: '5.1.1', lines: ['The email account that you tried to reach does not exist.', 'Please try', 'double-checking.'] },
  ]);
});

test('no enhanced code: the text is kept as is; a code of the wrong class is text', () => {
  assert.deepEqual(parse('220 mx.example ESMTP\r\n').replies, [{ code: 220, enhanced: null, lines: ['mx.example ESMTP'] }]);
  assert.deepEqual(parse('550 4.2.2 odd\r\n').replies, [{ code: 550, enhanced: null, lines: ['4.2.2 odd'] }]);
  assert.deepEqual(parse('250 2.0.0.1 not one\r\n').replies, [{ code: 250, enhanced: null, lines: ['2.0.0.1 not one'] }]);
  assert.deepEqual(parse('250 2.0.0\r\n').replies, [{ code: 250, enhanced: '2.0.0', lines: [''] }]);
});

test('a bare code, a bare LF line end, and a tab after the code are accepted', () => {
  assert.deepEqual(parse('250\r\n354 go ahead\n250\tok\r\n').replies, [
    { code: 250, enhanced: null, lines: [''] },
    { code: 354, enhanced: null, lines: ['go ahead'] },
    { code: 250, enhanced: null, lines: ['ok'] },
  ]);
});

test('input split anywhere, even inside CRLF, gives the same replies; several replies in one chunk', () => {
  const p = new ReplyParser();
  const out: Reply[] = [];
  for (const piece of ['25', '0-mx.exa', 'mple\r', '\n250-PIPELI', 'NING\r\n250 SIZE 100\r', '\n221 2.0.0 bye\r\n']) {
    const r = p.push(Buffer.from(piece));
    assert.equal(r.error, null);
    out.push(...r.replies);
  }
  assert.deepEqual(out, [
    { code: 250, enhanced: null, lines: ['mx.example', 'PIPELINING', 'SIZE 100'] },
    { code: 221, enhanced: '2.0.0', lines: ['bye'] },
  ]);
  assert.equal(p.buffered, 0);
});

test('buffered counts bytes not yet part of a reply (STARTTLS injection check)', () => {
  const p = new ReplyParser();
  const r = p.push(Buffer.from('220 2.0.0 go ahead\r\n250-injected\r\n250 x'));
  assert.equal(r.replies.length, 1);
  assert.equal(p.buffered, '250-injected\r\n250 x'.length);
});

test('UTF-8 text is decoded (SMTPUTF8 servers)', () => {
  assert.deepEqual(parse('550 5.1.1 <josé@exämple.org> unknown\r\n').replies[0].lines, ['<josé@exämple.org> unknown']);
});

test('malformed lines are protocol errors, and the parser stays failed', () => {
  for (const bad of ['hello\r\n', '25\r\n', '2500 x\r\n', '250x\r\n', '199 x\r\n', '600 x\r\n', '050 x\r\n', '250-a\r\n251 b\r\n']) {
    const p = new ReplyParser();
    const r = p.push(Buffer.from(bad));
    assert.equal(r.error?.kind, 'protocol', JSON.stringify(bad));
    assert.deepEqual(p.push(Buffer.from('250 ok\r\n')).replies, []);
    assert.ok(p.failed);
  }
  const p = new ReplyParser();
  const r = p.push(Buffer.from('250 ok\r\nbad\r\n'));
  assert.equal(r.replies.length, 1, 'replies before the bad line are still returned');
  assert.match(r.error!.message, /three-digit code/);
});

test('limits: line length (with and without a line end), lines per reply, bytes per reply', () => {
  const long = new ReplyParser({ maxLineLength: 100 });
  assert.match(long.push(Buffer.from('250 ' + 'x'.repeat(200) + '\r\n')).error!.message, /longer than 100/);
  const endless = new ReplyParser({ maxLineLength: 100 });
  let err = null;
  for (let i = 0; i < 10 && !err; i++) err = endless.push(Buffer.from('250 ' + 'y'.repeat(30))).error;
  assert.match(err!.message, /longer than 100/, 'a line that never ends is cut off');
  const exact = new ReplyParser({ maxLineLength: 10 });
  assert.equal(exact.push(Buffer.from('250 1234\r\n')).error, null, 'exactly at the limit is fine');
  const many = new ReplyParser({ maxLines: 5 });
  assert.match(many.push(Buffer.from('250-a\r\n'.repeat(6))).error!.message, /more than 5 lines/);
  const big = new ReplyParser({ maxReplyLength: 1000 });
  let e2 = null;
  for (let i = 0; i < 20 && !e2; i++) e2 = big.push(Buffer.from('250-' + 'z'.repeat(90) + '\r\n')).error;
  assert.match(e2!.message, /longer than 1000/);
});

test('catalogue replies round-trip', () => {
  for (const r of Object.values(R)) {
    if (typeof r === 'function') continue;
    assert.deepEqual(parse(serializeReply(r)).replies, [{ code: r.code, enhanced: r.enhanced, lines: [...r.lines] }]);
  }
});

test('property: arbitrary bytes never throw, and chunking does not change the outcome', () => {
  const pieces = fc.array(
    fc.oneof(
      fc.uint8Array({ maxLength: 40 }),
      fc.constantFrom('250', '-', ' ', '\r\n', '\n', '\r', '550 5.1.1 x', '2.0.0 ', '421').map((s) => new Uint8Array(Buffer.from(s))),
    ),
    { maxLength: 30 },
  );
  fc.assert(
    fc.property(pieces, (parts) => {
      const whole = new ReplyParser({ maxLineLength: 64, maxLines: 4, maxReplyLength: 200 });
      const all = whole.push(Buffer.concat(parts));
      const split = new ReplyParser({ maxLineLength: 64, maxLines: 4, maxReplyLength: 200 });
      const replies: Reply[] = [];
      let error = null;
      for (const part of parts) {
        const r = split.push(part);
        replies.push(...r.replies);
        error = r.error;
        if (error) break;
      }
      assert.deepEqual(replies, all.replies);
      assert.equal(error === null, all.error === null);
      for (const r of replies) assert.doesNotThrow(() => reply(r.code, r.enhanced, r.lines), 'every reply is a valid Reply');
    }),
    { numRuns: 500 },
  );
});

const ENH_LIKE = /^[245]\.\d{1,3}\.\d{1,3}(?: |$)/;
const arbReply = fc
  .record({
    code: fc.integer({ min: 200, max: 599 }),
    withEnhanced: fc.boolean(),
    subject: fc.integer({ min: 0, max: 999 }),
    detail: fc.integer({ min: 0, max: 999 }),
    lines: fc.array(fc.string({ unit: 'grapheme', maxLength: 80 }), { minLength: 1, maxLength: 6 }),
  })
  .map(({ code, withEnhanced, subject, detail, lines }) => reply(code, withEnhanced && code >= 400 || (withEnhanced && code < 300) ? `${String(code)[0]}.${subject}.${detail}` : null, lines))
  .filter((r) => r.lines.every((l) => !/[\x00-\x1f\x7f]/.test(l) && l.isWellFormed() && !ENH_LIKE.test(l)));

test('property: serializeReply output parses back to the same reply', () => {
  fc.assert(
    fc.property(arbReply, (r) => {
      const out = parse(serializeReply(r));
      assert.equal(out.error, null);
      assert.deepEqual(out.replies, [r]);
    }),
    { numRuns: 1000 },
  );
});

test('property: whatever serializeReply makes of any text parses, and re-serializes identically', () => {
  const any = fc
    .record({ code: fc.integer({ min: 200, max: 599 }), lines: fc.array(fc.string({ maxLength: 600 }), { maxLength: 4 }) })
    .map(({ code, lines }) => reply(code, code < 300 || code >= 400 ? `${String(code)[0]}.0.0` : null, lines));
  fc.assert(
    fc.property(any, (r) => {
      const wire = serializeReply(r);
      const out = parse(wire);
      assert.equal(out.error, null);
      assert.equal(out.replies.length, 1);
      assert.equal(serializeReply(out.replies[0]), wire);
    }),
    { numRuns: 500 },
  );
});
