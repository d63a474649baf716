// The pure parts of `mailroom check` and `mailroom dns`: which SPF terms
// cost a DNS look-up (RFC 7208 §4.6.4), DMARC record validity (RFC 7489
// §6.3), DKIM key-record parsing (RFC 6376 §3.6.1), the records `dns`
// derives from the configuration, with property tests that arbitrary input
// never throws. checkDomain against the test DNS server, with an SPF
// include loop, a timeout and a missing TXT. The whole command is in
// test/e2e/dkim.test.ts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseConfig } from '../config/load.ts';
import { DnsResolver } from '../dns/resolver.ts';
import { startDnsServer, type DnsServer } from '../../test/helpers/dns-server.ts';
import { parseDkimRecord } from '../policy/dkim-keys.ts';
import { checkDomain, countSpfLookups, dmarcProblem, isProblem, spfLookupTerms } from './check.ts';
import { expectedRecords, mtaStsId, mtaStsPolicy, spfRecord } from './dns-records.ts';

describe('SPF look-up terms', () => {
  it('counts include, a, mx, ptr, exists and redirect; not ip4, ip6, all, exp', () => {
    const terms = spfLookupTerms('v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 a a:x.example/24 mx ~mx:y.example ptr exists:%{i}.z.example include:_spf.example -include:o.example redirect=r.example exp=e.example -all');
    assert.deepEqual(terms.map((t) => t.term), ['a', 'a:x.example/24', 'mx', '~mx:y.example', 'ptr', 'exists:%{i}.z.example', 'include:_spf.example', '-include:o.example', 'redirect=r.example']);
    assert.deepEqual(terms.filter((t) => t.follow).map((t) => t.follow), ['_spf.example', 'o.example', 'r.example']);
    assert.deepEqual(spfLookupTerms('v=spf1 -all'), []);
    // Names that only start like a mechanism are not one.
    assert.deepEqual(spfLookupTerms('v=spf1 all mxx:a ax include'), [{ term: 'include', follow: '' }]);
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => void spfLookupTerms(s)));
  });
});

describe('DMARC record validity', () => {
  it('needs v=DMARC1 first and a valid p=', () => {
    assert.equal(dmarcProblem('v=DMARC1; p=reject; rua=mailto:x@example.org'), null);
    assert.equal(dmarcProblem('v=DMARC1;p=none'), null);
    assert.equal(dmarcProblem('p=reject; v=DMARC1'), 'it must start with v=DMARC1');
    assert.equal(dmarcProblem('v=DMARC1; rua=mailto:x@example.org'), 'the p= tag is missing');
    assert.equal(dmarcProblem('v=DMARC1; p=block'), 'p=block is not none, quarantine or reject');
    assert.equal(dmarcProblem('v=DMARC1; p=none; sp=maybe'), 'sp=maybe is not none, quarantine or reject');
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void dmarcProblem(s)));
  });
});

describe('DKIM key records', () => {
  it('parses tags, whitespace inside p= and the k= default', () => {
    const r = parseDkimRecord('v=DKIM1; k=ed25519; p=abc\r\n def=');
    assert.equal(r?.p, 'abcdef=');
    assert.equal(r?.k, 'ed25519');
    assert.equal(parseDkimRecord('p=xyz')?.k, 'rsa');
    assert.equal(parseDkimRecord('v=DKIM1; k=rsa'), null);
    assert.equal(parseDkimRecord('v=DKIM1; p=a; p=b'), null);
    assert.equal(parseDkimRecord('garbage'), null);
  });
  it('never throws on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => void parseDkimRecord(s)));
  });
});

describe('records from the configuration', () => {
  const config = parseConfig('hostname = "mx.example.org"\n[listen]\nsmtp = ":25"\nsubmissions = ":465"\nimaps = ":993"\n', 'test.toml');
  it('SPF lists the addresses; MTA-STS id follows the policy; SRV per role', () => {
    assert.equal(spfRecord([]), 'v=spf1 mx -all');
    assert.equal(spfRecord(['192.0.2.1', '2001:db8::/64']), 'v=spf1 mx ip4:192.0.2.1 ip6:2001:db8::/64 -all');
    assert.notEqual(mtaStsId(mtaStsPolicy('a', 'testing')), mtaStsId(mtaStsPolicy('a', 'enforce')));
    assert.match(mtaStsId(mtaStsPolicy('a', 'testing')), /^[0-9a-f]{1,32}$/);
    const e = expectedRecords(config, 'example.org', [], ['192.0.2.1'], new Date());
    const srv = Object.fromEntries(e.records.filter((r) => r.type === 'SRV').map((r) => [r.name, r.value]));
    assert.deepEqual(srv, {
      '_submission._tcp.example.org': '0 0 0 .',
      '_submissions._tcp.example.org': '0 1 465 mx.example.org.',
      '_imap._tcp.example.org': '0 0 0 .',
      '_imaps._tcp.example.org': '0 1 993 mx.example.org.',
      '_pop3._tcp.example.org': '0 0 0 .',
      '_pop3s._tcp.example.org': '0 0 0 .',
    });
  });
});

describe('checkDomain against a DNS server', () => {
  let dns: DnsServer;
  before(async () => {
    dns = await startDnsServer([
      { name: 'loop.example', type: 'MX', data: { preference: 10, exchange: 'mx.example.org' } },
      { name: 'loop.example', type: 'TXT', data: ['v=spf1 include:a.loop.example ip4:192.0.2.1 -all'] },
      { name: 'a.loop.example', type: 'TXT', data: 'v=spf1 include:b.loop.example' },
      { name: 'b.loop.example', type: 'TXT', data: 'v=spf1 include:a.loop.example' },
      { name: '_dmarc.loop.example', type: 'TXT', data: 'v=DMARC1; p=none' },
      { name: '_dmarc.loop.example', type: 'TXT', data: 'something else' },
      { name: 'slow.example', type: '*', fault: 'timeout' },
      { name: '_submissions._tcp.loop.example', type: 'SRV', data: { priority: 0, weight: 1, port: 465, target: 'mx.example.org' } },
      { name: '_imaps._tcp.loop.example', type: 'SRV', data: { priority: 0, weight: 1, port: 993, target: 'other.example' } },
      { name: '_pop3._tcp.loop.example', type: 'SRV', data: { priority: 0, weight: 1, port: 110, target: 'mx.example.org' } },
      { name: '_pop3s._tcp.loop.example', type: 'SRV', data: { priority: 0, weight: 0, port: 0, target: '.' } },
    ]);
  });
  after(() => dns.close());
  const config = parseConfig('hostname = "mx.example.org"\npublic_addresses = ["192.0.2.1"]\n[listen]\nsubmission = ":587"\nsubmissions = ":465"\nimaps = ":993"\n', 'test.toml');
  const resolver = () => new DnsResolver({ servers: [dns.address], timeoutMs: 500 });

  it('an include loop is counted until it passes the limit; p=none is a note', async () => {
    const r = await countSpfLookups(resolver(), 'loop.example', 'v=spf1 include:a.loop.example -all');
    assert.ok(r.lookups > 10, String(r.lookups));
    const lines = await checkDomain({ config, domain: 'loop.example', keys: [], dns: resolver(), now: new Date(), addresses: ['192.0.2.1'] });
    const text = lines.map((l) => `${l.status} ${l.what} ${l.text}`).join('\n');
    assert.match(text, /^ok MX /m);
    assert.match(text, /^wrong SPF SPF needs \d+ DNS look-ups/m);
    assert.match(text, /^missing DKIM .*no active DKIM key/m);
    assert.match(text, /^ok DMARC _dmarc\.loop\.example v=DMARC1; p=none$/m);
    assert.match(text, /^note DMARC p=none only monitors/m);
  });

  it('SRV records (RFC 6186): right, missing, pointing elsewhere, or offering what we do not', async () => {
    const lines = await checkDomain({ config, domain: 'loop.example', keys: [], dns: resolver(), now: new Date(), addresses: ['192.0.2.1'] });
    const srv = lines.filter((l) => l.what === 'SRV').map((l) => `${l.status} ${l.text}`);
    assert.deepEqual(srv, [
      'missing no SRV record at _submission._tcp.loop.example (recommended: mail apps find the server by it)',
      'ok _submissions._tcp.loop.example mx.example.org:465',
      'ok _imap._tcp.loop.example: not offered',
      'wrong _imaps._tcp.loop.example points to other.example:993, not mx.example.org:993',
      'wrong _pop3._tcp.loop.example points mail apps at mx.example.org:110, but this server does not offer that service',
      'ok _pop3s._tcp.loop.example: not offered (.:0)',
    ]);
    assert.ok(lines.filter((l) => l.what === 'SRV').every((l) => !isProblem(l)));
  });

  it('a DNS timeout is an error line (a problem), never a crash', async () => {
    const lines = await checkDomain({ config, domain: 'slow.example', keys: [], dns: resolver(), now: new Date(), addresses: ['192.0.2.1'] });
    assert.ok(lines.some((l) => l.status === 'error' && l.what === 'MX' && /timed out/.test(l.text)));
    assert.ok(lines.some(isProblem));
    // Optional records that could not be looked up do not fail the check on their own.
    assert.ok(lines.filter((l) => l.what === 'MTA-STS').every((l) => !isProblem(l)));
  });
});
