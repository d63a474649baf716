import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMessage, splitMultipart, countLines } from './parse.ts';
import type { PartSummary } from './types.ts';
import { SAMPLE_MESSAGE, SAMPLE_HEADER, shapeArb, build } from './testing.ts';
import type { GenPart } from './testing.ts';

const buf = (s: string) => Buffer.from(s, 'utf8');

test('a message without MIME headers is one text/plain us-ascii part (RFC 2045 §5.2)', () => {
  const m = buf('Subject: hi\r\nFrom: a@b.c\r\n\r\nline 1\r\nline 2\r\n');
  const p = parseMessage(m).body;
  assert.equal(p.type, 'text');
  assert.equal(p.subtype, 'plain');
  assert.deepEqual(p.params, [['charset', 'us-ascii']]);
  assert.equal(p.encoding, '7BIT');
  assert.equal(p.headerStart, 0);
  assert.equal(m.subarray(p.bodyStart, p.end).toString(), 'line 1\r\nline 2\r\n');
  assert.equal(p.size, 16);
  assert.equal(p.lines, 2);
});

test('header without an empty line: all header, empty body', () => {
  const m = buf('Subject: hi\r\nFrom: a@b.c\r\n');
  const p = parseMessage(m).body;
  assert.equal(p.bodyStart, m.length);
  assert.equal(p.end, m.length);
  assert.equal(p.size, 0);
});

test('bare LF line endings are accepted', () => {
  const m = buf('Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nhello\n--x--\n');
  const p = parseMessage(m).body;
  assert.equal(p.parts?.length, 1);
  const c = p.parts![0]!;
  assert.equal(m.subarray(c.bodyStart, c.end).toString(), 'hello');
  assert.equal(m.subarray(c.headerStart, c.bodyStart).toString(), 'Content-Type: text/plain\n\n');
});

test('sample: nested multipart with message/rfc822, byte-exact offsets', () => {
  const m = buf(SAMPLE_MESSAGE);
  const { body, envelope } = parseMessage(m);
  assert.equal(body.type, 'multipart');
  assert.equal(body.headerStart, 0);
  assert.equal(body.bodyStart, SAMPLE_HEADER.length);
  assert.equal(body.end, m.length);
  assert.equal(body.parts!.length, 3);
  const [p1, p2, p3] = body.parts!;
  assert.equal(m.subarray(p1!.bodyStart, p1!.end).toString(), 'Hello\r\nworld');
  assert.equal(m.subarray(p1!.headerStart, p1!.bodyStart).toString(), 'Content-Type: text/plain; charset=us-ascii\r\n\r\n');
  assert.equal(p2!.type, 'message');
  const inner = p2!.message!;
  assert.equal(inner.envelope.subject, 'inner');
  assert.equal(inner.body.type, 'multipart');
  assert.equal(inner.body.parts!.length, 2);
  assert.equal(m.subarray(inner.body.parts![0]!.bodyStart, inner.body.parts![0]!.end).toString(), 'caf=C3=A9');
  assert.equal(m.subarray(inner.body.parts![1]!.bodyStart, inner.body.parts![1]!.end).toString(), '<p>hi</p>');
  assert.ok(m.subarray(p2!.bodyStart, p2!.end).toString().endsWith('--inner--'));
  assert.equal(m.subarray(p3!.bodyStart, p3!.end).toString(), 'AAECAw==');
  assert.deepEqual(p3!.disposition, { type: 'attachment', params: [['filename', 'a.bin']] });
  assert.deepEqual(p3!.language, ['en', 'de']);
  assert.equal(p3!.location, 'http://example.com/a.bin');
  assert.equal(p3!.id, '<part3@example.com>');
  assert.equal(p3!.description, 'some bytes');
  assert.equal(p3!.encoding, 'BASE64');
  assert.equal(envelope.subject, '=?ISO-8859-1?Q?Caf=E9?= test');
  assert.equal(envelope.messageId, '<1234@local.machine.example>');
});

test('preamble and epilogue are not parts (RFC 2046 §5.1.1)', () => {
  const m = buf('Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n--b--\r\nepi\r\n');
  const p = parseMessage(m).body;
  assert.deepEqual(
    p.parts!.map((c) => m.subarray(c.bodyStart, c.end).toString()),
    ['one', 'two'],
  );
  assert.equal(p.end, m.length);
});

test('a missing close delimiter: the last part runs to the end', () => {
  const m = buf('Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\none\r\n--b\r\n\r\ntwo\r\n');
  const p = parseMessage(m).body;
  assert.deepEqual(
    p.parts!.map((c) => m.subarray(c.bodyStart, c.end).toString()),
    ['one', 'two\r\n'],
  );
});

test('an enclosing delimiter ends an inner multipart that was never closed', () => {
  const m = buf(
    'Content-Type: multipart/mixed; boundary=outer\r\n\r\n--outer\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n--inner\r\n\r\na\r\n--outer\r\n\r\nb\r\n--outer--\r\n',
  );
  const p = parseMessage(m).body;
  assert.equal(p.parts!.length, 2);
  assert.equal(p.parts![0]!.parts!.length, 1);
  assert.equal(m.subarray(p.parts![0]!.parts![0]!.bodyStart, p.parts![0]!.parts![0]!.end).toString(), 'a');
  assert.equal(m.subarray(p.parts![1]!.bodyStart, p.parts![1]!.end).toString(), 'b');
});

test('multipart without a boundary or without delimiters has no parts', () => {
  assert.deepEqual(parseMessage(buf('Content-Type: multipart/mixed\r\n\r\nhello\r\n')).body.parts, []);
  assert.deepEqual(parseMessage(buf('Content-Type: multipart/mixed; boundary=zz\r\n\r\nhello\r\n')).body.parts, []);
});

test('multipart/digest parts default to message/rfc822 (RFC 2046 §5.1.5)', () => {
  const m = buf('Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: one\r\n\r\nbody\r\n--d--\r\n');
  const c = parseMessage(m).body.parts![0]!;
  assert.equal(`${c.type}/${c.subtype}`, 'message/rfc822');
  assert.equal(c.message?.envelope.subject, 'one');
});

test('an invalid Content-Type means text/plain us-ascii; the first Content-Type counts', () => {
  assert.equal(parseMessage(buf('Content-Type: text\r\n\r\nx')).body.subtype, 'plain');
  const p = parseMessage(buf('Content-Type: image/png\r\nContent-Type: text/html\r\n\r\nx')).body;
  assert.equal(`${p.type}/${p.subtype}`, 'image/png');
});

test('base64 message/rfc822 stays an opaque part', () => {
  const p = parseMessage(buf('Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQp5\r\n')).body;
  assert.equal(p.message, undefined);
  assert.equal(p.lines, 1);
});

test('limits: depth and part count stop the descent, never the parse', () => {
  let nested = 'Subject: x\r\n\r\nend';
  for (let i = 0; i < 50; i++) nested = `Content-Type: message/rfc822\r\n\r\n${nested}`;
  const deep = parseMessage(buf(nested), { maxDepth: 10 });
  assert.equal(deep.truncated, true);
  let depth = 0;
  for (let p: PartSummary | undefined = deep.body; p?.message; p = p.message.body) depth++;
  assert.equal(depth, 10);

  const many = 'Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n\r\nx\r\n'.repeat(100) + '--b--\r\n';
  const r = parseMessage(buf(many), { maxParts: 20 });
  assert.equal(r.truncated, true);
  assert.ok(r.body.parts!.length < 20);
  assert.equal(parseMessage(buf(many)).body.parts!.length, 100);
});

test('countLines counts line ends (an unterminated last line is not counted, as in Dovecot)', () => {
  const b = buf('a\r\nb\r\nc');
  assert.equal(countLines(b, 0, b.length), 2);
  assert.equal(countLines(b, 0, 6), 2);
  assert.equal(countLines(b, 0, 5), 1);
  assert.equal(countLines(b, 0, 0), 0);
});

test('splitMultipart: simple ranges', () => {
  const b = buf('pre\r\n--b\r\none\r\n--b\r\ntwo\r\n--b--\r\n');
  assert.deepEqual(
    splitMultipart(b, 0, b.length, 'b', 100).map(([s, e]) => b.subarray(s, e).toString()),
    ['one', 'two'],
  );
});

function checkBounds(p: PartSummary, lo: number, hi: number): void {
  assert.ok(lo <= p.headerStart && p.headerStart <= p.bodyStart && p.bodyStart <= p.end && p.end <= hi, `${lo} ≤ ${p.headerStart} ≤ ${p.bodyStart} ≤ ${p.end} ≤ ${hi}`);
  assert.equal(p.size, p.end - p.bodyStart);
  let prev = p.bodyStart;
  for (const c of p.parts ?? []) {
    checkBounds(c, prev, p.end);
    prev = c.end;
  }
  if (p.message) checkBounds(p.message.body, p.bodyStart, p.end);
}

test('property: arbitrary bytes never throw; offsets stay within bounds and ordered', () => {
  const mimeish = fc
    .array(
      fc.oneof(
        fc.constantFrom('\r\n', '\n', '\r', '--b', '--b--', '--c', 'Content-Type: multipart/mixed; boundary=b\r\n', 'Content-Type: message/rfc822\r\n', 'Content-Type: multipart/digest; boundary=c\n', ' ', ':', '\r\n\r\n', 'Subject: =?utf-8?B?w6k=?=\r\n'),
        fc.string({ maxLength: 8 }),
      ),
      { maxLength: 60 },
    )
    .map((a) => buf(a.join('')));
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }).map((u) => Buffer.from(u)), mimeish), (b) => {
      const r = parseMessage(b, { maxDepth: 8, maxParts: 50 });
      checkBounds(r.body, 0, b.length);
    }),
    { numRuns: 2000 },
  );
});

function compare(got: PartSummary, want: GenPart, path: string): void {
  assert.equal(got.headerStart, want.headerStart, `${path} headerStart`);
  assert.equal(got.bodyStart, want.bodyStart, `${path} bodyStart`);
  assert.equal(got.end, want.end, `${path} end`);
  assert.equal(`${got.type}/${got.subtype}`, want.type, `${path} type`);
  if (want.kind === 'multipart') {
    assert.equal(got.parts?.length, want.children.length, `${path} parts`);
    want.children.forEach((c, i) => compare(got.parts![i]!, c, `${path}.${i + 1}`));
  } else if (want.kind === 'message') {
    assert.ok(got.message, `${path} message`);
    compare(got.message!.body, want.children[0]!, `${path}.msg`);
  }
}

test('property: generated MIME trees parse to their exact offsets (CRLF and LF)', () => {
  fc.assert(
    fc.property(shapeArb, fc.boolean(), (shape, lf) => {
      const prefix = 'Subject: generated\r\n';
      const g = build(shape, prefix.length, lf ? '\n' : '\r\n');
      const m = buf(prefix + g.text);
      const r = parseMessage(m);
      // The top entity's header starts at 0 (Subject first), the rest as built.
      compare(r.body, { ...g, headerStart: 0 }, 'root');
    }),
    { numRuns: 500 },
  );
});

// Dovecot's message-parser tests (src/lib-mail/test-message-parser.c), the
// structure they expect: [part start, header bytes, body bytes, children].
type Shape = [number, number, number, Shape[]];
function shapeOf(p: PartSummary): Shape {
  const kids = p.parts ?? (p.message ? [p.message.body] : []);
  return [p.headerStart, p.bodyStart - p.headerStart, p.end - p.bodyStart, kids.map(shapeOf)];
}

test('Dovecot: truncated mime headers 2 (longest boundary wins, cut header has no body)', () => {
  const m = buf('Content-Type: multipart/mixed; boundary="ab"\n\n--ab\nContent-Type: multipart/mixed; boundary="a"\n\n--ab\nContent-Type: text/plain\n\n--a\n\n');
  const s = shapeOf(parseMessage(m).body);
  assert.equal(s[3].length, 2);
  assert.equal(s[3][0]![0], 51);
  assert.deepEqual(s[3][0]![3], []);
  assert.equal(s[3][0]![2], 0);
  assert.deepEqual(s[3][1], [101, 26, 5, []]);
});

test('Dovecot: duplicate mime boundary (the innermost takes it)', () => {
  const m = buf('Content-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: text/plain\n\nbody\n');
  const s = shapeOf(parseMessage(m).body);
  assert.equal(s[3].length, 1);
  assert.deepEqual(s[3][0]!.slice(0, 3), [49, 45, 35]);
  assert.deepEqual(s[3][0]![3], [[98, 26, 5, []]]);
});

test('Dovecot: garbage suffix mime boundary (prefix match)', () => {
  const m = buf('Content-Type: multipart/mixed; boundary="a"\n\n--ab\nContent-Type: multipart/mixed; boundary="a"\n\n--ac\nContent-Type: text/plain\n\nbody\n');
  const s = shapeOf(parseMessage(m).body);
  assert.deepEqual(s[3][0]!.slice(0, 3), [50, 45, 36]);
  assert.deepEqual(s[3][0]![3], [[100, 26, 5, []]]);
});

test('Dovecot: continuing mime boundary and its reverse', () => {
  const a = shapeOf(parseMessage(buf('Content-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: multipart/mixed; boundary="ab"\n\n--ab\nContent-Type: text/plain\n\nbody\n')).body);
  assert.deepEqual(a[3][0]!.slice(0, 3), [49, 46, 36]);
  assert.deepEqual(a[3][0]![3], [[100, 26, 5, []]]);
  const r = shapeOf(
    parseMessage(buf('Content-Type: multipart/mixed; boundary="ab"\n\n--ab\nContent-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: text/plain\n\nbody\n--ab\nContent-Type: text/html\n\nbody2\n')).body,
  );
  assert.equal(r[3].length, 2);
  assert.deepEqual(r[3][0]!.slice(0, 3), [51, 45, 34]);
  assert.deepEqual(r[3][0]![3], [[100, 26, 4, []]]);
  assert.deepEqual(r[3][1], [136, 25, 6, []]);
});

test('Dovecot: continuing truncated mime boundary (a header cut by a delimiter)', () => {
  const m = buf('Content-Type: multipart/mixed; boundary="a"\n\n--a\nContent-Type: multipart/mixed; boundary="ab"\nMIME-Version: 1.0\n--ab\nContent-Type: text/plain\n\n--ab--\n--a--\n\n');
  const s = shapeOf(parseMessage(m).body);
  assert.equal(s[3].length, 3);
  assert.deepEqual(s[3][0], [49, 62, 0, []]);
  assert.equal(s[3][1]![0], 117);
  assert.equal(s[3][1]![2], 0);
  assert.deepEqual(s[3][2]!.slice(1), [0, 0, []]);
});

test('Dovecot: trailing dashes in boundaries', () => {
  const m = buf('Content-Type: multipart/mixed; boundary="a--"\n\n--a--\nContent-Type: multipart/mixed; boundary="a----"\n\n--a----\nContent-Type: text/plain\n\nbody\n--a------\nContent-Type: text/html\n\nbody2\n--a----');
  const s = shapeOf(parseMessage(m).body);
  assert.equal(s[3].length, 1);
  assert.equal(s[3][0]![3].length, 1);
  assert.equal(s[3][0]![3][0]![3].length, 0);
});

test('adversarial header values parse in linear time (no backtracking regexes)', () => {
  const fields = ['Content-Language', 'Content-Type', 'Content-Disposition', 'Date', 'From', 'Subject'];
  const pieces = ['(', '"', '<', '=?', '\\', ';', '*0*=', '=?utf-8?q?', ','];
  for (const f of fields) {
    for (const c of pieces) {
      const t0 = performance.now();
      const r = parseMessage(buf(`${f}: ${c.repeat(30_000)}\r\n\r\nbody`));
      const ms = performance.now() - t0;
      assert.ok(ms < 1500, `${f}: ${JSON.stringify(c)} × 30000 took ${ms.toFixed(0)} ms`);
      assert.equal(r.body.end, r.body.bodyStart + 4);
    }
  }
});
