import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { readHeader, unfold, fieldValue, headerValue, findField } from './header.ts';

const b = (s: string) => Buffer.from(s, 'utf8');

test('fields with offsets; folding; the empty line ends the header', () => {
  const m = b('Subject: one\r\n two\r\nFrom: a@b\r\n\r\nbody');
  const h = readHeader(m, 0, m.length);
  assert.equal(h.fields.length, 2);
  assert.equal(h.complete, true);
  assert.equal(m.subarray(h.fields[0]!.start, h.fields[0]!.end).toString(), 'Subject: one\r\n two\r\n');
  assert.equal(fieldValue(m, h.fields[0]!), 'one two');
  assert.equal(m.subarray(h.bodyStart).toString(), 'body');
  assert.equal(headerValue(m, h.fields, 'FROM'), 'a@b');
  assert.equal(findField(h.fields, 'x'), undefined);
});

test('bare LF; a line without a colon stays in the header; no empty line', () => {
  const m = b('A: 1\nbroken line\nB: 2\n');
  const h = readHeader(m, 0, m.length);
  assert.deepEqual(h.fields.map((f) => f.name), ['A', '', 'B']);
  assert.equal(h.bodyStart, m.length);
  assert.equal(h.complete, false);
});

test('limits: fields past maxFields are not recorded, the extent is still found', () => {
  const m = b('A: 1\r\n'.repeat(50) + '\r\nbody');
  const h = readHeader(m, 0, m.length, 10);
  assert.equal(h.fields.length, 10);
  assert.equal(m.subarray(h.bodyStart).toString(), 'body');
});

test('unfold (RFC 5322 §2.2.3) removes CRLF before WSP only', () => {
  assert.equal(unfold('a\r\n b\r\n\tc'), 'a b\tc');
  assert.equal(unfold('a\n b'), 'a b');
});

test('8-bit header values: UTF-8 when valid, else windows-1252', () => {
  const m = Buffer.concat([b('Subject: caf'), Buffer.from([0xe9]), b('\r\nX: café\r\n\r\n')]);
  const h = readHeader(m, 0, m.length);
  assert.equal(fieldValue(m, h.fields[0]!), 'café');
  assert.equal(fieldValue(m, h.fields[1]!), 'café');
});

test('property: fields are ordered and within the header', () => {
  fc.assert(
    fc.property(fc.array(fc.oneof(fc.constantFrom('\r\n', '\n', ' ', ':', 'A', '\r'), fc.string({ maxLength: 5 })), { maxLength: 40 }), (a) => {
      const m = b(a.join(''));
      const h = readHeader(m, 0, m.length);
      let prev = 0;
      for (const f of h.fields) {
        assert.ok(prev <= f.start && f.start < f.valueStart + 1 && f.valueStart <= f.end && f.end <= h.bodyStart);
        prev = f.end;
      }
      assert.ok(h.bodyStart <= m.length);
    }),
    { numRuns: 2000 },
  );
});
