// The outbound signer: which messages it signs (From domain = the sender's
// domain, active keys only, both algorithms), the key cache, and that it
// never throws; fromDomain on the From field's forms. Keys come from a fake
// store; mailauth verifies the result.

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { dkimVerify } from 'mailauth/lib/dkim/verify.js';
import { createLogger } from '../log/logger.ts';
import type { DkimKey } from '../store/dkim-keys.ts';
import { DkimSigner, fromDomain } from './dkim-sign.ts';
import { dkimRecord, dkimRecordName, generateDkimKey } from './dkim-keys.ts';

const log = createLogger({ level: 'error', write: () => {} });
const T0 = new Date('2026-01-01T00:00:00Z');

async function key(selector: string, algorithm: DkimKey['algorithm'], times: Partial<DkimKey> = {}): Promise<DkimKey> {
  const m = await generateDkimKey(algorithm);
  return { domain: 'example.com', selector, algorithm, privateKey: m.privateKey, publicKey: m.publicKey, createdAt: T0, activateAt: T0, deactivateAt: null, retireAt: null, ...times };
}

function fakeStore(keys: DkimKey[]) {
  const s = { reads: 0, keys, listDkimKeys: async (d?: string) => (s.reads++, s.keys.filter((k) => !d || k.domain === d)) };
  return s;
}

const MSG = 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: hi\r\n\r\nHello\r\n';
const input = (over: Record<string, unknown> = {}) => ({
  queueId: 'Q1',
  traceHeader: 'Received: from x by y; Thu, 1 Jan 2026 00:00:00 +0000\r\n',
  content: [Buffer.from(MSG)],
  envelopeDomain: 'example.com',
  user: 'alice@example.com',
  ...over,
});

async function verifyWith(keys: DkimKey[], message: string): Promise<{ result: string; selector: string }[]> {
  const resolver = async (name: string) => {
    const k = keys.find((x) => dkimRecordName(x.selector, x.domain) === name);
    if (!k) throw Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
    return [[dkimRecord(k.algorithm, k.publicKey)]];
  };
  const r = await dkimVerify(Buffer.from(message), { resolver, curTime: T0 });
  return r.results.map((x) => ({ result: x.status.result, selector: x.selector ?? "" }));
}

describe('DkimSigner', async () => {
  const rsa = await key('r1', 'rsa-sha256');
  const ed = await key('e1', 'ed25519-sha256');

  it('dual-signs with the active RSA and Ed25519 keys, over the trace header too', async () => {
    const signer = new DkimSigner({ store: fakeStore([rsa, ed]), now: () => T0, log });
    const i = input();
    const h = await signer.sign(i);
    const results = await verifyWith([rsa, ed], h + i.traceHeader + MSG);
    assert.deepEqual(results.map((r) => `${r.selector}:${r.result}`).sort(), ['e1:pass', 'r1:pass']);
  });

  it('uses only keys active now: pending, retiring and retired keys do not sign', async () => {
    const later = new Date(T0.getTime() + 1000);
    const pending = { ...rsa, selector: 'p', activateAt: later };
    const retiring = { ...ed, selector: 'old', deactivateAt: T0, retireAt: later };
    const retired = { ...ed, selector: 'gone', deactivateAt: T0, retireAt: T0 };
    const signer = new DkimSigner({ store: fakeStore([pending, retiring, retired, rsa]), now: () => T0, log });
    const h = await signer.sign(input());
    assert.equal((h.match(/^DKIM-Signature:/gm) ?? []).length, 1);
    assert.match(h, /s=r1;/);
  });

  it('does not sign for another domain, without keys, or without a From', async () => {
    const signer = new DkimSigner({ store: fakeStore([rsa]), now: () => T0, log });
    // A user of another domain writing From: …@example.com gets no signature for it.
    assert.equal(await signer.sign(input({ envelopeDomain: 'other.example', user: 'eve@other.example' })), '');
    // The envelope domain alone is enough (a sender grant for example.com).
    assert.notEqual(await signer.sign(input({ user: 'eve@other.example' })), '');
    assert.equal(await signer.sign(input({ content: [Buffer.from('From: a@nokeys.example\r\n\r\nx\r\n')], envelopeDomain: 'nokeys.example' })), '');
    assert.equal(await signer.sign(input({ content: [Buffer.from('Subject: x\r\n\r\nx\r\n')] })), '');
  });

  it('reads the keys again once the cache time has passed', async () => {
    const store = fakeStore([rsa]);
    const signer = new DkimSigner({ store, now: () => T0, log, cacheMs: 60_000 });
    await signer.sign(input());
    await signer.sign(input());
    assert.equal(store.reads, 1);
    signer.invalidate();
    store.keys = [];
    assert.equal(await signer.sign(input()), '');
    assert.equal(store.reads, 2);
  });

  it('a failing store or a broken key never throws: the message goes unsigned', async () => {
    const broken = new DkimSigner({ store: { listDkimKeys: () => Promise.reject(new Error('db down')) }, now: () => T0, log });
    assert.equal(await broken.sign(input()), '');
    const badKey = new DkimSigner({ store: fakeStore([{ ...rsa, privateKey: 'garbage' }]), now: () => T0, log });
    assert.equal(await badKey.sign(input()), '');
  });
});

describe('fromDomain', () => {
  const d = (from: string) => fromDomain([Buffer.from(`Subject: x\r\nFrom: ${from}\r\n\r\nbody\r\n`)]);
  it('reads the From address forms', () => {
    assert.equal(d('alice@Example.COM'), 'example.com');
    assert.equal(d('"Smith, Alice" <alice@example.com>'), 'example.com');
    assert.equal(d('Alice (at work, example.net) <alice@example.com>'), 'example.com');
    assert.equal(d('Alice\r\n <alice@bücher.example>'), 'xn--bcher-kva.example');
    assert.equal(d('a@example.com, b@example.net'), null);
    assert.equal(d('undisclosed'), null);
    assert.equal(fromDomain([Buffer.from('From: a@x.example\r\nFrom: b@x.example\r\n\r\n')]), null);
  });
  it('never throws on arbitrary bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => void fromDomain([Buffer.from('From: '), Buffer.from(b)])));
  });
});
