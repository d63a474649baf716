// DKIM signing: the RFC 8463 Appendix A vectors (the same bh= and, both
// algorithms being deterministic, the same b=), verification of what we sign
// by an independent implementation (mailauth's dkimVerify), oversigning, and
// property tests: any message we sign verifies, and the body hash does not
// depend on how the message is cut into pieces.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import fc from 'fast-check';
import { conformanceDir } from '../../test/conformance/location.ts';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { bodyHashRelaxed, dkimSign, parseHeaderFields, relaxedField, signedField, splitMessage, type DkimSigningKey } from './dkim-sign.ts';

const VECTORS = pathToFileURL(conformanceDir + '/dkim/rfc8463/');
const crlf = (s: string) => s.replace(/\r?\n/g, '\r\n');

function ed25519FromSeed(b64: string) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(b64, 'base64')]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const RSA_KEY: DkimSigningKey = { domain: 'example.com', selector: 'r1', algorithm: 'rsa-sha256', privateKey: rsa.privateKey };
const ED_KEY: DkimSigningKey = { domain: 'example.com', selector: 'e1', algorithm: 'ed25519-sha256', privateKey: ed.privateKey };
const DNS: Record<string, string> = {
  'r1._domainkey.example.com': `v=DKIM1; k=rsa; p=${(rsa.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).toString('base64')}`,
  'e1._domainkey.example.com': `v=DKIM1; k=ed25519; p=${(ed.publicKey.export({ type: 'spki', format: 'der' }) as Buffer).subarray(-32).toString('base64')}`,
};

async function resolver(name: string, type: string): Promise<string[][]> {
  const v = DNS[name.toLowerCase()];
  if (type !== 'TXT' || !v) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
  return [[v]];
}

async function verify(message: string | Buffer): Promise<string[]> {
  const r = await dkimVerify(typeof message === 'string' ? Buffer.from(message, 'latin1') : message, { resolver, curTime: new Date('2026-01-01T00:00:00Z') });
  return r.results.map((x: { status: { result: string } }) => x.status.result);
}

const NOW = new Date('2026-01-01T00:00:00Z');
const MESSAGE = crlf(`From: Alice <alice@example.com>
To: Bob <bob@example.net>
Subject: Hello
Date: Thu, 01 Jan 2026 00:00:00 +0000
Message-ID: <1@example.com>
X-Mailer: test

Hi Bob,   with  spaces\t
and a tab.


`);

async function signed(message: string, keys = [RSA_KEY, ED_KEY]): Promise<string> {
  const r = await dkimSign([Buffer.from(message, 'latin1')], keys, { now: NOW });
  assert.ok(r.ok, r.ok ? '' : r.reason);
  return r.header + message;
}

describe('RFC 8463 Appendix A', () => {
  const eml = crlf(readFileSync(new URL('signed.eml', VECTORS), 'latin1'));
  const { header, body } = splitMessage([Buffer.from(eml, 'latin1')]);
  const all = parseHeaderFields(header);
  const sigs = all.filter((f) => f.name === 'dkim-signature');
  const fields = all.filter((f) => f.name !== 'dkim-signature');

  it('gives the same body hash', async () => {
    assert.equal(await bodyHashRelaxed(body), '2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=');
  });

  for (const [i, alg, key] of [
    [0, 'ed25519-sha256', () => ed25519FromSeed(readFileSync(new URL('private-ec.key', VECTORS), 'utf8').trim())],
    [1, 'rsa-sha256', () => createPrivateKey(readFileSync(new URL('private-rsa.key', VECTORS), 'utf8'))],
  ] as const) {
    it(`reproduces the ${alg} signature (oversigned from/subject/date)`, async () => {
      const raw = sigs[i]!.raw;
      const unsigned = raw.slice(0, raw.indexOf('b=', raw.indexOf('bh=') + 3) + 2);
      const h = /h=([^;]*);/.exec(raw.replace(/\r\n/g, ''))![1]!.split(':').map((s) => s.trim());
      const out = await signedField(unsigned, fields, h, { domain: 'football.example.com', selector: 'x', algorithm: alg, privateKey: key() });
      const b = (s: string) => s.slice(s.indexOf('b=', s.indexOf('bh=') + 3) + 2).replace(/\s+/g, '');
      assert.equal(b(out), b(raw));
    });
  }
});

describe('signing', () => {
  it('dual-signs (RSA and Ed25519) and both verify', async () => {
    const msg = await signed(MESSAGE);
    assert.deepEqual(await verify(msg), ['pass', 'pass']);
    const first = msg.split('\r\n').slice(0, 12).join('\n');
    assert.match(first, /^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example\.com; s=r1;/);
    assert.match(first, /a=ed25519-sha256/);
    for (const line of msg.slice(0, msg.indexOf('\r\nFrom:')).split('\r\n')) assert.ok(line.length <= 78, `line too long: ${line}`);
  });

  it('oversigns: a second From, a new Subject or an added Cc breaks the signature; an unsigned field does not', async () => {
    const msg = await signed(MESSAGE);
    const add = (field: string) => msg.replace('\r\n\r\n', `\r\n${field}\r\n\r\n`);
    assert.deepEqual(await verify(add('X-Spam: no')), ['pass', 'pass']);
    // mailauth answers a second From with neutral, the others with fail: never pass.
    for (const forged of [add('From: Mallory <m@evil.example>'), add('Subject: Pay now'), add('Cc: x@evil.example'), add('Reply-To: m@evil.example'), msg.replace('Hi Bob', 'Hi Eve')]) {
      const results = await verify(forged);
      assert.equal(results.length, 2);
      assert.ok(results.every((r) => r === 'fail' || r === 'neutral'), results.join());
    }
    assert.deepEqual(await verify(add('Subject: Pay now')), ['fail', 'fail']);
  });

  it('survives relaxed changes: folding, whitespace, trailing empty lines', async () => {
    const msg = await signed(MESSAGE);
    const changed = msg.replace('Subject: Hello', 'Subject:   Hello\r\n\t ').replace('and a tab.', 'and  a tab.  ') + '\r\n\r\n';
    assert.deepEqual(await verify(changed), ['pass', 'pass']);
  });

  it('signs 8-bit (UTF-8) headers and body byte for byte', async () => {
    const msg = Buffer.from('From: Zoë <zoe@example.com>\r\nSubject: Grüße\r\n\r\nÄ body\r\n', 'utf8').toString('latin1');
    assert.deepEqual(await verify(await signed(msg)), ['pass', 'pass']);
  });

  it('a message of headers only, and an empty body', async () => {
    assert.deepEqual(await verify(await signed('From: a@example.com\r\nSubject: x\r\n')), ['pass', 'pass']);
    assert.deepEqual(await verify(await signed('From: a@example.com\r\n\r\n')), ['pass', 'pass']);
  });

  it('refuses a message without exactly one From, and no keys', async () => {
    const r = await dkimSign([Buffer.from('Subject: x\r\n\r\nbody\r\n')], [RSA_KEY], { now: NOW });
    assert.deepEqual(r, { ok: false, reason: 'the message has no From field' });
    const two = await dkimSign([Buffer.from('From: a@example.com\r\nFrom: b@example.com\r\n\r\n')], [RSA_KEY], { now: NOW });
    assert.equal(two.ok, false);
    assert.equal((await dkimSign([Buffer.from(MESSAGE)], [], { now: NOW })).ok, false);
  });

  it('relaxed header canonicalization (RFC 6376 §3.4.2)', () => {
    assert.equal(relaxedField('SUBJect \t:  A \t b\r\n  c  '), 'subject:A b c');
    assert.equal(relaxedField('X:'), 'x:');
  });
});

// Header values and body lines from printable ASCII and WSP (what relaxed canonicalization touches).
const text = fc.stringMatching(/^[ -~\t]{0,60}$/).filter((s) => !/^[ \t]/.test(s));
const bodyLines = fc.array(fc.stringMatching(/^[ -~\t]{0,80}$/), { maxLength: 12 });

describe('properties', () => {
  it('whatever the headers and body, what we sign verifies', async () => {
    await fc.assert(
      fc.asyncProperty(text, text, bodyLines, fc.boolean(), async (subject, to, lines, finalCrlf) => {
        const body = lines.join('\r\n') + (finalCrlf ? '\r\n' : '');
        const msg = `From: a@example.com\r\nTo: ${to}\r\nSubject: ${subject}\r\n\r\n${body}`;
        assert.deepEqual(await verify(await signed(msg, [ED_KEY])), ['pass']);
      }),
      { numRuns: 60 },
    );
  });

  it('the body hash does not depend on how the body is cut into pieces', async () => {
    await fc.assert(
      fc.asyncProperty(bodyLines, fc.array(fc.nat(), { maxLength: 6 }), async (lines, cuts) => {
        const whole = Buffer.from(lines.join('\r\n') + '\r\n', 'latin1');
        const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
        const pieces: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, whole.length]) {
          pieces.push(whole.subarray(prev, p));
          prev = p;
        }
        assert.equal(await bodyHashRelaxed(pieces, 7), await bodyHashRelaxed([whole]));
      }),
    );
  });

  it('the body hash equals a line-by-line reading of RFC 6376 §3.4.4', async () => {
    const reference = (body: string): string => {
      const ls = body.split('\r\n');
      if (ls[ls.length - 1] === '') ls.pop();
      const canon = ls.map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
      while (canon.length > 0 && canon[canon.length - 1] === '') canon.pop();
      return createHash('sha256').update(canon.map((l) => l + '\r\n').join(''), 'latin1').digest('base64');
    };
    const wsLines = fc.array(fc.stringMatching(/^[ \tab]{0,8}$/), { maxLength: 10 });
    await fc.assert(
      fc.asyncProperty(wsLines, fc.boolean(), fc.nat({ max: 20 }), async (ls, crlf, cut) => {
        const body = ls.join('\r\n') + (crlf ? '\r\n' : '');
        const buf = Buffer.from(body, 'latin1');
        const at = Math.min(cut, buf.length);
        assert.equal(await bodyHashRelaxed([buf.subarray(0, at), buf.subarray(at)]), reference(body));
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes never throw', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const r = await dkimSign([Buffer.from(bytes)], [ED_KEY], { now: NOW });
        if (r.ok) assert.match(r.header, /^DKIM-Signature: /);
      }),
    );
  });
});

describe('splitMessage', () => {
  it('finds the empty line across pieces, and handles no header or no body', () => {
    const whole = 'A: 1\r\nB: 2\r\n\r\nbody\r\n';
    for (let i = 0; i <= whole.length; i++) {
      for (let j = i; j <= whole.length; j++) {
        const parts = [whole.slice(0, i), whole.slice(i, j), whole.slice(j)].map((x) => Buffer.from(x));
        const r = splitMessage(parts);
        assert.equal(r.header, 'A: 1\r\nB: 2\r\n');
        assert.equal(Buffer.concat(r.body).toString(), 'body\r\n');
      }
    }
    assert.deepEqual(splitMessage([Buffer.from('\r'), Buffer.from('\nbody')]).header, '');
    assert.equal(Buffer.concat(splitMessage([Buffer.from('\r'), Buffer.from('\nbody')]).body).toString(), 'body');
    assert.deepEqual(splitMessage([Buffer.from('A: 1\r\n')]), { header: 'A: 1\r\n', body: [] });
    assert.deepEqual(splitMessage([]), { header: '', body: [] });
  });
});
