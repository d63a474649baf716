// DNS list zones: spec parsing (property: never throws, reads back), query
// names for IPv4 and IPv6 (RFC 5782 §2.1, §2.4), what counts as a listing,
// and look-ups against the test DNS server (TXT reason, failures = not listed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { DnsblChecker, dnsblQueryName, formatZoneSpec, isListingAddress, parseZoneSpec, zoneRuleName } from './dnsbl.ts';
import { DnsResolver } from '../dns/resolver.ts';
import { createLogger } from '../log/logger.ts';
import { startDnsServer } from '../../test/helpers/dns-server.ts';

test('zone specs', () => {
  assert.deepEqual(parseZoneSpec('zen.spamhaus.org', 'reject'), { zone: 'zen.spamhaus.org', action: { kind: 'reject' } });
  assert.deepEqual(parseZoneSpec('BL.Example.:score=2.5', 'reject'), { zone: 'bl.example', action: { kind: 'score', points: 2.5 } });
  assert.deepEqual(parseZoneSpec('list.dnswl.org', 'allow'), { zone: 'list.dnswl.org', action: { kind: 'allow', points: -1 } });
  assert.ok('error' in parseZoneSpec('not a zone', 'reject'));
  assert.ok('error' in parseZoneSpec('bl.example:reject=3', 'reject'));
  assert.ok('error' in parseZoneSpec('bl.example:drop', 'reject'));
});

test('property: any spec string gives a zone or an error, and a zone reads back', () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.domain().map((d) => d + fc.sample(fc.constantFrom('', ':reject', ':score=1.5', ':allow=-2', ':x'), 1)[0])), (s) => {
      const z = parseZoneSpec(s, 'score');
      if ('error' in z) return;
      assert.deepEqual(parseZoneSpec(formatZoneSpec(z), 'reject'), z);
    }),
    { numRuns: 300 },
  );
});

test('query names and listings', () => {
  assert.equal(dnsblQueryName('192.0.2.99', 'bl.example'), '99.2.0.192.bl.example');
  assert.equal(dnsblQueryName('::ffff:192.0.2.99', 'bl.example'), '99.2.0.192.bl.example');
  assert.equal(dnsblQueryName('2001:db8:1:2:3:4:567:89ab', 'bl.example'), 'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.8.b.d.0.1.0.0.2.bl.example');
  assert.equal(dnsblQueryName('not-an-ip', 'bl.example'), null);
  assert.ok(isListingAddress('127.0.0.2'));
  assert.ok(!isListingAddress('127.255.255.254'), 'operator error codes are not listings');
  assert.ok(!isListingAddress('192.0.2.1'));
  assert.equal(zoneRuleName('RCVD_IN', 'zen.spamhaus.org'), 'RCVD_IN_ZEN_SPAMHAUS_ORG');
});

test('look-ups over DNS: listed with reason, not listed, failures count as not listed', async () => {
  const dns = await startDnsServer([
    { name: '2.0.0.127.bl.test', type: 'A', data: '127.0.0.2' },
    { name: '2.0.0.127.bl.test', type: 'TXT', data: 'Listed: see https://bl.test/q?127.0.0.2' },
    { name: '3.0.0.127.bl.test', type: 'A', data: '127.255.255.254' },
    { name: 'bad-shop.test.uribl.test', type: 'A', data: '127.0.0.2' },
    { name: 'bl.test', type: '*', fault: 'servfail' },
    { name: '4.0.0.127.broken.test', type: '*', fault: 'servfail' },
  ]);
  const logs: string[] = [];
  const checker = new DnsblChecker(new DnsResolver({ servers: [dns.address], timeoutMs: 1000 }), createLogger({ level: 'debug', write: (l) => void logs.push(l) }));
  try {
    const zones = [{ zone: 'bl.test', action: { kind: 'reject' as const } }];
    const hit = await checker.checkIp('127.0.0.2', zones, true);
    assert.equal(hit.length, 1);
    assert.equal(hit[0].reason, 'Listed: see https://bl.test/q?127.0.0.2');
    assert.deepEqual(await checker.checkIp('127.0.0.3', zones, true), []);
    assert.deepEqual(await checker.checkIp('127.0.0.9', zones, true), []);
    assert.deepEqual(await checker.checkIp('127.0.0.4', [{ zone: 'broken.test', action: { kind: 'reject' } }], true), []);
    assert.ok(logs.some((l) => l.includes('DNS list look-up failed')));
    const uri = await checker.checkHosts(['www.bad-shop.test', 'good.test'], [{ zone: 'uribl.test', action: { kind: 'score', points: 4 } }]);
    assert.deepEqual(uri.map((u) => u.host), ['www.bad-shop.test']);
  } finally {
    await dns.close();
  }
});

test('config: zone lists are checked at load, errors name the key', async () => {
  const { parseConfig } = await import('../config/load.ts');
  const c = parseConfig('[dnsbl]\nzones = ["zen.spamhaus.org", "bl.example:score=2"]\nuri_zones = ["multi.surbl.org"]\n', 't.toml');
  assert.deepEqual(c.dnsbl.zones, [{ zone: 'zen.spamhaus.org', action: { kind: 'reject' } }, { zone: 'bl.example', action: { kind: 'score', points: 2 } }]);
  assert.deepEqual(c.dnsbl.uri_zones, [{ zone: 'multi.surbl.org', action: { kind: 'score', points: 3 } }]);
  assert.throws(() => parseConfig('[dnsbl]\nzones = ["bad zone"]\n', 't.toml'), /dnsbl\.zones|zones.*\[dnsbl\]/);
  assert.throws(() => parseConfig('[spam]\njunk_threshold = "high"\n', 't.toml'), /junk_threshold/);
});

test('the hook: an allowlisted client is not refused and gets negative points; submission ports are not checked', async () => {
  const { dnsblHook } = await import('./dnsbl.ts');
  const dns = await startDnsServer([
    { name: '2.0.0.127.block.test', type: 'A', data: '127.0.0.2' },
    { name: '3.0.0.127.block.test', type: 'A', data: '127.0.0.2' },
    { name: '2.0.0.127.wl.test', type: 'A', data: '127.0.10.0' },
  ]);
  const log = createLogger({ level: 'error', write: () => {} });
  const checker = new DnsblChecker(new DnsResolver({ servers: [dns.address], timeoutMs: 1000 }), log);
  const hook = dnsblHook({ checker, log, config: { enabled: true, zones: [{ zone: 'block.test', action: { kind: 'reject' } }], allow_zones: [{ zone: 'wl.test', action: { kind: 'allow', points: -2 } }], uri_zones: [] } });
  const ctx = (ip: string, role = 'smtp') => ({ stage: 'connect', sessionId: 's', clientIp: ip, role, trust: 'none', tls: null, hostname: 'mx', now: new Date(), verdicts: [] });
  try {
    assert.equal(await hook.connect!(ctx('127.0.0.2') as never), undefined, 'allowlisted');
    const refused = (await hook.connect!(ctx('127.0.0.3') as never)) as { kind: string; reply: { code: number; lines: string[] } };
    assert.equal(refused.kind, 'reject');
    assert.equal(refused.reply.code, 554);
    assert.match(refused.reply.lines[0], /127\.0\.0\.3 is listed in block\.test/);
    assert.equal(await hook.connect!(ctx('127.0.0.3', 'submission') as never), undefined, 'not on submission');
    const scored = (await hook.data!({ ...ctx('127.0.0.2'), stage: 'data' } as never)) as { kind: string; rules: Array<{ name: string; score: number }> };
    assert.deepEqual(scored.rules.map((r) => [r.name, r.score]), [['RCVD_IN_WL_WL_TEST', -2]]);
  } finally {
    await dns.close();
  }
});
