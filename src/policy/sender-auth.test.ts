import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SenderAuth, ipFromReverse, resolverFor, type DnsLookup } from './sender-auth.ts';
import { DnsResolver } from '../dns/resolver.ts';
import { startDnsServer } from '../../test/helpers/dns-server.ts';

/** A resolver from a table: name → TXT strings; 'TIMEOUT' never answers in time. */
function fake(txt: Record<string, string[] | 'TIMEOUT'>, a: Record<string, string[]> = {}): DnsLookup & { asked: string[] } {
  const asked: string[] = [];
  const fn = async (name: string, type: string) => {
    asked.push(`${type} ${name}`);
    const n = name.toLowerCase();
    const t = txt[n];
    if (t === 'TIMEOUT') throw Object.assign(new Error('timeout'), { code: 'ETIMEOUT' });
    if (type === 'TXT' && t) return t.map((s) => [s]);
    if ((type === 'A' || type === 'AAAA') && a[n]) return type === 'A' ? a[n] : [];
    throw Object.assign(new Error('nx'), { code: t || a[n] ? 'ENODATA' : 'ENOTFOUND' });
  };
  return Object.assign(fn, { asked });
}

const msg = (from: string) => Buffer.from(`From: <${from}>\r\nTo: <x@example.org>\r\nSubject: t\r\n\r\nbody\r\n`);

test('SPF pass and fail for MAIL FROM, recorded with our authserv-id', async () => {
  const auth = new SenderAuth({ resolver: fake({ 'a.example': ['v=spf1 ip4:192.0.2.0/24 -all'] }), authservId: 'mx.example.org' });
  const ok = await auth.check({ message: msg('u@a.example'), clientIp: '192.0.2.7', helo: 'h.a.example', mailFrom: 'u@a.example' });
  assert.equal(ok.spf.result, 'pass');
  assert.equal(ok.spf.identity, 'mailfrom');
  assert.ok(ok.methods.some((m) => m.startsWith('spf=pass')));
  const bad = await auth.check({ message: msg('u@a.example'), clientIp: '198.51.100.1', helo: 'h', mailFrom: 'u@a.example' });
  assert.equal(bad.spf.result, 'fail');
  assert.match(bad.summary, /^spf=fail dkim=none dmarc=none arc=none$/);
});

test('with MAIL FROM <> the HELO identity is checked (RFC 7208 §2.4)', async () => {
  const r = fake({ 'mta.b.example': ['v=spf1 ip4:192.0.2.9 -all'] });
  const auth = new SenderAuth({ resolver: r, authservId: 'mx.example.org' });
  const res = await auth.check({ message: msg('u@b.example'), clientIp: '192.0.2.9', helo: 'mta.b.example', mailFrom: null });
  assert.equal(res.spf.result, 'pass');
  assert.equal(res.spf.identity, 'helo');
  assert.ok(r.asked.includes('TXT mta.b.example'));
});

test('RFC 7208 §4.6.4: more than 10 DNS-querying terms is permerror; more than 2 void lookups is permerror', async () => {
  const txt: Record<string, string[]> = { 'many.example': ['v=spf1 ' + Array.from({ length: 11 }, (_, i) => `include:i${i}.many.example`).join(' ') + ' -all'] };
  for (let i = 0; i < 11; i++) txt[`i${i}.many.example`] = ['v=spf1 ?all'.replace('?all', '-ip4:203.0.113.1')];
  const auth = new SenderAuth({ resolver: fake(txt), authservId: 'mx' });
  assert.equal((await auth.check({ message: msg('u@many.example'), clientIp: '192.0.2.1', helo: 'h', mailFrom: 'u@many.example' })).spf.result, 'permerror');
  const voids = fake({ 'void.example': ['v=spf1 a:n1.void.example a:n2.void.example a:n3.void.example -all'] });
  const v = await new SenderAuth({ resolver: voids, authservId: 'mx', strict: true }).check({ message: msg('u@void.example'), clientIp: '192.0.2.1', helo: 'h', mailFrom: 'u@void.example' });
  assert.equal(v.spf.result, 'permerror');
});

test('a DNS timeout is temperror; the overall deadline makes everything temperror', async () => {
  const auth = new SenderAuth({ resolver: fake({ 't.example': 'TIMEOUT' }), authservId: 'mx' });
  const r = await auth.check({ message: msg('u@t.example'), clientIp: '192.0.2.1', helo: 'h', mailFrom: 'u@t.example' });
  assert.equal(r.spf.result, 'temperror');
  const hang: DnsLookup = () => new Promise(() => {});
  const slow = await new SenderAuth({ resolver: hang, authservId: 'mx', timeoutMs: 50 }).check({ message: msg('u@t.example'), clientIp: '192.0.2.1', helo: 'h', mailFrom: 'u@t.example' });
  assert.equal(slow.timedOut, true);
  assert.equal(slow.dmarc.result, 'temperror');
});

test('resolverFor: answers and errors through DnsResolver, in the shapes mailauth expects', async () => {
  const dns = await startDnsServer([
    { name: 'r.example', type: 'TXT', data: ['v=spf1 ', 'ip4:192.0.2.1 -all'] },
    { name: 'r.example', type: 'MX', data: { preference: 10, exchange: 'mx.r.example' } },
    { name: 'r.example', type: 'A', data: '192.0.2.1' },
    { name: 'slow.example', type: '*', fault: 'timeout' },
  ]);
  try {
    const lookup = resolverFor(new DnsResolver({ servers: [dns.address], timeoutMs: 300 }));
    assert.deepEqual(await lookup('r.example', 'TXT'), [['v=spf1 ip4:192.0.2.1 -all']]);
    assert.deepEqual(await lookup('r.example', 'MX'), [{ exchange: 'mx.r.example', priority: 10 }]);
    assert.deepEqual(await lookup('r.example', 'A'), ['192.0.2.1']);
    await assert.rejects(lookup('none.example', 'TXT'), { code: 'ENOTFOUND' });
    await assert.rejects(lookup('r.example', 'AAAA'), { code: 'ENODATA' });
    await assert.rejects(lookup('slow.example', 'TXT'), { code: 'ETIMEOUT' });
  } finally {
    await dns.close();
  }
});

test('ipFromReverse', () => {
  assert.equal(ipFromReverse('1.2.0.192.in-addr.arpa'), '192.0.2.1');
  assert.equal(ipFromReverse('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.'), '2001:0db8:0000:0000:0000:0000:0000:0001');
  assert.equal(ipFromReverse('example.org'), null);
});

test('min_rsa_bits: a 1024-bit RSA signature passes at 1024 and is dkim=policy at 2048 (RFC 8301 §3.2)', async () => {
  const { generateKeyPairSync } = await import('node:crypto');
  const { createRequire } = await import('node:module');
  const { dkimSign } = createRequire(import.meta.url)('mailauth/lib/dkim/sign') as { dkimSign: (m: Buffer, o: Record<string, unknown>) => Promise<{ signatures: string }> };
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const p = (publicKey.export({ format: 'der', type: 'spki' }) as Buffer).toString('base64');
  const m = msg('u@k.example');
  const { signatures } = await dkimSign(m, { signatureData: [{ signingDomain: 'k.example', selector: 's', privateKey: privateKey.export({ format: 'pem', type: 'pkcs8' }) }] });
  const signed = Buffer.concat([Buffer.from(signatures.replace(/\r?\n/g, '\r\n')), m]);
  const dns = fake({ 's._domainkey.k.example': [`v=DKIM1; k=rsa; p=${p}`] });
  assert.equal((await new SenderAuth({ resolver: dns, authservId: 'mx', minRsaBits: 1024 }).verifyDkim(signed)).dkim[0].result, 'pass');
  assert.equal((await new SenderAuth({ resolver: dns, authservId: 'mx', minRsaBits: 2048 }).verifyDkim(signed)).dkim[0].result, 'policy');
});

test('property: arbitrary (often malformed) messages and senders never make check() throw', async () => {
  const fc = (await import('fast-check')).default;
  const auth = new SenderAuth({ resolver: fake({}), authservId: 'mx' });
  const piece = fc.oneof(
    fc.constantFrom(
      'From: a@b\r\n',
      'From: <@x:y@z>, "q@r"@s\r\n',
      'DKIM-Signature: v=1; a=rsa-sha256; d=x; s=y; h=from; bh=; b=\r\n',
      'DKIM-Signature: ;;;==\r\n',
      'ARC-Seal: i=1; cv=none; a=rsa-sha256; d=x; s=y; b=\r\n',
      'ARC-Message-Signature: i=1; a=rsa-sha256; d=x; s=y; h=from; bh=; b=\r\n',
      'ARC-Authentication-Results: i=1; x\r\n',
      'ARC-Seal: i=99999999999\r\n',
      '\r\n',
      ' folded\r\n',
    ),
    fc.string({ maxLength: 20 }),
  );
  await fc.assert(
    fc.asyncProperty(fc.array(piece, { maxLength: 12 }), fc.option(fc.string({ maxLength: 10 })), async (parts, from) => {
      const r = await auth.check({ message: Buffer.from(parts.join(''), 'latin1'), clientIp: '192.0.2.1', helo: 'x', mailFrom: from });
      assert.ok(r.methods.length > 0);
    }),
    { numRuns: 150 },
  );
});
