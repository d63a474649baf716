// prepareBody (CRLF normalization, final CRLF, 8-bit detection) and dataBody
// (dot-stuffing, terminator), checked against the server's own DATA decoder.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dataBody, prepareBody } from './body.ts';
import { DataDecoder } from '../protocol/data-decoder.ts';

const b = (s: string) => Buffer.from(s, 'latin1');
const cat = (chunks: Iterable<Buffer>) => Buffer.concat([...chunks]).toString('latin1');

test('CRLF content passes through uncopied', () => {
  const input = b('Subject: x\r\n\r\nhello\r\n');
  const p = prepareBody(input);
  assert.equal(p.chunks.length, 1);
  assert.equal(p.chunks[0], input, 'the same Buffer');
  assert.deepEqual([p.size, p.eightBit, p.normalized], [input.length, false, false]);
});

test('bare LF and bare CR become CRLF, also across chunk boundaries', () => {
  assert.equal(cat(prepareBody(b('a\nb\rc\r\nd\n')).chunks), 'a\r\nb\r\nc\r\nd\r\n');
  assert.equal(cat(prepareBody([b('a\r'), b('\nb\r'), b('c\r'), b('')]).chunks), 'a\r\nb\r\nc\r\n');
  assert.equal(cat(prepareBody([b('a\r'), b('\n'), b('\n')]).chunks), 'a\r\n\r\n');
  assert.ok(prepareBody(b('x\n')).normalized);
});

test('a message that does not end in CRLF gets one; an empty one stays empty', () => {
  const p = prepareBody(b('no newline'));
  assert.equal(cat(p.chunks), 'no newline\r\n');
  assert.equal(p.size, 12);
  assert.equal(prepareBody([]).size, 0);
  assert.equal(prepareBody(b('')).chunks.length, 0);
});

test('8-bit octets are noticed', () => {
  assert.equal(prepareBody(Buffer.from('caf\u00e9\r\n', 'utf8')).eightBit, true);
  assert.equal(prepareBody([b('abc\r\n'), Buffer.from([0x80, 0x0d, 0x0a])]).eightBit, true);
  assert.equal(prepareBody(b('plain\r\n')).eightBit, false);
});

test('dot-stuffing: every line that starts with "." gets another, then CRLF.CRLF', () => {
  const p = prepareBody([b('.first\r\nmid.dle\r\n'), b('.'), b('\r\n..two\r\n.')]);
  assert.equal(cat(dataBody(p.chunks)), '..first\r\nmid.dle\r\n..\r\n...two\r\n..\r\n.\r\n');
  assert.equal(cat(dataBody([])), '.\r\n');
});

function decode(wire: Buffer): { content: string; done: boolean; rest: number } {
  const d = new DataDecoder({ maxSize: 1 << 24, maxLine: 1 << 20 });
  const used = d.feed(wire);
  return { content: cat(d.chunks()), done: d.done, rest: wire.length - used };
}

const bytes = fc.array(
  fc.oneof(fc.uint8Array({ maxLength: 30 }), fc.constantFrom('.', '\r', '\n', '\r\n', '\r\n.\r\n', '\n.\n', '..').map((s) => new Uint8Array(b(s)))),
  { maxLength: 20 },
);

test('property: output has only CRLF line ends, ends with CRLF, is chunking-independent and idempotent', () => {
  fc.assert(
    fc.property(bytes, fc.array(fc.nat(), { maxLength: 5 }), (parts, cuts) => {
      const whole = Buffer.concat(parts);
      const p = prepareBody(parts.map((x) => Buffer.from(x)));
      const out = Buffer.concat(p.chunks);
      assert.equal(out.length, p.size);
      for (let i = 0; i < out.length; i++) {
        if (out[i] === 0x0d) assert.equal(out[i + 1], 0x0a, 'no bare CR');
        if (out[i] === 0x0a) assert.equal(out[i - 1], 0x0d, 'no bare LF');
      }
      if (out.length > 0) assert.equal(out.subarray(-2).toString('latin1'), '\r\n');
      assert.equal(p.eightBit, whole.some((x) => x >= 0x80));
      // Cut the same bytes elsewhere: same result.
      const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((x, y) => x - y);
      const pieces: Buffer[] = [];
      let prev = 0;
      for (const c of [...points, whole.length]) {
        pieces.push(whole.subarray(prev, c));
        prev = c;
      }
      assert.deepEqual(Buffer.concat(prepareBody(pieces).chunks), out);
      assert.deepEqual(Buffer.concat(prepareBody(out).chunks), out, 'idempotent');
    }),
    { numRuns: 1000 },
  );
});

test('property: the server DATA decoder reads back exactly the prepared content, ending at our terminator', () => {
  fc.assert(
    fc.property(bytes, (parts) => {
      const p = prepareBody(parts.map((x) => Buffer.from(x)));
      const wire = Buffer.concat([...dataBody(p.chunks)]);
      const r = decode(wire);
      assert.ok(r.done, 'the terminator is found');
      assert.equal(r.rest, 0, 'and it is the last thing sent');
      assert.equal(r.content, cat(p.chunks));
    }),
    { numRuns: 1000 },
  );
});
