// Tests for the DATA decoder: terminator and dot-stuffing (also split across
// chunks down to 1 byte), pipelined bytes after the terminator, the SMTP
// smuggling variants (which must neither end DATA nor pass unflagged), the
// size and line limits, zero-copy pieces, and property tests: decoding a
// dot-stuffed encoding over random chunkings gives back the content exactly
// and consumes exactly up to the terminator.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DataDecoder, ContentChecker } from './data-decoder.ts';

const LIMITS = { maxSize: 1 << 20, maxLine: 1000 };

/** Feeds `parts` in order; returns the decoder and the bytes left after the terminator. */
function run(parts: (string | Buffer)[], opts = LIMITS): { d: DataDecoder; rest: string; content: string } {
  const d = new DataDecoder(opts);
  let rest = '';
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'latin1') : p;
    if (d.done) {
      assert.equal(d.feed(b), 0);
      rest += b.toString('latin1');
      continue;
    }
    const n = d.feed(b);
    assert.ok(n >= 0 && n <= b.length);
    if (d.done) rest += b.subarray(n).toString('latin1');
    else assert.equal(n, b.length, 'a decoder that is not done consumes everything');
  }
  return { d, rest, content: Buffer.concat(d.chunks()).toString('latin1') };
}

function bytewise(s: string): string[] {
  return [...s];
}

/** RFC 5321 §4.5.2 dot-stuffing plus the terminator. `content` ends in CRLF or is empty. */
function encode(content: Buffer): Buffer {
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    if (content[start] === 0x2e) out.push(Buffer.from('.'));
    const e = content.indexOf('\r\n', start);
    if (e < 0) break;
    out.push(content.subarray(start, e + 2));
    start = e + 2;
    if (start >= content.length) break;
  }
  out.push(Buffer.from('.\r\n'));
  return Buffer.concat(out);
}

function chunk(data: Buffer, sizes: number[]): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  for (const s of sizes) {
    if (pos >= data.length) break;
    out.push(data.subarray(pos, pos + s));
    pos += s;
  }
  if (pos < data.length) out.push(data.subarray(pos));
  return out;
}

describe('DataDecoder: terminator and dot-stuffing (RFC 5321 §4.1.1.4, §4.5.2)', () => {
  it('decodes a simple message and stops at CRLF.CRLF', () => {
    const { d, content, rest } = run(['Subject: hi\r\n\r\nHello\r\n.\r\n']);
    assert.equal(d.done, true);
    assert.equal(content, 'Subject: hi\r\n\r\nHello\r\n');
    assert.equal(d.size, content.length);
    assert.equal(rest, '');
    assert.equal(d.bareNewline, false);
    assert.equal(d.lineTooLong, false);
  });

  it('returns the consumed count so pipelined commands stay with the caller', () => {
    const d = new DataDecoder(LIMITS);
    const input = Buffer.from('a\r\n.\r\nMAIL FROM:<a@b.org>\r\n');
    assert.equal(d.feed(input), 6);
    assert.equal(d.done, true);
    assert.equal(d.feed(Buffer.from('more')), 0);
  });

  it('treats a first line "." as the end of an empty message', () => {
    const { d, content, rest } = run(['.\r\nQUIT\r\n']);
    assert.equal(d.done, true);
    assert.equal(content, '');
    assert.equal(d.size, 0);
    assert.equal(rest, 'QUIT\r\n');
  });

  it('removes one leading dot from stuffed lines', () => {
    const { content } = run(['..\r\n...x\r\n.y\r\na.b\r\n..\r\n.\r\n']);
    assert.equal(content, '.\r\n..x\r\ny\r\na.b\r\n.\r\n');
  });

  it('handles a stuffed dot on the first line', () => {
    assert.equal(run(['..hidden\r\n.\r\n']).content, '.hidden\r\n');
  });

  it('does not end on ".x" or ". " lines or on a dot mid-line', () => {
    const { d, content } = run(['a\r\n. \r\n.x\r\nb.\r\n']);
    assert.equal(d.done, false);
    assert.equal(content, 'a\r\n \r\nx\r\nb.\r\n');
  });

  it('finds the terminator split at every possible position (1-byte chunks)', () => {
    const msg = 'From: a\r\n..dots\r\n\r\nbody\r\n.\r\nQUIT\r\n';
    const { d, content, rest } = run(bytewise(msg));
    assert.equal(d.done, true);
    assert.equal(content, 'From: a\r\n.dots\r\n\r\nbody\r\n');
    assert.equal(rest, 'QUIT\r\n');
    for (let cut = 0; cut <= msg.length; cut++) {
      const r = run([msg.slice(0, cut), msg.slice(cut)]);
      assert.equal(r.content, 'From: a\r\n.dots\r\n\r\nbody\r\n', `cut ${cut}`);
      assert.equal(r.rest, 'QUIT\r\n', `cut ${cut}`);
    }
  });

  it('ignores empty chunks', () => {
    const { d, content } = run(['', 'a\r\n', '', '.', '', '\r', '', '\n']);
    assert.equal(d.done, true);
    assert.equal(content, 'a\r\n');
  });
});

describe('DataDecoder: SMTP smuggling (DESIGN convention 6)', () => {
  const variants: [string, string][] = [
    ['\\n.\\n', 'a\n.\nMAIL FROM:<evil@x.org>\r\n'],
    ['\\r\\n.\\n', 'a\r\n.\nMAIL FROM:<evil@x.org>\r\n'],
    ['\\n.\\r\\n', 'a\n.\r\nMAIL FROM:<evil@x.org>\r\n'],
    ['\\r.\\r', 'a\r.\rMAIL FROM:<evil@x.org>\r\n'],
    ['\\r.\\r\\n', 'a\r.\r\nMAIL FROM:<evil@x.org>\r\n'],
    ['\\r\\n.\\r', 'a\r\n.\rMAIL FROM:<evil@x.org>\r\n'],
  ];
  for (const [name, body] of variants) {
    it(`${name} does not end DATA and is flagged as a bare newline`, () => {
      for (const parts of [[body], bytewise(body)]) {
        const { d } = run(parts);
        assert.equal(d.done, false, 'must not terminate');
        assert.equal(d.bareNewline, true, 'must be flagged');
      }
      // The real terminator still ends it, and everything before is content.
      const { d, content } = run([body, '.\r\n']);
      assert.equal(d.done, true);
      assert.equal(d.bareNewline, true);
      assert.ok(content.includes('MAIL FROM:<evil@x.org>'));
    });
  }

  it('a lone "." CR then other bytes keeps the CR as content', () => {
    const { d, content } = run(['a\r\n.\rb\r\n.\r\n']);
    assert.equal(d.done, true);
    assert.equal(content, 'a\r\n\rb\r\n');
    assert.equal(d.bareNewline, true);
    const split = run(['a\r\n.\r', 'b\r\n.\r\n']);
    assert.equal(split.content, 'a\r\n\rb\r\n');
  });
});

describe('DataDecoder: limits', () => {
  it('discards content beyond maxSize but reads to the terminator', () => {
    const { d, rest } = run(['0123456789\r\n', '0123456789\r\n', '.\r\nQUIT\r\n'], { maxSize: 15, maxLine: 1000 });
    assert.equal(d.done, true);
    assert.equal(d.tooLarge, true);
    assert.equal(d.size, 24);
    assert.deepEqual(d.chunks(), []);
    assert.equal(rest, 'QUIT\r\n');
  });

  it('accepts content of exactly maxSize', () => {
    const { d, content } = run(['0123456789\r\n.\r\n'], { maxSize: 12, maxLine: 1000 });
    assert.equal(d.tooLarge, false);
    assert.equal(content, '0123456789\r\n');
  });

  it('flags lines longer than maxLine (RFC 5321 §4.5.3.1.6)', () => {
    assert.equal(run(['x'.repeat(998) + '\r\n.\r\n']).d.lineTooLong, false);
    const { d } = run(['x'.repeat(999) + '\r\n.\r\n']);
    assert.equal(d.done, true);
    assert.equal(d.lineTooLong, true);
  });
});

describe('DataDecoder: buffers', () => {
  it('returns large pieces as subarrays of the input (no copy)', () => {
    const body = 'x'.repeat(5000) + '\r\n';
    const input = Buffer.from(body + '.\r\n');
    const d = new DataDecoder(LIMITS);
    d.feed(input);
    const pieces = d.chunks();
    assert.equal(pieces.length, 1);
    assert.equal(pieces[0].buffer, input.buffer);
    assert.equal(pieces[0].toString(), body);
  });

  it('coalesces tiny chunks into few pieces', () => {
    const body = 'line of text\r\n'.repeat(2000);
    const { d, content } = run(bytewise(body + '.\r\n'));
    assert.equal(content, body);
    assert.ok(d.chunks().length <= Math.ceil(body.length / 8192) + 1, String(d.chunks().length));
  });

  it('re-exports ContentChecker for BDAT', () => {
    assert.equal(typeof ContentChecker, 'function');
  });
});

describe('DataDecoder properties', () => {
  // Content made of lines that often start with dots and sometimes contain
  // bare CR/LF, or lone dots: the encoder stuffs only after CRLF, as the decoder unstuffs.
  const clean = fc
    .array(fc.string({ unit: fc.constantFrom('a', '.', ' ', 'é'), maxLength: 12 }), { maxLength: 20 })
    .map((lines) => Buffer.from(lines.map((l) => l + '\r\n').join('')));
  const dirty = fc
    .array(fc.constantFrom('a', '.', '\r', '\n', '\r\n', '\r\n.', '.\r\n', '\n.\n', '\r.\r'), { maxLength: 40 })
    .map((toks) => {
      const s = toks.join('');
      return Buffer.from(s === '' || s.endsWith('\r\n') ? s : s + '\r\n', 'latin1');
    });
  const sizes = fc.array(fc.integer({ min: 1, max: 9 }), { maxLength: 60 });
  const trailer = fc.constantFrom('', 'QUIT\r\n', 'MAIL FROM:<a@b.org>\r\n', '.\r\n');

  function decodeAll(data: Buffer, cuts: number[]): { d: DataDecoder; consumed: number } {
    const d = new DataDecoder({ maxSize: 1 << 20, maxLine: 1000 });
    let consumed = 0;
    for (const c of chunk(data, cuts)) {
      if (d.done) break;
      consumed += d.feed(c);
    }
    return { d, consumed };
  }

  it('decode(encode(content)) over random chunkings gives back the content and stops at the terminator', () => {
    fc.assert(
      fc.property(fc.oneof(clean, dirty), sizes, trailer, (content, cuts, tail) => {
        const enc = encode(content);
        const { d, consumed } = decodeAll(Buffer.concat([enc, Buffer.from(tail)]), cuts);
        assert.equal(d.done, true);
        assert.equal(consumed, enc.length);
        assert.ok(Buffer.concat(d.chunks()).equals(content));
        assert.equal(d.size, content.length);
        const ref = new ContentChecker(1000);
        ref.feed(enc);
        ref.finish();
        assert.equal(d.bareNewline, ref.bareNewline);
      }),
      { numRuns: 2000 },
    );
  });

  it('clean content is never flagged', () => {
    fc.assert(
      fc.property(clean, sizes, (content, cuts) => {
        const { d } = decodeAll(encode(content), cuts);
        assert.equal(d.bareNewline, false);
        assert.equal(d.lineTooLong, false);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws and never consumes more than given on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), sizes, (arr, cuts) => {
        const d = new DataDecoder({ maxSize: 100, maxLine: 50 });
        for (const c of chunk(Buffer.from(arr), cuts)) {
          const n = d.feed(c);
          assert.ok(n >= 0 && n <= c.length);
          if (!d.done) assert.equal(n, c.length);
        }
        if (!d.tooLarge) assert.ok(Buffer.concat(d.chunks()).length === d.size);
      }),
      { numRuns: 1000 },
    );
  });
});
