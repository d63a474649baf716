import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseCommand, parseAuthResponse, parseNumber, type Command } from './command.ts';

function okCmd(line: string): Command {
  const r = parseCommand(line);
  assert.ok(r.ok, `expected ok for ${JSON.stringify(line)}: ${r.ok ? '' : r.error}`);
  return r.command;
}
function errOf(line: string, maxLineLength?: number): string {
  const r = parseCommand(line, maxLineLength === undefined ? {} : { maxLineLength });
  assert.ok(!r.ok, `expected error for ${JSON.stringify(line)}`);
  return r.error;
}

describe('parseCommand: RFC 1939 commands', () => {
  it('USER', () => {
    assert.deepEqual(okCmd('USER mrose'), { verb: 'USER', name: 'mrose' });
    assert.deepEqual(okCmd('user alice@example.org\r\n'), { verb: 'USER', name: 'alice@example.org' });
    assert.match(errOf('USER'), /one name/);
    assert.match(errOf('USER a b'), /one name/);
  });
  it('PASS keeps the rest of the line, spaces included', () => {
    assert.deepEqual(okCmd('PASS secret'), { verb: 'PASS', password: 'secret' });
    assert.deepEqual(okCmd('pass my  pass phrase \r\n'), { verb: 'PASS', password: 'my  pass phrase ' });
    assert.match(errOf('PASS'), /needs a password/);
    assert.match(errOf('PASS '), /needs a password/);
  });
  it('APOP is refused', () => {
    assert.match(errOf('APOP mrose c4c9334bac560ecc979e58001b3e22fb'), /APOP is not supported/);
  });
  it('no-argument commands', () => {
    for (const v of ['STAT', 'NOOP', 'RSET', 'QUIT', 'CAPA', 'STLS'] as const) {
      assert.deepEqual(okCmd(v), { verb: v });
      assert.deepEqual(okCmd(v.toLowerCase() + '\r\n'), { verb: v });
      assert.match(errOf(`${v} 1`), /takes no arguments/);
    }
  });
  it('LIST and UIDL with and without a number', () => {
    assert.deepEqual(okCmd('LIST'), { verb: 'LIST' });
    assert.deepEqual(okCmd('LIST 2'), { verb: 'LIST', msg: 2 });
    assert.deepEqual(okCmd('uidl'), { verb: 'UIDL' });
    assert.deepEqual(okCmd('UIDL 3'), { verb: 'UIDL', msg: 3 });
    assert.match(errOf('LIST 1 2'), /at most one/);
    assert.match(errOf('UIDL x'), /invalid message number/);
    assert.match(errOf('LIST 0'), /invalid message number/);
  });
  it('RETR and DELE', () => {
    assert.deepEqual(okCmd('RETR 1'), { verb: 'RETR', msg: 1 });
    assert.deepEqual(okCmd('dele 9999999999'), { verb: 'DELE', msg: 9999999999 });
    assert.match(errOf('RETR'), /needs one message number/);
    assert.match(errOf('DELE 1 2'), /needs one message number/);
    assert.match(errOf('RETR -1'), /invalid message number/);
    assert.match(errOf('RETR +1'), /invalid message number/);
    assert.match(errOf('RETR 12345678901'), /invalid message number/);
    assert.match(errOf('RETR 1.0'), /invalid message number/);
  });
  it('TOP n lines (lines may be 0)', () => {
    assert.deepEqual(okCmd('TOP 1 10'), { verb: 'TOP', msg: 1, lines: 10 });
    assert.deepEqual(okCmd('top 1 0'), { verb: 'TOP', msg: 1, lines: 0 });
    assert.match(errOf('TOP 1'), /message number and a line count/);
    assert.match(errOf('TOP 0 1'), /invalid message number/);
    assert.match(errOf('TOP 1 x'), /invalid line count/);
  });
  it('AUTH with mechanism and optional initial response (RFC 5034 §4)', () => {
    assert.deepEqual(okCmd('AUTH'), { verb: 'AUTH' });
    assert.deepEqual(okCmd('auth plain'), { verb: 'AUTH', mechanism: 'PLAIN' });
    assert.deepEqual(okCmd('AUTH PLAIN AGFsaWNlAHNlY3JldA=='), {
      verb: 'AUTH', mechanism: 'PLAIN', initialResponse: 'AGFsaWNlAHNlY3JldA==',
    });
    assert.deepEqual(okCmd('AUTH PLAIN ='), { verb: 'AUTH', mechanism: 'PLAIN', initialResponse: '=' });
    assert.match(errOf('AUTH PLAIN not*base64'), /not base64/);
    assert.match(errOf('AUTH PL@IN'), /invalid SASL mechanism/);
    assert.match(errOf('AUTH A B C'), /optional initial response/);
  });
});

describe('parseCommand: syntax errors', () => {
  it('unknown, empty, spacing, control characters', () => {
    assert.match(errOf(''), /empty/);
    assert.match(errOf('\r\n'), /empty/);
    assert.match(errOf('XTND XMIT'), /unknown command/);
    assert.match(errOf(' STAT'), /unknown command/);
    assert.match(errOf('LIST  1'), /single space/);
    assert.match(errOf('LIST 1 '), /single space/);
    assert.match(errOf('STAT\rX'), /CR, LF or NUL/);
    assert.match(errOf('USER a\0b'), /CR, LF or NUL/);
  });
  it('line length limit: 255 octets including CRLF (RFC 2449 §4), configurable', () => {
    const name = 'a'.repeat(255 - 'USER '.length - 2);
    assert.equal(okCmd(`USER ${name}\r\n`).verb, 'USER');
    assert.match(errOf(`USER ${name}a\r\n`), /too long/);
    assert.match(errOf(`USER ${name}a`), /too long/);
    assert.match(errOf('USER abcdef', 10), /limit 10/);
    // Octets, not UTF-16 units.
    assert.match(errOf(`USER ${'é'.repeat(126)}`), /too long/);
  });
  it('RFC 1939 examples parse', () => {
    for (const l of ['USER mrose', 'PASS secret', 'STAT', 'LIST', 'LIST 2', 'RETR 1', 'DELE 1', 'NOOP', 'RSET',
      'QUIT', 'TOP 1 10', 'UIDL', 'UIDL 2']) {
      assert.ok(parseCommand(l).ok, l);
    }
  });
});

describe('parseNumber', () => {
  it('accepts 1–10 digits, refuses sign, zero (unless allowed), empty', () => {
    assert.equal(parseNumber('1', false), 1);
    assert.equal(parseNumber('0007', false), 7);
    assert.equal(parseNumber('0', false), undefined);
    assert.equal(parseNumber('0', true), 0);
    assert.equal(parseNumber('', true), undefined);
    assert.equal(parseNumber('-1', true), undefined);
    assert.equal(parseNumber('１', true), undefined);
  });
});

describe('parseAuthResponse', () => {
  it('base64, empty, cancel, errors, limit', () => {
    const r = parseAuthResponse('AGFsaWNlAHNlY3JldA==\r\n');
    assert.ok(r.ok && !r.cancel);
    assert.equal(r.data.toString('latin1'), '\0alice\0secret');
    assert.deepEqual(parseAuthResponse('*'), { ok: true, cancel: true });
    const e = parseAuthResponse('');
    assert.ok(e.ok && !e.cancel && e.data.length === 0);
    assert.equal(parseAuthResponse('abc').ok, false);
    assert.equal(parseAuthResponse('AAAA'.repeat(100), 255).ok, false);
    assert.equal(parseAuthResponse('AAAA'.repeat(100)).ok, true);
  });
});

describe('properties', () => {
  it('parseCommand never throws on arbitrary strings', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (s) => {
      const r = parseCommand(s);
      assert.equal(typeof r.ok, 'boolean');
      if (!r.ok) assert.equal(typeof r.error, 'string');
    }), { numRuns: 2000 });
  });
  it('parseCommand never throws on keyword-shaped input', () => {
    const kw = fc.constantFrom('USER', 'pass', 'LIST', 'top', 'RETR', 'AUTH', 'uidl', 'DELE', 'STAT', 'APOP');
    fc.assert(fc.property(kw, fc.array(fc.string({ maxLength: 12 }), { maxLength: 4 }), (k, args) => {
      const r = parseCommand([k, ...args].join(' '));
      assert.equal(typeof r.ok, 'boolean');
    }), { numRuns: 2000 });
  });
  it('message numbers round-trip', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 9_999_999_999 }), (n) => {
      assert.deepEqual(parseCommand(`RETR ${n}`), { ok: true, command: { verb: 'RETR', msg: n } });
    }));
  });
  it('PASS returns the password verbatim', () => {
    const pw = fc.string({ minLength: 1, maxLength: 200 }).filter((s) => !/[\r\n\0]/.test(s) && !s.endsWith('\n'));
    fc.assert(fc.property(pw, (p) => {
      const r = parseCommand(`PASS ${p}`);
      if (Buffer.byteLength(`PASS ${p}\r\n`) <= 255) assert.deepEqual(r, { ok: true, command: { verb: 'PASS', password: p } });
      else assert.equal(r.ok, false);
    }));
  });
});
