import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeBase64, decodeQuotedPrintable, decodeTransfer, isIdentityEncoding } from './transfer-encoding.ts';

test('base64 (RFC 2045 §6.8): line breaks and junk ignored, padding ends a quantum', () => {
  assert.equal(decodeBase64(Buffer.from('SGVs\r\nbG8=')).toString(), 'Hello');
  assert.equal(decodeBase64(Buffer.from('SGVsbG8')).toString(), 'Hello');
  assert.equal(decodeBase64(Buffer.from('SGVsbG8=!!\r\n')).toString(), 'Hello');
  assert.equal(decodeBase64(Buffer.from('')).length, 0);
});

test('quoted-printable (RFC 2045 §6.7)', () => {
  assert.equal(decodeQuotedPrintable(Buffer.from('caf=C3=A9')).toString(), 'café');
  assert.equal(decodeQuotedPrintable(Buffer.from('soft=\r\nbreak')).toString(), 'softbreak');
  assert.equal(decodeQuotedPrintable(Buffer.from('soft=\nbreak')).toString(), 'softbreak');
  assert.equal(decodeQuotedPrintable(Buffer.from('trailing   \r\nspace')).toString(), 'trailing\r\nspace');
  assert.equal(decodeQuotedPrintable(Buffer.from('a=zzb=4')).toString(), 'a=zzb=4');
  assert.equal(decodeQuotedPrintable(Buffer.from('lower=c3=a9')).toString(), 'loweré');
});

test('decodeTransfer: identity encodings pass through, unknown is null', () => {
  assert.equal(decodeTransfer(Buffer.from('x'), '7bit')!.toString(), 'x');
  assert.equal(decodeTransfer(Buffer.from('x'), 'BINARY')!.toString(), 'x');
  assert.equal(decodeTransfer(Buffer.from('eA=='), 'Base64')!.toString(), 'x');
  assert.equal(decodeTransfer(Buffer.from('x'), 'x-uuencode'), null);
  assert.ok(isIdentityEncoding(' 8bit '));
});

function qpEncode(b: Buffer): string {
  let out = '';
  let lineLen = 0;
  for (const x of b) {
    const ch = x >= 33 && x <= 126 && x !== 61 ? String.fromCharCode(x) : '=' + x.toString(16).toUpperCase().padStart(2, '0');
    if (lineLen + ch.length > 75) {
      out += '=\r\n';
      lineLen = 0;
    }
    out += ch;
    lineLen += ch.length;
  }
  return out;
}

test('property: base64 and quoted-printable round-trip any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 500 }), (u) => {
      const b = Buffer.from(u);
      const b64 = b.toString('base64').replace(/.{76}/g, '$&\r\n');
      assert.ok(decodeBase64(Buffer.from(b64)).equals(b));
      assert.ok(decodeQuotedPrintable(Buffer.from(qpEncode(b))).equals(b));
    }),
    { numRuns: 1000 },
  );
});

test('property: decoders never throw and never grow the input', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), (u) => {
      assert.ok(decodeBase64(u).length <= u.length);
      assert.ok(decodeQuotedPrintable(u).length <= u.length);
    }),
    { numRuns: 1000 },
  );
});

test('base64: text after the padding on the same line is ignored; later lines carry on', () => {
  assert.equal(decodeBase64(Buffer.from('ecO2dMOkIHZhYW4uCg== ignored')).toString(), 'yötä vaan.\n');
  assert.equal(decodeBase64(Buffer.from('SGk=\r\nSGk=\r\n')).toString(), 'HiHi');
});
