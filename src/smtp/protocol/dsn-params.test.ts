// Tests for the RFC 3461 DSN parameter parsers (NOTIFY, RET, ENVID, ORCPT),
// the xtext and RFC 6533 utf-8-addr-xtext codecs, and their use in the MAIL
// and RCPT parameter parsers: accepted forms, each refusal (501 5.5.4), and
// properties (arbitrary input never throws; what we format parses back).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ENVID_MAX,
  ORCPT_MAX,
  decodeOrcpt,
  formatNotify,
  formatOrcpt,
  parseEnvid,
  parseNotify,
  parseOrcpt,
  parseRet,
  utf8AddrXtext,
  xtextDecode,
  xtextEncode,
  type DsnNotify,
  type DsnResult,
} from './dsn-params.ts';
import { parseMailParams, parseRcptParams } from './params.ts';

function value<T>(r: DsnResult<T>): T {
  assert.ok(r.ok, r.ok ? '' : r.reply.lines.join(' '));
  return r.value;
}
function refused(r: DsnResult<unknown> | { ok: boolean; reply?: { code: number; enhanced: string | null; lines: string[] } }, text?: RegExp): void {
  assert.equal(r.ok, false);
  if (r.ok || !('reply' in r) || !r.reply) return;
  assert.equal(r.reply.code, 501);
  assert.equal(r.reply.enhanced, '5.5.4');
  if (text) assert.match(r.reply.lines.join(' '), text);
}

describe('NOTIFY (RFC 3461 §4.1)', () => {
  it('takes NEVER alone or a list of SUCCESS, FAILURE, DELAY in any case and order', () => {
    assert.deepEqual(value(parseNotify('NEVER')), ['NEVER']);
    assert.deepEqual(value(parseNotify('never')), ['NEVER']);
    assert.deepEqual(value(parseNotify('SUCCESS')), ['SUCCESS']);
    assert.deepEqual(value(parseNotify('delay,Failure,SUCCESS')), ['SUCCESS', 'FAILURE', 'DELAY']);
    assert.deepEqual(value(parseNotify('FAILURE,FAILURE')), ['FAILURE']);
  });
  it('refuses NEVER with others, unknown or empty items, and a missing value', () => {
    refused(parseNotify('NEVER,SUCCESS'), /NEVER/);
    refused(parseNotify('SUCCESS,NEVER'), /NEVER/);
    refused(parseNotify('SOMETIMES'));
    refused(parseNotify('SUCCESS,'));
    refused(parseNotify(',SUCCESS'));
    refused(parseNotify('SUCCESS,,DELAY'));
    refused(parseNotify(''));
    refused(parseNotify(true));
  });
  it('formats canonically', () => {
    assert.equal(formatNotify(['DELAY', 'SUCCESS']), 'SUCCESS,DELAY');
    assert.equal(formatNotify(['NEVER']), 'NEVER');
  });
});

describe('RET (RFC 3461 §4.3)', () => {
  it('takes FULL or HDRS', () => {
    assert.equal(value(parseRet('FULL')), 'FULL');
    assert.equal(value(parseRet('hdrs')), 'HDRS');
  });
  it('refuses anything else', () => {
    refused(parseRet('BODY'), /RET=FULL or RET=HDRS/);
    refused(parseRet(true));
    refused(parseRet(''));
  });
});

describe('ENVID (RFC 3461 §4.4)', () => {
  it('takes xtext up to 100 characters, kept as received', () => {
    assert.equal(value(parseEnvid('QQ314159')), 'QQ314159');
    assert.equal(value(parseEnvid('a+2Bb+3Dc+20d')), 'a+2Bb+3Dc+20d');
    assert.equal(value(parseEnvid('x'.repeat(ENVID_MAX))), 'x'.repeat(ENVID_MAX));
  });
  it('refuses bad xtext, control or non-ASCII octets once decoded, and overlong values', () => {
    refused(parseEnvid('a+2b'), /xtext/); // hexchar digits are upper case
    refused(parseEnvid('a+2'), /xtext/);
    refused(parseEnvid('a+GG'), /xtext/);
    refused(parseEnvid('a+'), /xtext/);
    refused(parseEnvid('jörg'), /xtext/);
    refused(parseEnvid('a+0Ab'), /xtext/);
    refused(parseEnvid('a+E9'), /xtext/);
    refused(parseEnvid('x'.repeat(ENVID_MAX + 1)), /100/);
    refused(parseEnvid(true));
  });
});

describe('ORCPT (RFC 3461 §4.2, RFC 6533 §3)', () => {
  it('takes addr-type;xtext and decodes the address', () => {
    assert.deepEqual(value(parseOrcpt('rfc822;user+2Bx@example.org')), { type: 'rfc822', address: 'user+x@example.org' });
    assert.deepEqual(value(parseOrcpt('RFC822;a@b')), { type: 'RFC822', address: 'a@b' });
    assert.deepEqual(value(parseOrcpt('x400;c+3Dus+3Ba+3D+20')), { type: 'x400', address: 'c=us;a= ' });
  });
  it('takes the utf-8 type as utf-8-addr-xtext or utf-8-addr-unitext', () => {
    assert.deepEqual(value(parseOrcpt('utf-8;j\\x{F6}rg@b\\x{FC}cher.example')), { type: 'utf-8', address: 'jörg@bücher.example' });
    assert.deepEqual(value(parseOrcpt('utf-8;用户@例子.广告')), { type: 'utf-8', address: '用户@例子.广告' });
    assert.deepEqual(value(parseOrcpt('UTF-8;a\\x{2B}b@c')), { type: 'UTF-8', address: 'a+b@c' });
  });
  it('refuses malformed values', () => {
    refused(parseOrcpt('user@example.org'), /ORCPT/);
    refused(parseOrcpt(';user@example.org'), /ORCPT/);
    refused(parseOrcpt('rfc822;'), /ORCPT/);
    refused(parseOrcpt('rf(c;a@b'), /ORCPT/);
    refused(parseOrcpt('rfc822;a+2b@b'), /xtext/);
    refused(parseOrcpt('rfc822;jörg@b'), /xtext/); // non-ASCII needs the utf-8 type
    refused(parseOrcpt('rfc822;a+0D+0A@b'), /xtext/);
    refused(parseOrcpt('utf-8;a+b@c'), /xtext/); // "+" is not a QCHAR
    refused(parseOrcpt('utf-8;a\\b@c'), /xtext/);
    refused(parseOrcpt('utf-8;a\\x{D800}@c'), /xtext/);
    refused(parseOrcpt('utf-8;a\\x{110000}@c'), /xtext/);
    refused(parseOrcpt('utf-8;a\\x{0}@c'), /xtext/);
    refused(parseOrcpt('utf-8;a\\x{A}@c'), /xtext/);
    refused(parseOrcpt(`rfc822;${'a'.repeat(ORCPT_MAX)}`), /500/);
    refused(parseOrcpt(true));
    assert.equal(decodeOrcpt('nonsense'), null);
  });
  it('formats canonically: xtext, or utf-8 for non-ASCII addresses', () => {
    assert.equal(formatOrcpt({ type: 'rfc822', address: 'a+b=c d@x' }), 'rfc822;a+2Bb+3Dc+20d@x');
    assert.equal(formatOrcpt({ type: 'rfc822', address: 'jörg@x' }), 'utf-8;j\\x{F6}rg@x');
  });
});

describe('xtext codecs', () => {
  it('encodes "+", "=", space, controls and UTF-8 octets', () => {
    assert.equal(xtextEncode('a+b=c d\x01é'), 'a+2Bb+3Dc+20d+01+C3+A9');
    assert.equal(xtextDecode('a+2Bb'), 'a+b');
    assert.equal(xtextDecode('a=b'), null);
    assert.equal(xtextDecode('a b'), null);
    assert.equal(utf8AddrXtext('a+b\\é😀'), 'a\\x{2B}b\\x{5C}\\x{E9}\\x{1F600}');
  });
});

describe('MAIL and RCPT parameters with DSN', () => {
  it('MAIL interprets RET and ENVID and refuses repeats and bad values', () => {
    const m = parseMailParams('RET=HDRS ENVID=QQ+2B1 SIZE=5');
    assert.ok(m.ok);
    assert.equal(m.params.ret, 'HDRS');
    assert.equal(m.params.envid, 'QQ+2B1');
    assert.deepEqual(m.params.other, {});
    refused(parseMailParams('RET=FULL RET=FULL'), /Duplicate/);
    refused(parseMailParams('ENVID=a envid=b'), /Duplicate/);
    refused(parseMailParams('RET=ALL'), /RET/);
    refused(parseMailParams('ENVID'), /ENVID/);
  });
  it('RCPT interprets NOTIFY and ORCPT and leaves others for the session', () => {
    const r = parseRcptParams('NOTIFY=SUCCESS ORCPT=rfc822;a@b X-Y');
    assert.ok(r.ok);
    assert.deepEqual(r.params, { notify: ['SUCCESS'], orcpt: 'rfc822;a@b', other: { 'X-Y': true } });
    refused(parseRcptParams('NOTIFY=NEVER NOTIFY=NEVER'), /Duplicate/);
    refused(parseRcptParams('ORCPT=rfc822;a@b orcpt=rfc822;a@b'), /Duplicate/);
    refused(parseRcptParams('NOTIFY'), /NOTIFY/);
  });
});

describe('DSN parameter properties', () => {
  const notifyList = fc.oneof(
    fc.constant<DsnNotify[]>(['NEVER']),
    fc.subarray<DsnNotify>(['SUCCESS', 'FAILURE', 'DELAY'], { minLength: 1 }),
  );
  const asciiPrintable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 60 });
  const anyText = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 });
  const junk = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 80 }),
    fc.array(fc.constantFrom('+', '=', ';', '\\', 'x{', '}', 'A', '2B', 'rfc822', 'utf-8', 'NEVER', 'SUCCESS', ',', 'é', '\0', ' '), { maxLength: 20 }).map((a) => a.join('')),
  );

  it('never throw on arbitrary values', () => {
    fc.assert(
      fc.property(fc.oneof(junk, fc.constant(true as const)), (v) => {
        for (const f of [parseNotify, parseRet, parseEnvid, parseOrcpt]) {
          const r = f(v);
          if (!r.ok) assert.equal(r.reply.code, 501);
        }
        if (typeof v === 'string') {
          xtextDecode(v);
          decodeOrcpt(v);
          parseMailParams(v);
          parseRcptParams(v);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('NOTIFY round-trips', () => {
    fc.assert(fc.property(notifyList, (n) => assert.deepEqual(value(parseNotify(formatNotify(n))), n)));
  });

  it('ENVID: printable ASCII encoded as xtext parses back and decodes to itself', () => {
    fc.assert(
      fc.property(asciiPrintable, (s) => {
        const x = xtextEncode(s);
        fc.pre(x.length <= ENVID_MAX);
        assert.equal(value(parseEnvid(x)), x);
        assert.equal(xtextDecode(x), s);
      }),
    );
  });

  it('xtext decodes what it encodes (octets of UTF-8)', () => {
    fc.assert(fc.property(anyText, (s) => assert.equal(Buffer.from(xtextDecode(xtextEncode(s))!, 'latin1').toString('utf8'), s)));
  });

  it('ORCPT: a formatted address parses back to the same address', () => {
    const noControls = anyText.filter((s) => !/[\x00-\x1f\x7f]/.test(s) && !/[\ud800-\udfff]/.test(s.replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')));
    fc.assert(
      fc.property(fc.oneof(asciiPrintable.map((a) => ({ type: 'rfc822', address: a })), noControls.map((a) => ({ type: 'utf-8', address: a }))), (o) => {
        const f = formatOrcpt(o);
        fc.pre(f.length <= ORCPT_MAX);
        assert.deepEqual(value(parseOrcpt(f)), o);
      }),
    );
  });
});
