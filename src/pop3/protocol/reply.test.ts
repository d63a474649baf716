import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ok, err, challenge, multiline, byteStuff, unstuff, topLines, sanitize, type ResponseCode } from './reply.ts';

const join = (pieces: Buffer[]): string => Buffer.concat(pieces).toString('latin1');

/** True when every CR is followed by LF and every LF preceded by CR, and the only CRLF is the last two octets. */
function isSingleLine(s: string): boolean {
  return s.endsWith('\r\n') && !/[\r\n]/.test(s.slice(0, -2));
}

describe('status lines', () => {
  it('+OK and -ERR (RFC 1939 §3)', () => {
    assert.equal(ok('maildrop has 2 messages (320 octets)'), '+OK maildrop has 2 messages (320 octets)\r\n');
    assert.equal(ok(), '+OK\r\n');
    assert.equal(err('no such message'), '-ERR no such message\r\n');
    assert.equal(err(), '-ERR\r\n');
  });
  it('response codes (RFC 2449 §8, RFC 3206)', () => {
    assert.equal(err('maildrop already locked', 'IN-USE'), '-ERR [IN-USE] maildrop already locked\r\n');
    assert.equal(err('invalid credentials', 'AUTH'), '-ERR [AUTH] invalid credentials\r\n');
    assert.equal(err('try later', 'SYS/TEMP'), '-ERR [SYS/TEMP] try later\r\n');
    assert.equal(err('gone', 'SYS/PERM'), '-ERR [SYS/PERM] gone\r\n');
    assert.equal(err('', 'LOGIN-DELAY'), '-ERR [LOGIN-DELAY]\r\n');
  });
  it('CR/LF in text is folded', () => {
    assert.equal(ok('a\r\nb'), '+OK a b\r\n');
    assert.equal(err('x\ry\nz', 'AUTH'), '-ERR [AUTH] x y z\r\n');
    assert.equal(challenge('abc\r\n'), '+ abc \r\n');
    assert.equal(sanitize('\0'), ' ');
  });
  it('property: replies never contain bare CR/LF', () => {
    const code = fc.option(fc.constantFrom<ResponseCode>('IN-USE', 'AUTH', 'SYS/TEMP', 'SYS/PERM', 'LOGIN-DELAY'), { nil: undefined });
    fc.assert(fc.property(fc.string({ unit: 'binary' }), code, (t, c) => {
      assert.ok(isSingleLine(ok(t)));
      assert.ok(isSingleLine(err(t, c)));
      assert.ok(isSingleLine(challenge(t)));
    }), { numRuns: 1000 });
  });
});

describe('multiline', () => {
  it('RFC 1939 LIST example', () => {
    assert.equal(multiline(['1 120', '2 200']), '1 120\r\n2 200\r\n.\r\n');
    assert.equal(multiline([]), '.\r\n');
  });
  it('stuffs dots and folds line breaks', () => {
    assert.equal(multiline(['.x', 'a\nb']), '..x\r\na b\r\n.\r\n');
  });
  it('property: every line ends in CRLF, no bare CR/LF', () => {
    fc.assert(fc.property(fc.array(fc.string({ unit: 'binary' })), (lines) => {
      const out = multiline(lines);
      assert.ok(out.endsWith('\r\n.\r\n') || out === '.\r\n');
      for (const l of out.split('\r\n').slice(0, -1)) assert.ok(!/[\r\n]/.test(l));
      assert.equal(out.split('\r\n').length, lines.length + 2);
    }));
  });
});

describe('byteStuff / unstuff (RFC 1939 §3)', () => {
  it('stuffs leading dots and terminates', () => {
    const msg = Buffer.from('Subject: x\r\n\r\n.hidden\r\n..two\r\nok.\r\n.\r\n');
    assert.equal(join(byteStuff(msg)), 'Subject: x\r\n\r\n..hidden\r\n...two\r\nok.\r\n..\r\n.\r\n');
  });
  it('dot on the first line', () => {
    assert.equal(join(byteStuff(Buffer.from('.a\r\n'))), '..a\r\n.\r\n');
  });
  it('adds CRLF before the terminator when missing', () => {
    assert.equal(join(byteStuff(Buffer.from('a\r\nb'))), 'a\r\nb\r\n.\r\n');
    assert.equal(join(byteStuff(Buffer.from('a\r'))), 'a\r\r\n.\r\n');
  });
  it('empty content', () => {
    assert.equal(join(byteStuff(Buffer.alloc(0))), '.\r\n');
    assert.equal(unstuff(Buffer.from('.\r\n')).length, 0);
  });
  it('does not copy: pieces are views of the content', () => {
    const msg = Buffer.from('a\r\n.b\r\nc\r\n');
    const pieces = byteStuff(msg);
    assert.equal(pieces[0]!.buffer, msg.buffer);
    const big = Buffer.alloc(1 << 20, 0x61);
    big.write('\r\n', big.length - 2);
    const p = byteStuff(big);
    assert.equal(p.length, 2);
    assert.equal(p[0]!.buffer, big.buffer);
  });
  it('unstuff refuses data without terminator', () => {
    assert.throws(() => unstuff(Buffer.from('abc\r\n')));
  });
  const crlfContent = fc
    .array(fc.oneof(fc.string({ unit: 'binary-ascii' }), fc.constantFrom('.', '..', '.\r', '', '. ', '\r\n.')), { maxLength: 30 })
    .map((lines) => lines.map((l) => l.replace(/[\r\n]/g, '') + '\r\n').join(''))
    .map((s) => Buffer.from(s, 'latin1'));
  it('property: unstuff(stuff(x)) equals x for CRLF content', () => {
    fc.assert(fc.property(crlfContent, (x) => {
      assert.deepEqual(unstuff(Buffer.concat(byteStuff(x))), x);
    }), { numRuns: 1000 });
  });
  it('property: no line of the stuffed body is a lone dot before the end', () => {
    fc.assert(fc.property(crlfContent, (x) => {
      const lines = join(byteStuff(x)).split('\r\n');
      assert.equal(lines.at(-1), '');
      assert.equal(lines.at(-2), '.');
      assert.ok(!lines.slice(0, -2).includes('.'));
    }), { numRuns: 1000 });
  });
  it('property: arbitrary bytes always end with CRLF.CRLF (or are just the terminator)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (u) => {
      const out = join(byteStuff(Buffer.from(u)));
      assert.ok(out === '.\r\n' || out.endsWith('\r\n.\r\n'));
    }));
  });
});

describe('topLines (RFC 1939 §7)', () => {
  const msg = Buffer.from('From: a\r\nSubject: s\r\n\r\nline1\r\nline2\r\nline3\r\n');
  it('n = 0 gives header and blank line', () => {
    assert.equal(topLines(msg, 0).toString(), 'From: a\r\nSubject: s\r\n\r\n');
  });
  it('n within body', () => {
    assert.equal(topLines(msg, 2).toString(), 'From: a\r\nSubject: s\r\n\r\nline1\r\nline2\r\n');
  });
  it('n larger than body gives the whole message', () => {
    assert.equal(topLines(msg, 99).toString(), msg.toString());
    assert.equal(topLines(msg, 3).toString(), msg.toString());
  });
  it('no body (no blank line): whole message', () => {
    const h = Buffer.from('From: a\r\nSubject: s\r\n');
    assert.equal(topLines(h, 5).toString(), h.toString());
    assert.equal(topLines(h, 0).toString(), h.toString());
  });
  it('empty body after blank line', () => {
    const h = Buffer.from('From: a\r\n\r\n');
    assert.equal(topLines(h, 0).toString(), h.toString());
    assert.equal(topLines(h, 3).toString(), h.toString());
  });
  it('empty header', () => {
    const m = Buffer.from('\r\nbody1\r\nbody2\r\n');
    assert.equal(topLines(m, 0).toString(), '\r\n');
    assert.equal(topLines(m, 1).toString(), '\r\nbody1\r\n');
  });
  it('last body line without CRLF', () => {
    const m = Buffer.from('A: b\r\n\r\nx\r\ny');
    assert.equal(topLines(m, 2).toString(), 'A: b\r\n\r\nx\r\ny');
    assert.equal(topLines(m, 1).toString(), 'A: b\r\n\r\nx\r\n');
  });
  it('blank body lines count as lines', () => {
    const m = Buffer.from('A: b\r\n\r\n\r\n\r\nx\r\n');
    assert.equal(topLines(m, 2).toString(), 'A: b\r\n\r\n\r\n\r\n');
  });
  it('property: result is a prefix, monotone in n', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary-ascii' }), fc.nat(20), (s, n) => {
      const b = Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');
      const t = topLines(b, n);
      assert.ok(b.subarray(0, t.length).equals(t));
      assert.ok(topLines(b, n + 1).length >= t.length);
    }));
  });
});
