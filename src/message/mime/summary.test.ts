import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { summarizeMessage, serializeSummary, parseSummary } from './summary.ts';
import { SAMPLE_MESSAGE } from './testing.ts';

test('summary: envelope, structure and decoded search fields', () => {
  const s = summarizeMessage(Buffer.from(SAMPLE_MESSAGE));
  assert.equal(s.v, 1);
  assert.equal(s.size, Buffer.byteLength(SAMPLE_MESSAGE));
  assert.equal(s.search.subject, 'Café test');
  assert.equal(s.search.from, 'Joe Q. Public <john.q.public@example.com>');
  assert.equal(s.search.to, 'Mary Smith <mary@x.test>, jdoe@example.org');
  assert.equal(s.search.cc, '');
  assert.equal(s.search.date, Date.UTC(1997, 10, 21, 15, 55, 6));
  assert.equal(s.search.sentDay, '1997-11-21');
  assert.equal(s.search.messageId, '<1234@local.machine.example>');
  assert.equal(s.body.parts?.length, 3);
  assert.equal(s.truncated, undefined);
});

test('serialize/parse round-trip; unknown versions and garbage give null', () => {
  const s = summarizeMessage(Buffer.from(SAMPLE_MESSAGE));
  assert.deepEqual(parseSummary(serializeSummary(s)), s);
  assert.equal(parseSummary(serializeSummary({ ...s, v: 2 as 1 })), null);
  assert.equal(parseSummary('{"v":1}'), null);
  assert.equal(parseSummary('not json'), null);
  assert.equal(parseSummary(''), null);
  assert.equal(parseSummary(null), null);
  assert.equal(parseSummary('null'), null);
});

test('property: any bytes summarize, and the summary survives JSON', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (u) => {
      const s = summarizeMessage(Buffer.from(u));
      assert.deepEqual(parseSummary(serializeSummary(s)), s);
    }),
    { numRuns: 1000 },
  );
});

test('parseSummary rejects a summary whose offsets or fields do not fit', () => {
  const s = summarizeMessage(Buffer.from(SAMPLE_MESSAGE));
  const bad = (mutate: (x: any) => void) => {
    const c = JSON.parse(serializeSummary(s));
    mutate(c);
    return parseSummary(JSON.stringify(c));
  };
  assert.equal(bad((c) => (c.body.end = c.size + 1)), null);
  assert.equal(bad((c) => (c.body.parts[0].bodyStart = c.body.parts[0].end + 1)), null);
  assert.equal(bad((c) => (c.body.parts[1].message.body.type = 7)), null);
  assert.equal(bad((c) => (c.body.parts = 'x')), null);
  assert.notEqual(bad(() => {}), null);
});
