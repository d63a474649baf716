// DnsResolver against the test DNS server on loopback: answers, TTLs, error
// kinds, the cache (positive, negative, LRU, expiry by the injected clock).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer } from '../../test/helpers/dns-server.ts';
import type { DnsRecord, DnsServer } from '../../test/helpers/dns-server.ts';
import { DnsError, DnsResolver, normalizeName, reverseName } from './resolver.ts';

const RECORDS: DnsRecord[] = [
  { name: 'a.test', type: 'MX', data: { preference: 10, exchange: 'mx1.a.test' } },
  { name: 'a.test', type: 'MX', data: { preference: 20, exchange: 'mx2.a.test' } },
  { name: 'mx1.a.test', type: 'A', data: '127.0.0.2', ttl: 42 },
  { name: 'mx1.a.test', type: 'A', data: '127.0.0.3', ttl: 30 },
  { name: 'mx1.a.test', type: 'AAAA', data: '::1', ttl: 7200 },
  { name: 'null.test', type: 'MX', data: { preference: 0, exchange: '.' } },
  { name: 'txt.test', type: 'TXT', data: ['v=spf1 ', 'a -all'] },
  { name: 'txt.test', type: 'TXT', data: 'second' },
  { name: 'big.test', type: 'TXT', data: Array.from({ length: 20 }, (_, i) => String.fromCharCode(97 + i).repeat(200)) },
  { name: 'alias.test', type: 'CNAME', data: 'mx1.a.test' },
  { name: 'zero.test', type: 'A', data: '127.0.0.9', ttl: 0 },
  { name: 'sf.test', type: '*', fault: 'servfail' },
  { name: 'rf.test', type: 'MX', fault: 'refused' },
  { name: 'to.test', type: '*', fault: 'timeout' },
  { name: reverseName('127.0.0.2')!, type: 'PTR', data: 'mx1.a.test' },
  { name: reverseName('2001:db8::1')!, type: 'PTR', data: 'v6.a.test' },
];

let dns: DnsServer;
before(async () => {
  dns = await startDnsServer(RECORDS);
});
after(() => dns.close());

function resolver(extra: ConstructorParameters<typeof DnsResolver>[0] = {}): DnsResolver {
  return new DnsResolver({ servers: [dns.address], timeoutMs: 400, ...extra });
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    assert.ok(e instanceof DnsError, String(e));
    return e.kind;
  }
}

function count(name: string, type: string): number {
  return dns.queries.filter((q) => q.name === name && q.type === type).length;
}

test('MX, A (with record TTLs, the smallest wins), AAAA, TXT (chunks joined), PTR', async () => {
  const r = resolver();
  assert.deepEqual((await r.mx('a.test')).records, [
    { exchange: 'mx1.a.test', preference: 10 },
    { exchange: 'mx2.a.test', preference: 20 },
  ]);
  const a = await r.a('mx1.a.test');
  assert.deepEqual(a.records.sort(), ['127.0.0.2', '127.0.0.3']);
  assert.equal(a.ttl, 30);
  const aaaa = await r.aaaa('mx1.a.test');
  assert.deepEqual(aaaa.records, ['::1']);
  assert.equal(aaaa.ttl, 3600, 'capped at maxTtl');
  assert.deepEqual((await r.txt('txt.test')).records.sort(), ['second', 'v=spf1 a -all']);
  assert.deepEqual((await r.ptr('127.0.0.2')).records, ['mx1.a.test']);
  assert.deepEqual((await r.ptr('2001:db8::1')).records, ['v6.a.test']);
});

test('names are case-insensitive, a trailing dot is ignored, CNAMEs are followed', async () => {
  const r = resolver();
  assert.deepEqual((await r.mx('A.TEST.')).records.length, 2);
  assert.deepEqual((await r.a('alias.test')).records.sort(), ['127.0.0.2', '127.0.0.3']);
});

test('null MX comes back as exchange ""', async () => {
  assert.deepEqual((await resolver().mx('null.test')).records, [{ exchange: '', preference: 0 }]);
});

test('a large answer is fetched over TCP after a truncated UDP reply', async () => {
  const before = dns.queries.filter((q) => q.transport === 'tcp').length;
  const txt = await resolver().txt('big.test');
  assert.equal(txt.records.length, 1);
  assert.equal(txt.records[0].length, 4000);
  assert.ok(dns.queries.filter((q) => q.transport === 'tcp').length > before);
});

test('errors are classified', async () => {
  const r = resolver();
  assert.equal(await kindOf(r.mx('nowhere.test')), 'nxdomain');
  assert.equal(await kindOf(r.mx('mx1.a.test')), 'nodata');
  assert.equal(await kindOf(r.aaaa('mx2.a.test')), 'nxdomain');
  assert.equal(await kindOf(r.mx('sf.test')), 'servfail');
  assert.equal(await kindOf(r.mx('rf.test')), 'refused');
  assert.equal(await kindOf(r.a('rf.test')), 'nodata', 'the refused marker is for MX only');
  assert.equal(await kindOf(r.mx('bad..name')), 'nxdomain');
  assert.equal(await kindOf(r.ptr('not-an-ip')), 'other');
  const e = await r.mx('nowhere.test').catch((x: unknown) => x);
  assert.ok(e instanceof DnsError);
  assert.equal(e.rrtype, 'MX');
  assert.equal(e.domain, 'nowhere.test');
  assert.match(e.message, /no such domain/);
});

test('a server that never answers gives a timeout within the deadline', async () => {
  const t0 = Date.now();
  assert.equal(await kindOf(resolver({ timeoutMs: 300 }).mx('to.test')), 'timeout');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
});

test('a closed DNS port is an error of kind other (never a hang)', async () => {
  const r = new DnsResolver({ servers: ['127.0.0.1:1'], timeoutMs: 300 });
  assert.ok(['other', 'timeout', 'refused'].includes(await kindOf(r.mx('a.test'))));
});

test('positive answers are cached until their TTL runs out on the injected clock', async () => {
  let now = 1_000_000;
  const r = resolver({ now: () => now });
  const n0 = count('mx1.a.test', 'A');
  await r.a('mx1.a.test');
  const again = await r.a('MX1.a.test');
  assert.equal(count('mx1.a.test', 'A'), n0 + 1, 'second lookup served from cache');
  assert.equal(again.ttl, 30);
  now += 20_000;
  assert.equal((await r.a('mx1.a.test')).ttl, 10, 'remaining TTL');
  assert.equal(count('mx1.a.test', 'A'), n0 + 1);
  now += 10_001;
  await r.a('mx1.a.test');
  assert.equal(count('mx1.a.test', 'A'), n0 + 2, 'expired → asked again');
});

test('MX and TXT get the default TTL; TTL 0 is not cached', async () => {
  let now = 0;
  const r = resolver({ now: () => now, defaultTtl: 100 });
  const n0 = count('a.test', 'MX');
  assert.equal((await r.mx('a.test')).ttl, 100);
  now += 99_000;
  await r.mx('a.test');
  assert.equal(count('a.test', 'MX'), n0 + 1);
  now += 2000;
  await r.mx('a.test');
  assert.equal(count('a.test', 'MX'), n0 + 2);
  const z0 = count('zero.test', 'A');
  await r.a('zero.test');
  await r.a('zero.test');
  assert.equal(count('zero.test', 'A'), z0 + 2);
});

test('NXDOMAIN and NODATA are cached for negativeTtl; failures are not cached', async () => {
  let now = 0;
  const r = resolver({ now: () => now, negativeTtl: 60 });
  const n0 = count('gone.test', 'MX');
  assert.equal(await kindOf(r.mx('gone.test')), 'nxdomain');
  assert.equal(await kindOf(r.mx('gone.test')), 'nxdomain');
  assert.equal(count('gone.test', 'MX'), n0 + 1);
  now += 61_000;
  assert.equal(await kindOf(r.mx('gone.test')), 'nxdomain');
  assert.equal(count('gone.test', 'MX'), n0 + 2);
  const s0 = count('sf.test', 'A');
  await kindOf(r.a('sf.test'));
  await kindOf(r.a('sf.test'));
  assert.ok(count('sf.test', 'A') >= s0 + 2);
});

test('the cache is an LRU bounded by cacheSize', async () => {
  const r = resolver({ cacheSize: 2 });
  const c0 = count('mx1.a.test', 'A');
  await r.a('mx1.a.test'); // cache: A
  await r.mx('a.test'); // cache: A, MX
  await r.a('mx1.a.test'); // hit; order MX, A
  await r.txt('txt.test'); // evicts MX
  await r.a('mx1.a.test'); // still cached
  assert.equal(count('mx1.a.test', 'A'), c0 + 1);
  const m0 = count('a.test', 'MX');
  await r.mx('a.test');
  assert.equal(count('a.test', 'MX'), m0 + 1, 'MX was evicted');
});

test('concurrent identical lookups share one query', async () => {
  const r = resolver({ cacheSize: 0 });
  const n0 = count('txt.test', 'TXT');
  const [x, y] = await Promise.all([r.txt('txt.test'), r.txt('txt.test')]);
  assert.deepEqual(x.records.sort(), y.records.sort());
  assert.equal(count('txt.test', 'TXT'), n0 + 1);
});

test('cached answers are copies: a caller cannot change what the next one gets', async () => {
  const r = resolver();
  const first = await r.mx('a.test');
  first.records.length = 0;
  assert.equal((await r.mx('a.test')).records.length, 2);
});

test('normalizeName and reverseName', () => {
  assert.equal(normalizeName('Example.ORG.'), 'example.org');
  assert.equal(normalizeName('bücher.example'), 'xn--bcher-kva.example');
  assert.equal(normalizeName(''), null);
  assert.equal(normalizeName('a..b'), null);
  assert.equal(normalizeName('x'.repeat(64) + '.test'), null);
  assert.equal(reverseName('192.0.2.1'), '1.2.0.192.in-addr.arpa');
  assert.equal(reverseName('2001:db8::1'), '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
  assert.equal(reverseName('::ffff:192.0.2.1'), '1.0.2.0.0.0.0.c.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa');
  assert.equal(reverseName('nope'), null);
});
