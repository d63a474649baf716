import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseSection, sectionString, resolvePart, fetchSection, fetchBinary, binarySize, applyPartial } from './section.ts';
import { summarizeMessage } from '../../message/mime/summary.ts';
import { SAMPLE, SAMPLE_HEADER, SAMPLE_MESSAGE, shapeArb, build } from '../../message/mime/testing.ts';
import type { GenPart } from '../../message/mime/testing.ts';

const msg = Buffer.from(SAMPLE_MESSAGE);
const sum = summarizeMessage(msg);
const text = (spec: string, fields?: string[], partial?: { offset: number; length?: number }) => {
  const s = parseSection(spec, fields);
  assert.ok(s, `section ${spec}`);
  const r = fetchSection(msg, sum, s, partial);
  return r === null ? null : r.toString('utf8');
};

test('parseSection: valid and invalid specs (RFC 9051 §9 section-spec)', () => {
  assert.deepEqual(parseSection(''), { part: [], text: null });
  assert.deepEqual(parseSection('1.2.3'), { part: [1, 2, 3], text: null });
  assert.deepEqual(parseSection('header'), { part: [], text: 'HEADER' });
  assert.deepEqual(parseSection('2.MIME'), { part: [2], text: 'MIME' });
  assert.deepEqual(parseSection('2.TEXT'), { part: [2], text: 'TEXT' });
  assert.deepEqual(parseSection('HEADER.FIELDS', ['Subject', 'From']), { part: [], text: 'HEADER.FIELDS', fields: ['Subject', 'From'] });
  assert.deepEqual(parseSection('1.HEADER.FIELDS.NOT', ['X']), { part: [1], text: 'HEADER.FIELDS.NOT', fields: ['X'] });
  for (const bad of ['0', '1.0', 'MIME', '1.', '.1', 'BODY', '1.HEADER.FIELDS', '01', '1..2']) assert.equal(parseSection(bad), null, bad);
  assert.equal(parseSection('HEADER', ['x']), null);
  assert.equal(parseSection('HEADER.FIELDS', []), null);
});

test('sectionString echoes the section for the response', () => {
  assert.equal(sectionString(parseSection('1.2.HEADER.FIELDS', ['Subject', 'X-Foo'])!), '1.2.HEADER.FIELDS (Subject X-Foo)');
  assert.equal(sectionString(parseSection('')!), '');
  assert.equal(sectionString(parseSection('3')!), '3');
  assert.equal(sectionString(parseSection('TEXT')!), 'TEXT');
});

test('BODY[], BODY[HEADER], BODY[TEXT] of the whole message', () => {
  assert.equal(text(''), SAMPLE_MESSAGE);
  assert.equal(text('HEADER'), SAMPLE_HEADER);
  assert.equal(text('TEXT'), SAMPLE_MESSAGE.slice(SAMPLE_HEADER.length));
});

test('part numbers, MIME headers, and the encapsulated message (RFC 9051 §6.4.5)', () => {
  assert.equal(text('1'), SAMPLE.part1Body);
  assert.equal(text('1.MIME'), 'Content-Type: text/plain; charset=us-ascii\r\n\r\n');
  assert.equal(text('2'), SAMPLE.innerMessage);
  assert.equal(text('2.MIME'), 'Content-Type: message/rfc822\r\n\r\n');
  // HEADER and TEXT of a message/rfc822 part are the encapsulated message's.
  assert.equal(text('2.HEADER'), 'From: a@b.example\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=inner\r\n\r\n');
  assert.ok(text('2.TEXT')!.startsWith('--inner\r\n'));
  assert.ok(text('2.TEXT')!.endsWith('--inner--'));
  // Parts of the encapsulated multipart.
  assert.equal(text('2.1'), 'caf=C3=A9');
  assert.equal(text('2.2'), '<p>hi</p>');
  assert.equal(text('2.2.MIME'), 'Content-Type: text/html; charset=utf-8\r\n\r\n');
  assert.equal(text('3'), SAMPLE.part3Body);
  assert.equal(text('3.MIME'), SAMPLE.part3Header);
  assert.equal(text('2.HEADER.FIELDS', ['subject']), 'Subject: inner\r\n\r\n');
  // Nonexistent parts.
  assert.equal(text('4'), null);
  assert.equal(text('1.1'), null);
  assert.equal(text('2.3'), null);
  // HEADER of a part that is not a message: empty.
  assert.equal(text('1.HEADER'), '');
});

test('HEADER.FIELDS keeps matching lines in order, folding intact, then the blank line', () => {
  const m = Buffer.from('From: a@b.c\r\nSubject: one\r\n two\r\nX-A: 1\r\nsubject: again\r\n\r\nbody');
  const s = summarizeMessage(m);
  const f = (spec: string, fields: string[]) => fetchSection(m, s, parseSection(spec, fields)!)!.toString();
  assert.equal(f('HEADER.FIELDS', ['SUBJECT']), 'Subject: one\r\n two\r\nsubject: again\r\n\r\n');
  assert.equal(f('HEADER.FIELDS', ['x-a', 'from']), 'From: a@b.c\r\nX-A: 1\r\n\r\n');
  assert.equal(f('HEADER.FIELDS.NOT', ['subject']), 'From: a@b.c\r\nX-A: 1\r\n\r\n');
  assert.equal(f('HEADER.FIELDS', ['nothing']), '\r\n');
});

test('part 1 of a non-multipart message is its body; 1.MIME its header', () => {
  const m = Buffer.from('Subject: x\r\nContent-Type: text/plain\r\n\r\nhello\r\n');
  const s = summarizeMessage(m);
  assert.equal(fetchSection(m, s, parseSection('1')!)!.toString(), 'hello\r\n');
  assert.equal(fetchSection(m, s, parseSection('1.MIME')!)!.toString(), 'Subject: x\r\nContent-Type: text/plain\r\n\r\n');
  assert.equal(fetchSection(m, s, parseSection('2')!), null);
  assert.equal(resolvePart(s, [1]), s.body);
});

test('partial <offset.length>', () => {
  assert.equal(text('1', undefined, { offset: 0, length: 5 }), 'Hello');
  assert.equal(text('1', undefined, { offset: 7 }), 'world');
  assert.equal(text('1', undefined, { offset: 100, length: 5 }), '');
  assert.equal(applyPartial(Buffer.from('abc'), { offset: 1, length: 0 }).length, 0);
});

test('BINARY decodes base64 and quoted-printable (RFC 3516)', () => {
  const b3 = fetchBinary(msg, sum, [3]);
  assert.deepEqual(b3, { ok: true, bytes: Buffer.from([0, 1, 2, 3]) });
  const b21 = fetchBinary(msg, sum, [2, 1]);
  assert.ok(b21.ok);
  assert.equal(b21.bytes.toString('utf8'), 'café');
  assert.deepEqual(binarySize(msg, sum, [3]), { ok: true, size: 4 });
  assert.deepEqual(binarySize(msg, sum, [2, 1]), { ok: true, size: 5 });
  assert.deepEqual(fetchBinary(msg, sum, [3], { offset: 1, length: 2 }), { ok: true, bytes: Buffer.from([1, 2]) });
  assert.deepEqual(fetchBinary(msg, sum, [9]), { ok: false, reason: 'no-part' });
  const whole = fetchBinary(msg, sum, []);
  assert.ok(whole.ok && whole.bytes.equals(msg));
});

test('BINARY of an unknown transfer encoding reports unknown-cte', () => {
  const m = Buffer.from('Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 a\r\n');
  const s = summarizeMessage(m);
  assert.deepEqual(fetchBinary(m, s, [1]), { ok: false, reason: 'unknown-cte' });
  assert.deepEqual(binarySize(m, s, [1]), { ok: false, reason: 'unknown-cte' });
});

function paths(g: GenPart, prefix: number[], out: [number[], GenPart][]): void {
  // The numbering of RFC 9051 §6.4.5 over a generated tree.
  if (g.kind === 'multipart') {
    g.children.forEach((c, i) => {
      out.push([[...prefix, i + 1], c]);
      paths(c, [...prefix, i + 1], out);
    });
  } else if (g.kind === 'message') {
    const inner = g.children[0]!;
    if (inner.kind === 'multipart') paths(inner, prefix, out);
    else {
      out.push([[...prefix, 1], inner]);
      paths(inner, [...prefix, 1], out);
    }
  }
}

test('property: BODY[path] and BODY[path.MIME] are the generated bytes for every part', () => {
  fc.assert(
    fc.property(shapeArb, (shape) => {
      const prefix = 'Subject: generated\r\n';
      const g = build(shape, prefix.length);
      const m = Buffer.from(prefix + g.text);
      const s = summarizeMessage(m);
      const all: [number[], GenPart][] = [];
      const top = { ...g, headerStart: 0 };
      if (top.kind === 'multipart') paths(top, [], all);
      else {
        all.push([[1], top]);
        paths(top, [1], all);
      }
      for (const [path, want] of all) {
        const body = fetchSection(m, s, { part: path, text: null });
        assert.ok(body, `part ${path.join('.')}`);
        assert.equal(body.toString(), m.subarray(want.bodyStart, want.end).toString(), `BODY[${path.join('.')}]`);
        const mime = fetchSection(m, s, { part: path, text: 'MIME' });
        assert.equal(mime!.toString(), m.subarray(want.headerStart, want.bodyStart).toString(), `BODY[${path.join('.')}.MIME]`);
      }
    }),
    { numRuns: 300 },
  );
});

test('property: fetchSection never throws on arbitrary input and paths', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 4 }), fc.constantFrom(null, 'HEADER', 'TEXT', 'MIME', 'HEADER.FIELDS'), (input, path, t) => {
      const m = Buffer.from(input);
      const s = summarizeMessage(m);
      const spec = t === 'HEADER.FIELDS' ? { part: path, text: t, fields: ['subject'] } : { part: path, text: t as 'HEADER' | 'TEXT' | 'MIME' | null };
      const r = fetchSection(m, s, spec);
      if (r !== null) assert.ok(r.length <= m.length + 4);
      fetchBinary(m, s, path);
    }),
    { numRuns: 1000 },
  );
});
