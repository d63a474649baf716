// Tests for replies: construction and its guards, wire serialization
// (multi-line, enhanced codes, CR/LF scrubbing, the 512-octet limit), the
// transient/permanent split, the catalogue's codes, and a property test that
// any text serializes to well-formed reply lines.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { R, isPermanent, isTransient, reply, serializeReply, type Reply } from './reply.ts';

const WIRE = /^(\d{3}[- ][^\r\n]*\r\n)+$/; // not `.`: it stops at U+2028/U+2029, which are fine on the wire

describe('reply()', () => {
  it('builds single- and multi-line replies', () => {
    assert.deepEqual(reply(250, '2.0.0', 'OK'), { code: 250, enhanced: '2.0.0', lines: ['OK'] });
    assert.deepEqual(reply(250, null, ['a', 'b']), { code: 250, enhanced: null, lines: ['a', 'b'] });
    assert.deepEqual(reply(250, null, []).lines, ['']);
  });

  it('copies the lines array', () => {
    const lines = ['a'];
    const r = reply(250, null, lines);
    lines.push('b');
    assert.deepEqual(r.lines, ['a']);
  });

  it('rejects malformed codes (programming errors)', () => {
    assert.throws(() => reply(99, null, 'x'), RangeError);
    assert.throws(() => reply(600, null, 'x'), RangeError);
    assert.throws(() => reply(250.5, null, 'x'), RangeError);
    assert.throws(() => reply(250, '5.0.0', 'x'), RangeError); // class must match (RFC 3463 §2)
    assert.throws(() => reply(250, '2.0', 'x'), RangeError);
    assert.throws(() => reply(550, '5.1234.0', 'x'), RangeError);
    assert.doesNotThrow(() => reply(550, '5.123.456', 'x'));
  });
});

describe('serializeReply()', () => {
  it('serializes one line', () => {
    assert.equal(serializeReply(reply(250, '2.0.0', 'OK')), '250 2.0.0 OK\r\n');
    assert.equal(serializeReply(reply(220, null, 'mx ESMTP')), '220 mx ESMTP\r\n');
  });

  it('uses "-" on all lines but the last and repeats the enhanced code (RFC 2034 §3)', () => {
    assert.equal(serializeReply(reply(250, '2.0.0', ['a', 'b'])), '250-2.0.0 a\r\n250 2.0.0 b\r\n');
    assert.equal(serializeReply(reply(250, null, ['x', 'y', 'z'])), '250-x\r\n250-y\r\n250 z\r\n');
  });

  it('handles a reply with no lines', () => {
    assert.equal(serializeReply({ code: 250, enhanced: null, lines: [] }), '250 \r\n');
  });

  it('never emits CR or LF from the text', () => {
    assert.equal(serializeReply(reply(250, null, 'a\r\n250 forged')), '250 a 250 forged\r\n');
    assert.equal(serializeReply(reply(250, null, 'a\rb\nc\0d')), '250 a b c d\r\n');
    assert.equal(serializeReply(reply(250, null, 'tab\there')), '250 tab\there\r\n');
  });

  it('truncates a line to 512 octets including CRLF (RFC 5321 §4.5.3.1.5)', () => {
    const out = serializeReply(reply(250, '2.0.0', 'x'.repeat(1000)));
    assert.equal(Buffer.byteLength(out), 512);
    assert.ok(out.startsWith('250 2.0.0 xxx'));
    assert.ok(out.endsWith('x\r\n'));
  });

  it('does not split a multi-byte character when truncating', () => {
    const out = serializeReply(reply(250, null, '€'.repeat(300)));
    assert.ok(Buffer.byteLength(out) <= 512);
    assert.ok(!out.includes('\ufffd'));
    assert.equal(Buffer.from(out).toString('utf8'), out);
    const emoji = serializeReply(reply(250, null, '😀'.repeat(200)));
    assert.ok(Buffer.byteLength(emoji) <= 512);
    assert.ok(emoji.isWellFormed());
  });

  it('replaces lone surrogates', () => {
    assert.equal(serializeReply(reply(250, null, 'a\ud800b')), '250 a\ufffdb\r\n');
  });
});

describe('isTransient / isPermanent', () => {
  it('splits 4xx and 5xx', () => {
    assert.equal(isTransient(R.tempFailure), true);
    assert.equal(isPermanent(R.tempFailure), false);
    assert.equal(isPermanent(R.unknownUser), true);
    assert.equal(isTransient(R.unknownUser), false);
    assert.equal(isTransient(R.ok), false);
    assert.equal(isPermanent(R.ok), false);
    assert.equal(isTransient(R.startData), false);
  });
});

describe('catalogue R', () => {
  const expect: [Reply, number, string | null, string?][] = [
    [R.greeting('mx.example.org'), 220, null, 'mx.example.org ESMTP Mailroom'],
    [R.closing('mx.example.org'), 221, '2.0.0', 'Bye'],
    [R.ok, 250, '2.0.0', 'OK'],
    [R.senderOk, 250, '2.1.0', 'Sender OK'],
    [R.recipientOk, 250, '2.1.5', 'Recipient OK'],
    [R.startData, 354, null, 'End data with <CR><LF>.<CR><LF>'],
    [R.queued('ABC123'), 250, '2.0.0', 'OK: queued as ABC123'],
    [R.vrfy, 252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery'],
    [R.help, 214, '2.0.0'],
    [R.shuttingDown, 421, '4.3.2', 'Service shutting down'],
    [R.tooManyConnections, 421, '4.7.0', 'Too many connections'],
    [R.timeout, 421, '4.4.2', 'Timeout, closing connection'],
    [R.internalError, 421, '4.3.0', 'Internal error, closing connection'],
    [R.tempFailure, 451, '4.3.0', 'Temporary failure, please try again later'],
    [R.diskFull, 452, '4.3.1', 'Insufficient system storage'],
    [R.tooManyRecipients, 452, '4.5.3', 'Too many recipients'],
    [R.unknownUser, 550, '5.1.1', 'No such user here'],
    [R.relayDenied, 554, '5.7.1', 'Relay access denied'],
    [R.overQuota, 552, '5.2.2', 'Mailbox full'],
    [R.messageTooLarge, 552, '5.3.4', 'Message size exceeds fixed limit'],
    [R.commandUnrecognized, 500, '5.5.1', 'Command unrecognized'],
    [R.lineTooLong, 500, '5.5.6', 'Line too long'],
    [R.syntaxError('Syntax: X'), 501, '5.5.2', 'Syntax: X'],
    [R.badSequence('Need MAIL'), 503, '5.5.1', 'Need MAIL'],
    [R.paramNotRecognized(), 555, '5.5.4'],
    [R.paramNotRecognized('RET not supported'), 555, '5.5.4', 'RET not supported'],
    [R.bareNewline, 550, '5.5.2', 'Message rejected: bare <CR> or <LF> in message (SMTP smuggling protection)'],
    [R.dataLineTooLong, 550, '5.5.2', 'Message rejected: a line is longer than the limit (RFC 5321 §4.5.3.1.6)'],
    [R.tooManyJunkCommands, 421, '4.7.0', 'Too many errors, closing connection'],
    [R.notImplemented('TURN'), 502, '5.5.1', 'TURN not implemented'],
    [R.badEncodingNeeded, 553, '5.6.7'],
    [R.smtputf8Required, 550, '5.6.7'],
    [R.paramSyntax('x'), 501, '5.5.4', 'x'],
    [R.badSenderSyntax('x'), 501, '5.1.7', 'x'],
    [R.badRecipientSyntax('x'), 501, '5.1.3', 'x'],
  ];
  for (const [r, code, enhanced, text] of expect) {
    it(`${code} ${enhanced ?? ''} ${text ?? r.lines[0]}`, () => {
      assert.equal(r.code, code);
      assert.equal(r.enhanced, enhanced);
      if (text !== undefined) assert.equal(r.lines.join('\n'), text);
    });
  }

  it('every entry serializes to well-formed lines', () => {
    for (const [name, v] of Object.entries(R)) {
      const r: Reply = typeof v === 'function' ? (v as (...a: unknown[]) => Reply)('x', 'y', ['A', 'B']) : v;
      assert.match(serializeReply(r), WIRE, name);
    }
  });

  it('renders the EHLO reply without enhanced codes (RFC 2034 §3)', () => {
    assert.equal(
      serializeReply(R.ehlo('mx', '192.0.2.1', ['PIPELINING', 'SIZE 1000'])),
      '250-mx Hello 192.0.2.1\r\n250-PIPELINING\r\n250 SIZE 1000\r\n',
    );
  });

  it('constants are frozen', () => {
    assert.ok(Object.isFrozen(R.ok));
    assert.throws(() => {
      (R.ok as Reply).code = 550;
    });
  });
});

describe('serializeReply property', () => {
  const codeAndEnhanced = fc
    .tuple(fc.integer({ min: 2, max: 5 }), fc.integer({ min: 0, max: 99 }), fc.boolean(), fc.nat(999), fc.nat(999))
    .map(([cls, rest, withEnh, s, d]) => ({
      code: cls * 100 + rest,
      enhanced: withEnh && cls !== 3 ? `${cls}.${s}.${d}` : null,
    }));
  const text = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 600 }),
    fc.string({ unit: fc.constantFrom('a', '\r', '\n', ' ', '-', '€', '\0'), maxLength: 700 }),
  );

  it('always produces well-formed reply lines', () => {
    fc.assert(
      fc.property(codeAndEnhanced, fc.array(text, { maxLength: 5 }), ({ code, enhanced }, lines) => {
        const out = serializeReply(reply(code, enhanced, lines));
        assert.match(out, WIRE);
        // No bare CR or LF: removing every CRLF leaves none.
        assert.ok(!/[\r\n]/.test(out.replaceAll('\r\n', '')));
        const parts = out.split('\r\n').slice(0, -1);
        assert.equal(parts.length, Math.max(1, lines.length));
        parts.forEach((p, i) => {
          assert.equal(p.slice(0, 3), String(code));
          assert.equal(p[3], i === parts.length - 1 ? ' ' : '-');
          if (enhanced) assert.ok(p.slice(4).startsWith(enhanced + ' '));
          assert.ok(Buffer.byteLength(p) + 2 <= 512);
        });
      }),
      { numRuns: 500 },
    );
  });
});
