// Tests for the incremental IMAP command reader: RFC 9051 examples (literals
// with continuation, §4.3 strings), LITERAL+/LITERAL- (RFC 7888), literal8,
// sections with partials, each limit's error and resynchronization, and
// property tests (never throws; byte-at-a-time equals whole feeding).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommandReader, isTag, type ReaderEvent, type ReaderOptions, type Token } from './tokenizer.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
function feed(input: string | Uint8Array, opts?: ReaderOptions): ReaderEvent[] {
  return new CommandReader(opts).push(typeof input === 'string' ? enc(input) : input);
}
function one(input: string, opts?: ReaderOptions): { tag: string; tokens: Token[] } {
  const evs = feed(input, opts).filter((e) => e.type !== 'continue');
  assert.equal(evs.length, 1, JSON.stringify(evs));
  const e = evs[0]!;
  assert.equal(e.type, 'command', JSON.stringify(e));
  return e.type === 'command' ? { tag: e.tag, tokens: e.tokens } : { tag: '', tokens: [] };
}
const atom = (value: string): Token => ({ type: 'atom', value });
const lit = (s: string, binary = false): Token => ({ type: 'literal', value: enc(s), binary });

describe('IMAP command reader', () => {
  it('reads a simple command', () => {
    assert.deepEqual(one('a001 CAPABILITY\r\n'), { tag: 'a001', tokens: [atom('CAPABILITY')] });
  });

  it('RFC 9051 §6.2.3 LOGIN with synchronizing literals asks for continuations', () => {
    const r = new CommandReader();
    assert.deepEqual(r.push(enc('A001 LOGIN {11}\r\n')), [{ type: 'continue', tag: 'A001' }]);
    assert.deepEqual(r.push(enc('FRED FOOBAR {7}\r\n')), [{ type: 'continue', tag: 'A001' }]);
    const evs = r.push(enc('fat man\r\n'));
    assert.deepEqual(evs, [{ type: 'command', tag: 'A001', tokens: [atom('LOGIN'), lit('FRED FOOBAR'), lit('fat man')] }]);
    assert.ok(r.idle);
  });

  it('LITERAL+ needs no continuation', () => {
    const evs = feed('A1 LOGIN {3+}\r\nabc {2+}\r\nxy\r\n');
    assert.deepEqual(evs, [{ type: 'command', tag: 'A1', tokens: [atom('LOGIN'), lit('abc'), lit('xy')] }]);
  });

  it('quoted strings with escapes and UTF-8 (RFC 9051 §4.3)', () => {
    const r = one('A2 LOGIN "fr\\"ed" "p\\\\w åäö"\r\n');
    assert.deepEqual(r.tokens, [atom('LOGIN'), { type: 'quoted', value: 'fr"ed' }, { type: 'quoted', value: 'p\\w åäö' }]);
  });

  it('rejects bad escapes, unterminated quotes and invalid UTF-8', () => {
    for (const bad of ['A "a\\b"\r\n', 'A "abc\r\n', 'A "\u0000"\r\n']) {
      const e = feed(bad)[0]!;
      assert.equal(e.type, 'error', bad);
    }
    const e = feed(Buffer.concat([Buffer.from('A "'), Buffer.from([0xff, 0xfe]), Buffer.from('"\r\n')]))[0]!;
    assert.deepEqual(e, { type: 'error', error: { kind: 'syntax', tag: 'A', message: 'invalid UTF-8 in quoted string' } });
  });

  it('numbers, NIL, nested lists, flags and sequence sets', () => {
    const r = one('A3 STORE 1:*,5 +FLAGS.SILENT (\\Seen \\Deleted (x NIL)) 42 nil\r\n');
    assert.deepEqual(r.tokens, [
      atom('STORE'), atom('1:*,5'), atom('+FLAGS.SILENT'),
      { type: 'list', items: [atom('\\Seen'), atom('\\Deleted'), { type: 'list', items: [atom('x'), { type: 'nil' }] }] },
      { type: 'number', value: 42 }, { type: 'nil' },
    ]);
    assert.deepEqual(one('A LOGIN 007 0\r\n').tokens, [atom('LOGIN'), atom('007'), { type: 'number', value: 0 }]);
    assert.deepEqual(one('A ()\r\n').tokens, [{ type: 'list', items: [] }]);
  });

  it('keeps BODY[...]<...> sections intact as one token', () => {
    const r = one('A4 FETCH 1 (BODY.PEEK[HEADER.FIELDS (From Subject)]<0.100> BODY[] BINARY.SIZE[1.2] BODY[1.MIME]<5>)\r\n');
    assert.deepEqual(r.tokens[2], {
      type: 'list',
      items: [
        { type: 'section', name: 'BODY.PEEK', section: [atom('HEADER.FIELDS'), { type: 'list', items: [atom('From'), atom('Subject')] }], partial: { offset: 0, length: 100 } },
        { type: 'section', name: 'BODY', section: [] },
        { type: 'section', name: 'BINARY.SIZE', section: [atom('1.2')] },
        { type: 'section', name: 'BODY', section: [atom('1.MIME')], partial: { offset: 5 } },
      ],
    });
  });

  it('a literal inside a section header list', () => {
    const r = one('A FETCH 1 BODY[HEADER.FIELDS ({4}\r\nFrom)]\r\n');
    assert.deepEqual(r.tokens[2], { type: 'section', name: 'BODY', section: [atom('HEADER.FIELDS'), { type: 'list', items: [lit('From')] }] });
  });

  it('literal8 ~{n} for APPEND binary, NUL allowed only there', () => {
    const r = new CommandReader();
    assert.deepEqual(r.push(enc('A5 APPEND INBOX ~{3}\r\n')), [{ type: 'continue', tag: 'A5' }]);
    const evs = r.push(Uint8Array.from([0, 1, 2, 13, 10]));
    assert.deepEqual(evs, [{ type: 'command', tag: 'A5', tokens: [atom('APPEND'), atom('INBOX'), { type: 'literal', value: Uint8Array.from([0, 1, 2]), binary: true }] }]);
    const bad = feed(Buffer.concat([Buffer.from('A6 X {1+}\r\n'), Buffer.from([0]), Buffer.from('\r\n')]));
    assert.equal(bad[0]!.type, 'error');
  });

  it('zero-length literals and bare LF line ends', () => {
    assert.deepEqual(one('A LOGIN {0}\r\n {0+}\n\n').tokens, [atom('LOGIN'), lit(''), lit('')]);
  });

  it('syntax errors carry the tag and the reader resynchronizes', () => {
    const evs = feed('A1 FOO  BAR\r\nA2 NOOP\r\n');
    assert.deepEqual(evs[0], { type: 'error', error: { kind: 'syntax', tag: 'A1', message: 'unexpected character' } });
    assert.deepEqual(evs[1], { type: 'command', tag: 'A2', tokens: [atom('NOOP')] });
    for (const bad of ['\r\n', '+x NOOP\r\n', 'A1\r\n', 'A1 \r\n', 'A1 (a\r\n', 'A1 a)\r\n', 'A1 BODY[x\r\n', 'A1 BINARY.PEEK[1]<x>\r\n']) {
      assert.equal(feed(bad)[0]!.type, 'error', JSON.stringify(bad));
    }
  });

  it('"[" is an atom character except after a FETCH section name (RFC 9051 §9 ATOM-CHAR)', () => {
    assert.deepEqual(one('A1 SELECT [x]\r\n').tokens, [atom('SELECT'), atom('[x]')]);
    assert.deepEqual(one('A1 X B[]<x>\r\n').tokens, [atom('X'), atom('B[]<x>')]);
    assert.deepEqual(one("A1 SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\n").tokens, [atom('SELECT'), atom("!#$&'+,-.0123456789:;<=>?@^_`|[}")]);
    assert.deepEqual(one('A1 FETCH 1 body.peek[]\r\n').tokens[2], { type: 'section', name: 'body.peek', section: [] });
  });

  it('max line length: too_long, then the next command reads', () => {
    const opts = { maxLineLength: 20 };
    assert.equal(one('A1 NOOP 12345678901\r\n', opts).tag, 'A1'); // exactly 20
    const evs = feed(`A1 NOOP ${'x'.repeat(100)}\r\nA2 NOOP\r\n`, opts);
    assert.deepEqual(evs[0], { type: 'error', error: { kind: 'too_long', tag: 'A1', message: 'line longer than 20 octets' } });
    assert.deepEqual(evs[1], { type: 'command', tag: 'A2', tokens: [atom('NOOP')] });
    assert.equal(evs.length, 2);
    // Byte at a time: the buffer never grows past the limit and one error is reported.
    const r = new CommandReader(opts);
    const all: ReaderEvent[] = [];
    for (const b of enc(`A1 NOOP ${'x'.repeat(1000)}\r\nA2 NOOP\r\n`)) all.push(...r.push(Uint8Array.of(b)));
    assert.deepEqual(all, evs);
  });

  it('max literal size: a refused synchronizing literal expects no bytes', () => {
    const r = new CommandReader({ maxLiteralSize: 10 });
    assert.deepEqual(r.push(enc('A1 APPEND INBOX {11}\r\n')), [
      { type: 'error', error: { kind: 'literal_too_large', tag: 'A1', message: 'literal larger than 10 octets' } },
    ]);
    assert.ok(r.idle);
    assert.deepEqual(r.push(enc('A2 NOOP\r\n')), [{ type: 'command', tag: 'A2', tokens: [atom('NOOP')] }]);
    assert.equal(feed('A1 X {99999999999999999999}\r\n')[0]!.type, 'error');
  });

  it('a refused non-synchronizing literal is skipped, never read as commands', () => {
    const evs = feed('A1 APPEND INBOX {20+}\r\nA9 DELETE INBOX\r\nxxxxx\r\nA2 NOOP\r\n', { maxLiteralSize: 10 });
    assert.deepEqual(evs, [
      { type: 'error', error: { kind: 'literal_too_large', tag: 'A1', message: 'literal larger than 10 octets' } },
      { type: 'command', tag: 'A2', tokens: [atom('NOOP')] },
    ]);
  });

  it('LITERAL- allows non-synchronizing literals up to 4096 octets (RFC 7888 §4)', () => {
    const ok = feed(`A1 X {4096+}\r\n${'a'.repeat(4096)}\r\n`, { nonSyncLiterals: 'minus' });
    assert.equal(ok[0]!.type, 'command');
    const bad = feed(`A1 X {4097+}\r\n${'a'.repeat(4097)}\r\nA2 NOOP\r\n`, { nonSyncLiterals: 'minus' });
    assert.deepEqual(bad, [
      { type: 'error', error: { kind: 'literal_too_large', tag: 'A1', message: 'non-synchronizing literal larger than 4096 octets' } },
      { type: 'command', tag: 'A2', tokens: [atom('NOOP')] },
    ]);
    const none = feed('A1 X {1+}\r\na\r\nA2 NOOP\r\n', { nonSyncLiterals: 'none' });
    assert.equal(none[0]!.type, 'error');
    assert.equal(none[1]!.type, 'command');
  });

  it('max command size counts lines and literals', () => {
    const opts = { maxCommandSize: 40 };
    const r = new CommandReader(opts);
    assert.deepEqual(r.push(enc('A1 LOGIN {10}\r\n')), [{ type: 'continue', tag: 'A1' }]);
    r.push(enc('0123456789 {30}\r\n'));
    // 16 + 10 + 6 + 30 > 40: refused, no "+" sent
    const evs = r.push(enc('A2 NOOP\r\n'));
    assert.equal(evs.length, 1);
    assert.deepEqual(evs[0], { type: 'command', tag: 'A2', tokens: [atom('NOOP')] });
    const again = new CommandReader(opts).push(enc('A1 LOGIN {10}\r\n0123456789 {30}\r\n'));
    assert.deepEqual(again[1], { type: 'error', error: { kind: 'too_long', tag: 'A1', message: 'command longer than 40 octets' } });
  });

  it('max nesting depth', () => {
    const opts = { maxDepth: 3 };
    assert.equal(feed('A1 X (((a)))\r\n', opts)[0]!.type, 'command');
    const e = feed('A1 X ((((a))))\r\nA2 NOOP\r\n', opts);
    assert.deepEqual(e[0], { type: 'error', error: { kind: 'syntax', tag: 'A1', message: 'nesting deeper than 3' } });
    assert.equal(e[1]!.type, 'command');
    assert.equal(feed(`A1 X ${'('.repeat(100000)}\r\n`)[0]!.type, 'error');
  });

  it('a marker inside a quoted string is not a literal', () => {
    const r = one('A1 X "{5}"\r\n');
    assert.deepEqual(r.tokens, [atom('X'), { type: 'quoted', value: '{5}' }]);
  });

  it('isTag', () => {
    assert.ok(isTag('a001'));
    assert.ok(isTag('x]'));
    for (const t of ['', 'a+', 'a*', 'a(', 'a{', 'a b', 'å']) assert.equal(isTag(t), false, t);
  });
});

describe('IMAP command reader properties', () => {
  const opts: ReaderOptions = { maxLineLength: 64, maxLiteralSize: 32, maxCommandSize: 200, maxDepth: 4 };
  const pieces = fc.constantFrom('A1 ', 'FETCH ', '(', ')', ' ', '"', '\\', 'a', '{3}', '{2+}', '~{1}', '\r\n', '\n', 'BODY[', ']', '<1.2>', 'NIL', '1:*', 'é', '\u0000', '{99}');
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 300 }),
    fc.array(pieces, { maxLength: 40 }).map((a) => enc(a.join(''))),
  );

  it('arbitrary bytes never throw', () => {
    fc.assert(fc.property(inputs, (bytes) => {
      new CommandReader(opts).push(bytes);
      new CommandReader().push(bytes);
    }), { numRuns: 2000 });
  });

  it('byte-at-a-time and arbitrary chunking give the same events as whole feeding', () => {
    fc.assert(fc.property(inputs, fc.array(fc.nat(20), { maxLength: 30 }), (bytes, cuts) => {
      const whole = new CommandReader(opts).push(bytes);
      const r1 = new CommandReader(opts);
      const single: ReaderEvent[] = [];
      for (const b of bytes) single.push(...r1.push(Uint8Array.of(b)));
      assert.deepEqual(single, whole);
      const r2 = new CommandReader(opts);
      const chunked: ReaderEvent[] = [];
      let i = 0;
      for (const c of cuts) {
        chunked.push(...r2.push(bytes.subarray(i, i + c)));
        i += c;
      }
      chunked.push(...r2.push(bytes.subarray(i)));
      assert.deepEqual(chunked, whole);
    }), { numRuns: 1000 });
  });
});
