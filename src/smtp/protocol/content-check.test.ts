// Tests for the streaming content checker: bare CR and bare LF detection and
// the line-length limit, in one chunk and across chunk boundaries, and a
// property test against a byte-by-byte reference over random chunkings.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ContentChecker } from './content-check.ts';

function check(parts: (string | Buffer)[], maxLine = 1000): ContentChecker {
  const c = new ContentChecker(maxLine);
  for (const p of parts) c.feed(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
  c.finish();
  return c;
}

/** Byte-by-byte reference implementation. */
function reference(data: Buffer, maxLine: number): { bare: boolean; long: boolean } {
  let bare = false;
  let long = false;
  let len = 0;
  for (let i = 0; i < data.length; i++) {
    const b = data[i];
    if (b === 13 && data[i + 1] !== 10) bare = true;
    if (b === 10 && data[i - 1] !== 13) bare = true;
    len++;
    if (b === 10) {
      if (len > maxLine) long = true;
      len = 0;
    }
  }
  if (len > maxLine) long = true;
  return { bare, long };
}

describe('ContentChecker', () => {
  it('accepts clean CRLF text', () => {
    const c = check(['Subject: hi\r\n\r\nbody\r\n']);
    assert.equal(c.bareNewline, false);
    assert.equal(c.lineTooLong, false);
  });

  it('accepts empty input and a final line without CRLF', () => {
    assert.equal(check([]).bareNewline, false);
    assert.equal(check(['abc']).bareNewline, false);
  });

  it('flags a bare LF', () => {
    assert.equal(check(['a\nb\r\n']).bareNewline, true);
    assert.equal(check(['\n']).bareNewline, true);
    assert.equal(check(['a\r\n\n']).bareNewline, true);
  });

  it('flags a bare CR', () => {
    assert.equal(check(['a\rb\r\n']).bareNewline, true);
    assert.equal(check(['a\r\r\n']).bareNewline, true);
    assert.equal(check(['a\r']).bareNewline, true); // trailing CR at finish()
  });

  it('follows CRLF across chunk boundaries', () => {
    assert.equal(check(['a\r', '\nb\r\n']).bareNewline, false);
    assert.equal(check(['a\r', 'b\r\n']).bareNewline, true);
    assert.equal(check(['a', '\nb']).bareNewline, true);
    assert.equal(check(['a\r', '', '\n']).bareNewline, false);
    assert.equal(check(['\r', '\n', '\r', '\n']).bareNewline, false);
  });

  it('limits a line to maxLine octets including CRLF (RFC 5321 §4.5.3.1.6)', () => {
    assert.equal(check(['x'.repeat(998) + '\r\n']).lineTooLong, false);
    assert.equal(check(['x'.repeat(999) + '\r\n']).lineTooLong, true);
    assert.equal(check(['a\r\n', 'x'.repeat(998), '\r\n', 'b\r\n']).lineTooLong, false);
    assert.equal(check(['x'.repeat(500), 'x'.repeat(499), '\r\n']).lineTooLong, true);
    assert.equal(check(['x'.repeat(1001)]).lineTooLong, true); // unterminated last line
    assert.equal(check(['x'.repeat(10) + '\r\n'], 12).lineTooLong, false);
    assert.equal(check(['x'.repeat(11) + '\r\n'], 12).lineTooLong, true);
  });

  it('matches the byte-by-byte reference over random chunkings', () => {
    const bytes = fc.array(fc.constantFrom(97, 13, 10, 46), { maxLength: 200 });
    const cuts = fc.array(fc.integer({ min: 1, max: 16 }), { maxLength: 50 });
    fc.assert(
      fc.property(bytes, cuts, fc.integer({ min: 2, max: 20 }), (arr, sizes, maxLine) => {
        const data = Buffer.from(arr);
        const c = new ContentChecker(maxLine);
        let pos = 0;
        for (const s of sizes) {
          if (pos >= data.length) break;
          c.feed(data.subarray(pos, pos + s));
          pos += s;
        }
        if (pos < data.length) c.feed(data.subarray(pos));
        c.finish();
        const ref = reference(data, maxLine);
        assert.equal(c.bareNewline, ref.bare);
        assert.equal(c.lineTooLong, ref.long);
      }),
      { numRuns: 2000 },
    );
  });
});
