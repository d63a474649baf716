// Conformance harness for DKIM verification (RFC 6376, RFC 8463 Ed25519)
// through our SenderAuth.verifyDkim, over every vector in
// ../shared/conformance/dkim:
// - rfc8463/: the RFC 8463 Appendix A message, Ed25519 + RSA signatures: both
//   pass; and our signer (src/message/dkim-sign.ts) reproduces its bh=.
// - stalwart/: 6 messages with frozen keys; the last signature passes (clock
//   pinned to 1667843664 so x= does not bite); in 001 both pass.
// - dkimpy/vectors.json: 2 verification vectors, and 6 sign-then-verify
//   vectors (signed here, verified by us), including tampered bodies and bad
//   key records that must not pass.
// Prints `dkim conformance: N/M pass` and asserts the floor.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { createRequire } from 'node:module';
import { readFileSync, readdirSync } from 'node:fs';
import { SenderAuth } from '../../src/policy/sender-auth.ts';
import { bodyHashRelaxed, dkimSign as ourSign, splitMessage } from '../../src/message/dkim-sign.ts';
import { at, crlf, has, parseStalwart, txtResolver } from './auth-fixtures.ts';

const require = createRequire(import.meta.url);
// mailauth's signer, only for the canonicalizations other than relaxed/relaxed (ours signs relaxed/relaxed only).
const { dkimSign: libSign } = require('mailauth/lib/dkim/sign') as { dkimSign: (m: Buffer, o: Record<string, unknown>) => Promise<{ signatures: string }> };

interface Outcome {
  name: string;
  ok: boolean;
  detail: string;
}

const verifier = (dns: Record<string, (string | string[])[]>, now = new Date()) => new SenderAuth({ resolver: txtResolver(dns), authservId: 'mx.test', now: () => now });

/** A base64 32-byte Ed25519 seed as a private KeyObject (PKCS#8 DER prefix from RFC 8410). */
function ed25519Seed(b64: string): KeyObject {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(b64.trim(), 'base64')]);
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}

async function rfc8463(): Promise<Outcome[]> {
  const dir = 'dkim/rfc8463';
  const dnsJson = JSON.parse(readFileSync(at(`${dir}/dns.json`), 'utf8')) as Record<string, { TXT: string[][] }>;
  const dns = Object.fromEntries(Object.entries(dnsJson).map(([k, v]) => [k, v.TXT]));
  const msg = crlf(readFileSync(at(`${dir}/signed.eml`)));
  const r = await verifier(dns).verifyDkim(msg);
  const out: Outcome[] = [];
  for (const alg of ['ed25519-sha256', 'rsa-sha256']) {
    const sig = r.dkim.find((d) => d.algorithm === alg);
    out.push({ name: `rfc8463 ${alg} verifies`, ok: sig?.result === 'pass', detail: JSON.stringify(sig) });
  }
  // Re-signing the body: the body hash must be the published bh= (relaxed body canonicalization).
  const { body } = splitMessage([msg]);
  const bh = await bodyHashRelaxed(body);
  out.push({ name: 'rfc8463 re-sign reproduces bh=', ok: bh === '2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=', detail: bh });
  return out;
}

async function stalwart(): Promise<Outcome[]> {
  const dir = 'dkim/stalwart';
  const out: Outcome[] = [];
  for (const f of readdirSync(at(dir)).filter((n) => /^\d+\.txt$/.test(n)).sort()) {
    const { dns, message } = parseStalwart(readFileSync(at(`${dir}/${f}`), 'latin1'));
    const r = await verifier(dns, new Date(1667843664 * 1000)).verifyDkim(message);
    const last = r.dkim.at(-1);
    out.push({ name: `stalwart ${f}: last signature passes`, ok: last?.result === 'pass', detail: JSON.stringify(r.dkim) });
    if (f === '001.txt') out.push({ name: 'stalwart 001.txt: both signatures pass', ok: r.dkim.length === 2 && r.dkim.every((d) => d.result === 'pass'), detail: JSON.stringify(r.dkim) });
  }
  return out;
}

interface Vector {
  name: string;
  message: string;
  dns: Record<string, string>;
  private_key?: string;
  private_key_format?: string;
  d?: string;
  s?: string;
  canonicalizations?: string[];
  expect: string;
}

async function dkimpy(): Promise<Outcome[]> {
  const dir = 'dkim/dkimpy';
  const v = JSON.parse(readFileSync(at(`${dir}/vectors.json`), 'utf8')) as { verify: Vector[]; sign_then_verify: Vector[] };
  const dnsOf = (x: Vector) => Object.fromEntries(Object.entries(x.dns).map(([k, val]) => [k, [val]]));
  const out: Outcome[] = [];
  for (const x of v.verify) {
    const r = await verifier(dnsOf(x)).verifyDkim(crlf(readFileSync(at(`${dir}/${x.message}`))));
    out.push({ name: `dkimpy verify ${x.name}`, ok: r.dkim.length > 0 && r.dkim.every((d) => d.result === 'pass'), detail: JSON.stringify(r.dkim) });
  }
  for (const x of v.sign_then_verify) {
    const msg = crlf(readFileSync(at(`${dir}/${x.message}`)));
    const raw = readFileSync(at(`${dir}/${x.private_key}`), 'utf8');
    const ed = (x.private_key_format ?? '').includes('Ed25519');
    const key = ed ? ed25519Seed(raw) : createPrivateKey(raw);
    const algorithm = ed ? 'ed25519-sha256' : 'rsa-sha256';
    const wantPass = /^pass/.test(x.expect);
    for (const c of x.canonicalizations ?? ['relaxed/relaxed']) {
      let header: string;
      if (c === 'relaxed/relaxed') {
        const s = await ourSign([msg], [{ domain: x.d!, selector: x.s!, algorithm, privateKey: key }], { now: new Date() });
        assert.ok(s.ok, `our signer refused ${x.name}`);
        header = s.header;
      } else {
        const s = await libSign(msg, { canonicalization: c, algorithm, signatureData: [{ signingDomain: x.d, selector: x.s, privateKey: key.export({ format: 'pem', type: 'pkcs8' }) }] });
        header = s.signatures.replace(/\r?\n/g, '\r\n');
      }
      const signed = Buffer.concat([Buffer.from(header, 'latin1'), msg]);
      const r = await verifier(dnsOf(x)).verifyDkim(signed);
      const passed = r.dkim.length === 1 && r.dkim[0].result === 'pass';
      out.push({ name: `dkimpy sign+verify ${x.name} ${c}`, ok: passed === wantPass, detail: JSON.stringify(r.dkim) });
      if (wantPass) {
        // Appending to the body after signing must break the signature.
        const tampered = Buffer.concat([signed, Buffer.from('foo\r\n')]);
        const t = await verifier(dnsOf(x)).verifyDkim(tampered);
        out.push({ name: `dkimpy ${x.name} ${c}: altered body does not pass`, ok: t.dkim.every((d) => d.result !== 'pass'), detail: JSON.stringify(t.dkim) });
      }
    }
  }
  // other_files: key records that must not be usable, and a message our signer must refuse.
  const msg = crlf(readFileSync(at(`${dir}/test.message`)));
  const key = createPrivateKey(readFileSync(at(`${dir}/test.private`), 'utf8'));
  const s = await ourSign([msg], [{ domain: 'example.com', selector: 'test', algorithm: 'rsa-sha256', privateKey: key }], { now: new Date() });
  assert.ok(s.ok);
  const signed = Buffer.concat([Buffer.from(s.header, 'latin1'), msg]);
  for (const [file, what] of [['test.txt', 'the good key record: pass'], ['test_bad.txt', 'a corrupted public key: no pass'], ['test_tlsrpt.txt', 's=tlsrpt key: no pass for email']] as const) {
    const rec = readFileSync(at(`${dir}/${file}`), 'utf8').trim();
    const r = await verifier({ 'test._domainkey.example.com': [rec] }).verifyDkim(signed);
    const passed = r.dkim.length === 1 && r.dkim[0].result === 'pass';
    out.push({ name: `dkimpy ${file}: ${what}`, ok: passed === (file === 'test.txt'), detail: JSON.stringify(r.dkim) });
  }
  const nofrom = await ourSign([crlf(readFileSync(at(`${dir}/test_nofrom.message`)))], [{ domain: 'example.com', selector: 'test', algorithm: 'rsa-sha256', privateKey: key }], { now: new Date() });
  out.push({ name: 'dkimpy test_nofrom.message: signing refuses a message without From', ok: !nofrom.ok, detail: JSON.stringify(nofrom) });
  return out;
}

test('DKIM conformance (RFC 8463 vectors, Stalwart vectors, dkimpy vectors)', { skip: !has('dkim') && 'conformance data not present' }, async () => {
  const all = [...(await rfc8463()), ...(await stalwart()), ...(await dkimpy())];
  const pass = all.filter((o) => o.ok).length;
  console.log(`dkim conformance: ${pass}/${all.length} pass`);
  for (const o of all.filter((x) => !x.ok)) console.log(`  FAILED ${o.name}: ${o.detail}`);
  assert.equal(all.length, 32, 'every vector ran');
  assert.equal(pass, all.length, 'floor: every DKIM vector');
});
