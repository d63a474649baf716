// resolveMailHosts with a fake resolver (a table of answers and errors), and
// once end to end against the test DNS server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { resolveMailHosts, sortByPreference } from './mx.ts';
import type { MailHostResolver } from './mx.ts';
import { DnsError, DnsResolver } from './resolver.ts';
import type { DnsAnswer, DnsErrorKind, DnsType, MxRecord } from './resolver.ts';
import { startDnsServer } from '../../test/helpers/dns-server.ts';

type Table = Record<string, MxRecord[] | string[] | DnsErrorKind>;

/** Keys are "MX name", "A name", "AAAA name"; absent → nxdomain. */
function fake(table: Table): MailHostResolver & { asked: string[] } {
  const asked: string[] = [];
  function get<T>(type: DnsType, name: string): Promise<DnsAnswer<T>> {
    const key = `${type} ${name}`;
    asked.push(key);
    const v = table[key] ?? (Object.keys(table).some((k) => k.endsWith(' ' + name)) ? 'nodata' : 'nxdomain');
    if (typeof v === 'string') return Promise.reject(new DnsError(v, type, name));
    return Promise.resolve({ records: v as T[], ttl: 300 });
  }
  return { asked, mx: (d) => get('MX', d), a: (d) => get('A', d), aaaa: (d) => get('AAAA', d) };
}

const mx = (exchange: string, preference: number): MxRecord => ({ exchange, preference });
const first = () => 0; // random() = 0 → Fisher–Yates keeps a fixed permutation

test('MX hosts sorted by preference, each with IPv6 then IPv4 addresses', async () => {
  const r = fake({
    'MX b.test': [mx('mx2.b.test', 20), mx('mx1.b.test', 10)],
    'A mx1.b.test': ['192.0.2.1'],
    'AAAA mx1.b.test': ['2001:db8::1'],
    'A mx2.b.test': ['192.0.2.2'],
    'AAAA mx2.b.test': 'nodata',
  });
  assert.deepEqual(await resolveMailHosts(r, 'b.test'), {
    kind: 'hosts',
    implicit: false,
    skipped: [],
    hosts: [
      { name: 'mx1.b.test', preference: 10, addresses: ['2001:db8::1', '192.0.2.1'] },
      { name: 'mx2.b.test', preference: 20, addresses: ['192.0.2.2'] },
    ],
  });
});

test('address order is configurable; a single-family order asks only that family', async () => {
  const t: Table = { 'MX b.test': [mx('m.b.test', 5)], 'A m.b.test': ['192.0.2.1'], 'AAAA m.b.test': ['2001:db8::1'] };
  const route = await resolveMailHosts(fake(t), 'b.test', { addressOrder: 'ipv4-first' });
  assert.equal(route.kind, 'hosts');
  assert.deepEqual(route.kind === 'hosts' && route.hosts[0].addresses, ['192.0.2.1', '2001:db8::1']);
  const only4 = fake(t);
  const r4 = await resolveMailHosts(only4, 'b.test', { addressOrder: 'ipv4-only' });
  assert.deepEqual(r4.kind === 'hosts' && r4.hosts[0].addresses, ['192.0.2.1']);
  assert.ok(!only4.asked.includes('AAAA m.b.test'));
  const r6 = await resolveMailHosts(fake(t), 'b.test', { addressOrder: 'ipv6-only' });
  assert.deepEqual(r6.kind === 'hosts' && r6.hosts[0].addresses, ['2001:db8::1']);
});

test('equal preferences are shuffled with the injected random', async () => {
  const t: Table = {
    'MX b.test': [mx('x.b.test', 10), mx('y.b.test', 10), mx('z.b.test', 10), mx('last.b.test', 20)],
    'A x.b.test': ['192.0.2.1'],
    'A y.b.test': ['192.0.2.2'],
    'A z.b.test': ['192.0.2.3'],
    'A last.b.test': ['192.0.2.4'],
  };
  const orders = new Set<string>();
  let seed = 1;
  const lcg = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 60; i++) {
    const route = await resolveMailHosts(fake(t), 'b.test', { random: lcg });
    assert.equal(route.kind, 'hosts');
    if (route.kind !== 'hosts') return;
    assert.equal(route.hosts[3].name, 'last.b.test', 'a worse preference never moves up');
    orders.add(route.hosts.map((h) => h.name).join(','));
  }
  assert.equal(orders.size, 6, 'all 3! orders of the equal-preference hosts occur');
});

test('sortByPreference: a permutation, sorted by preference (property)', () => {
  fc.assert(
    fc.property(fc.array(fc.record({ exchange: fc.string(), preference: fc.integer({ min: 0, max: 5 }) })), fc.double({ min: 0, max: 0.999, noNaN: true }), (list, x) => {
      const out = sortByPreference(list, () => x);
      assert.equal(out.length, list.length);
      for (let i = 1; i < out.length; i++) assert.ok(out[i - 1].preference <= out[i].preference);
      assert.deepEqual(
        out.map((m) => JSON.stringify(m)).sort(),
        list.map((m) => JSON.stringify(m)).sort(),
      );
    }),
  );
});

test('implicit MX: no MX records → the domain itself, preference 0', async () => {
  const r = fake({ 'MX c.test': 'nodata', 'A c.test': ['192.0.2.9'], 'AAAA c.test': 'nodata' });
  assert.deepEqual(await resolveMailHosts(r, 'C.test.'), {
    kind: 'hosts',
    implicit: true,
    skipped: [],
    hosts: [{ name: 'c.test', preference: 0, addresses: ['192.0.2.9'] }],
  });
});

test('implicit MX without any address is permanent; with a failed lookup temporary', async () => {
  const none = await resolveMailHosts(fake({ 'MX c.test': 'nodata', 'A c.test': 'nodata', 'AAAA c.test': 'nodata' }), 'c.test');
  assert.equal(none.kind, 'no_hosts');
  const failed = await resolveMailHosts(fake({ 'MX c.test': 'nodata', 'A c.test': 'timeout', 'AAAA c.test': 'nodata' }), 'c.test');
  assert.equal(failed.kind, 'temporary');
  assert.match(failed.kind === 'temporary' ? failed.reason : '', /A lookup for c\.test failed: timeout/);
});

test('null MX (RFC 7505) → null_mx', async () => {
  assert.deepEqual(await resolveMailHosts(fake({ 'MX n.test': [mx('', 0)] }), 'n.test'), { kind: 'null_mx' });
  assert.deepEqual(await resolveMailHosts(fake({ 'MX n.test': [mx('.', 0)] }), 'n.test'), { kind: 'null_mx' });
});

test('"." next to real MX records is skipped, not taken as null MX', async () => {
  const route = await resolveMailHosts(fake({ 'MX n.test': [mx('', 0), mx('m.n.test', 10)], 'A m.n.test': ['192.0.2.1'] }), 'n.test');
  assert.equal(route.kind, 'hosts');
  assert.deepEqual(route.kind === 'hosts' && route.skipped, [{ name: '.', reason: 'null_host' }]);
});

test('NXDOMAIN → no_domain; MX timeout / SERVFAIL / REFUSED / other → temporary', async () => {
  assert.deepEqual(await resolveMailHosts(fake({}), 'gone.test'), { kind: 'no_domain' });
  for (const kind of ['timeout', 'servfail', 'refused', 'other'] as const) {
    const route = await resolveMailHosts(fake({ 'MX d.test': kind }), 'd.test');
    assert.equal(route.kind, 'temporary', kind);
  }
});

test('an MX host without addresses is skipped; all hosts without addresses → no_hosts', async () => {
  const r = fake({
    'MX e.test': [mx('dead.e.test', 10), mx('live.e.test', 20)],
    'A dead.e.test': 'nodata',
    'AAAA dead.e.test': 'nodata',
    'A live.e.test': ['192.0.2.5'],
  });
  const route = await resolveMailHosts(r, 'e.test');
  assert.equal(route.kind, 'hosts');
  if (route.kind !== 'hosts') return;
  assert.deepEqual(route.hosts.map((h) => h.name), ['live.e.test']);
  assert.deepEqual(route.skipped, [{ name: 'dead.e.test', reason: 'no_address' }]);
  const all = await resolveMailHosts(fake({ 'MX e.test': [mx('nowhere.test', 10)] }), 'e.test');
  assert.equal(all.kind, 'no_hosts');
});

test('MX hosts whose lookups failed: temporary when no host is usable, skipped otherwise', async () => {
  const t: Table = { 'MX f.test': [mx('a.f.test', 10), mx('b.f.test', 20)], 'A a.f.test': 'servfail', 'AAAA a.f.test': 'servfail', 'A b.f.test': 'nodata', 'AAAA b.f.test': 'nodata' };
  const route = await resolveMailHosts(fake(t), 'f.test');
  assert.equal(route.kind, 'temporary');
  const mixed = await resolveMailHosts(fake({ ...t, 'A b.f.test': ['192.0.2.7'] }), 'f.test');
  assert.equal(mixed.kind, 'hosts');
  assert.deepEqual(mixed.kind === 'hosts' && mixed.skipped, [{ name: 'a.f.test', reason: 'lookup_failed' }]);
});

test('one family failing still gives the other family\'s addresses', async () => {
  const route = await resolveMailHosts(fake({ 'MX g.test': [mx('m.g.test', 1)], 'A m.g.test': ['192.0.2.1'], 'AAAA m.g.test': 'timeout' }), 'g.test');
  assert.deepEqual(route.kind === 'hosts' && route.hosts[0].addresses, ['192.0.2.1']);
});

test('an MX pointing at an IP address is invalid (RFC 5321 §5.1) and skipped', async () => {
  const r = fake({ 'MX h.test': [mx('192.0.2.1', 10), mx('[192.0.2.2]', 10), mx('2001:db8::5', 10)] });
  const route = await resolveMailHosts(r, 'h.test');
  assert.equal(route.kind, 'no_hosts');
  assert.deepEqual(route.kind === 'no_hosts' && route.skipped.map((s) => s.reason), ['ip_literal', 'ip_literal', 'ip_literal']);
  assert.ok(!r.asked.some((q) => q.startsWith('A ')), 'no address lookup of an IP');
});

test('duplicate MX names count once, at their best preference; maxHosts bounds the lookups', async () => {
  const t: Table = { 'MX i.test': [mx('m.i.test', 30), mx('M.i.test.', 10), mx('n.i.test', 20), mx('o.i.test', 40)] };
  for (const h of ['m', 'n', 'o']) t[`A ${h}.i.test`] = ['192.0.2.1'];
  const route = await resolveMailHosts(fake(t), 'i.test', { maxHosts: 2, random: first });
  assert.equal(route.kind, 'hosts');
  if (route.kind !== 'hosts') return;
  assert.deepEqual(route.hosts.map((h) => [h.name, h.preference]), [['m.i.test', 10], ['n.i.test', 20]]);
  assert.deepEqual(route.skipped, [{ name: 'o.i.test', reason: 'over_limit' }]);
});

test('an address-literal domain routes to that address without DNS', async () => {
  const r = fake({});
  assert.deepEqual(await resolveMailHosts(r, '[192.0.2.1]'), { kind: 'hosts', implicit: true, skipped: [], hosts: [{ name: '[192.0.2.1]', preference: 0, addresses: ['192.0.2.1'] }] });
  const v6 = await resolveMailHosts(r, '[IPv6:2001:db8::1]');
  assert.deepEqual(v6.kind === 'hosts' && v6.hosts[0].addresses, ['2001:db8::1']);
  assert.deepEqual(r.asked, []);
});

test('end to end with DnsResolver and the test DNS server', async () => {
  const dns = await startDnsServer([
    { name: 'a.test', type: 'MX', data: { preference: 10, exchange: 'mx.a.test' } },
    { name: 'mx.a.test', type: 'A', data: '127.0.0.2' },
    { name: 'mx.a.test', type: 'AAAA', data: '::1' },
    { name: 'b.test', type: 'A', data: '127.0.0.3' },
    { name: 'null.test', type: 'MX', data: { preference: 0, exchange: '.' } },
    { name: 'slow.test', type: 'MX', fault: 'timeout' },
  ]);
  try {
    const r = new DnsResolver({ servers: [dns.address], timeoutMs: 300 });
    const a = await resolveMailHosts(r, 'a.test');
    assert.deepEqual(a.kind === 'hosts' && a.hosts, [{ name: 'mx.a.test', preference: 10, addresses: ['::1', '127.0.0.2'] }]);
    const b = await resolveMailHosts(r, 'b.test');
    assert.deepEqual(b.kind === 'hosts' && [b.implicit, b.hosts], [true, [{ name: 'b.test', preference: 0, addresses: ['127.0.0.3'] }]]);
    assert.deepEqual(await resolveMailHosts(r, 'null.test'), { kind: 'null_mx' });
    assert.deepEqual(await resolveMailHosts(r, 'nowhere.test'), { kind: 'no_domain' });
    assert.equal((await resolveMailHosts(r, 'slow.test')).kind, 'temporary');
  } finally {
    await dns.close();
  }
});
