import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseParamValue, paramValue } from './params.ts';

test('RFC 2045 §5.1: type, subtype, parameters, comments, quoted values', () => {
  const p = parseParamValue(' text/plain; charset =us-ascii (Plain text)');
  assert.equal(p.type, 'text');
  assert.equal(p.subtype, 'plain');
  assert.deepEqual(p.params, [['charset', 'us-ascii']]);
  assert.deepEqual(parseParamValue('Multipart/Mixed; Boundary="simple boundary"').params, [['boundary', 'simple boundary']]);
  assert.deepEqual(parseParamValue('attachment; filename="a \\"b\\" c.txt"').decoded, [['filename', 'a "b" c.txt']]);
  assert.equal(parseParamValue('inline').subtype, null);
});

test('lenient: missing ";" between parameters, unquoted spaces in a value', () => {
  assert.deepEqual(parseParamValue('message/external-body; access-type=mail-server server="listserv@bogus.bitnet"').params, [
    ['access-type', 'mail-server'],
    ['server', 'listserv@bogus.bitnet'],
  ]);
  assert.deepEqual(parseParamValue('application/pdf; name=my file.pdf').decoded, [['name', 'my file.pdf']]);
});

test('RFC 2231 §3: continuations', () => {
  const p = parseParamValue('message/external-body; access-type=URL; URL*0="ftp://"; URL*1="cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar"');
  assert.deepEqual(p.params, [
    ['access-type', 'URL'],
    ['url', 'ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar'],
  ]);
});

test('RFC 2231 §4: charset and language', () => {
  const p = parseParamValue("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");
  assert.equal(paramValue(p, 'title'), 'This is ***fun***');
  assert.deepEqual(p.params, [['title*', "us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A"]]);
});

test('RFC 2231 §4.1: continuations mixing encoded and plain sections', () => {
  const p = parseParamValue("application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; title*2=\"isn't it!\"");
  assert.equal(paramValue(p, 'title'), "This is even more ***fun*** isn't it!");
  assert.deepEqual(p.params, [['title*', "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20isn%27t%20it!"]]);
});

test('UTF-8 and Latin-1 extended values; RFC 2047 inside a quoted value', () => {
  assert.equal(paramValue(parseParamValue("attachment; filename*=UTF-8''%E2%82%AC%20rates.pdf"), 'filename'), '€ rates.pdf');
  assert.equal(paramValue(parseParamValue("attachment; filename*=iso-8859-1''%D1and%FA.txt"), 'filename'), 'Ñandú.txt');
  assert.equal(paramValue(parseParamValue('image/png; name="=?utf-8?q?=E3=83=8F=E3=83=AD?=.png"'), 'name'), 'ハロ.png');
});

test('sections out of order are sorted; a gap ends the value', () => {
  assert.equal(paramValue(parseParamValue('a/b; x*1=b; x*0=a; x*3=d'), 'x'), 'ab');
});

test('property: never throws; names are lowercase; params and decoded agree in length', () => {
  const piece = fc.oneof(fc.constantFrom(';', '=', '"', '\\', '*', "'", '%', '(', ')', '/', ' ', 'name', 'x*0*', 'x*1', 'utf-8', '%E2'), fc.string({ maxLength: 5 }));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), (a) => {
      const p = parseParamValue(a.join(''));
      for (const [n] of p.params) assert.equal(n, n.toLowerCase());
      assert.ok(p.decoded.length <= p.params.length);
    }),
    { numRuns: 3000 },
  );
});
