// Conformance harness: the OpenSPF RFC 7208 test suite
// (../shared/conformance/spf/rfc7208-tests.yml, every scenario and test)
// through our SenderAuth.checkSpf, with a fake resolver built from each
// scenario's `zonedata`. SPF records are served as TXT when a name has no TXT
// of its own (the suite's rule for RFC 7208 drivers); type 99 is never asked;
// `TIMEOUT` makes a question for that name time out (→ temperror); CNAMEs are
// followed. Run twice: in strict mode (RFC 7208 exactly, what the suite
// checks) and in the default lenient mode the server runs by default, where
// mailauth knowingly differs on a few syntax corner cases (listed below).
import { conformanceDir } from './location.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseYamlDocuments, type YamlValue } from './yaml-lite.ts';
import { SenderAuth, type DnsLookup } from '../../src/policy/sender-auth.ts';
import { reverseName } from '../../src/dns/resolver.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const file = resolve(conformanceDir, 'spf/rfc7208-tests.yml');
const present = existsSync(file);

type Zone = Record<string, YamlValue[]>;
type Row = Record<string, YamlValue>;

/** A dns.promises.resolve-shaped lookup over a scenario's zonedata. */
export function zoneResolver(zone: Zone): DnsLookup {
  const table = new Map<string, YamlValue[]>();
  for (const [name, recs] of Object.entries(zone)) table.set(name.toLowerCase().replace(/\.$/, ''), Array.isArray(recs) ? recs : []);
  const err = (code: string) => Object.assign(new Error(code), { code });
  return async (qname, rrtype) => {
    let name = qname.toLowerCase().replace(/\.$/, '');
    const type = rrtype.toUpperCase();
    for (let hop = 0; hop < 10; hop++) {
      const recs = table.get(name);
      if (!recs) throw err('ENOTFOUND');
      const of = (t: string) => recs.filter((r): r is Row => typeof r === 'object' && !Array.isArray(r) && t in r).map((r) => r[t]);
      const timeout = recs.includes('TIMEOUT');
      const cname = of('CNAME');
      if (cname.length > 0 && type !== 'CNAME') {
        name = String(cname[0]).toLowerCase().replace(/\.$/, '');
        continue;
      }
      let values: YamlValue[];
      if (type === 'TXT') {
        const txt = of('TXT');
        const explicitNone = txt.includes('NONE');
        values = txt.filter((v) => v !== 'NONE');
        // RFC 7208 drivers serve SPF-type records as TXT (the suite's header comment).
        if (values.length === 0 && !explicitNone) values = of('SPF');
      } else values = of(type);
      if (values.length === 0) throw err(timeout ? 'ETIMEOUT' : 'ENODATA');
      switch (type) {
        case 'TXT':
          // A list value is one record of several character-strings.
          return values.map((v) => (Array.isArray(v) ? v.map(String) : [String(v)]));
        case 'MX':
          return values.map((v) => {
            const [prio, host] = Array.isArray(v) ? v : [0, v];
            return { priority: Number(prio), exchange: String(host).replace(/\.$/, '') };
          });
        default:
          return values.map((v) => String(v).replace(/\.$/, ''));
      }
    }
    throw err('ESERVFAIL'); // a CNAME loop
  };
}

interface Case {
  scenario: string;
  name: string;
  helo: string;
  host: string;
  mailfrom: string;
  results: string[];
  explanation: string | null;
  zone: Zone;
}

function cases(): Case[] {
  const docs = parseYamlDocuments(readFileSync(file, 'utf8')) as Record<string, YamlValue>[];
  const out: Case[] = [];
  for (const d of docs) {
    const tests = d.tests as Record<string, Row>;
    for (const [name, t] of Object.entries(tests)) {
      out.push({
        scenario: String(d.description),
        name,
        helo: String(t.helo ?? ''),
        host: String(t.host),
        mailfrom: String(t.mailfrom ?? ''),
        results: Array.isArray(t.result) ? t.result.map(String) : [String(t.result)],
        explanation: typeof t.explanation === 'string' ? t.explanation : null,
        zone: (d.zonedata ?? {}) as Zone,
      });
    }
  }
  return out;
}

async function run(strict: boolean): Promise<{ pass: number; total: number; failed: string[] }> {
  const all = cases();
  let pass = 0;
  const failed: string[] = [];
  for (const c of all) {
    const auth = new SenderAuth({ resolver: zoneResolver(c.zone), authservId: 'mx.test', strict, timeoutMs: 5000 });
    const r = await auth.checkSpf({ clientIp: c.host, helo: c.helo || null, mailFrom: c.mailfrom === '' ? null : c.mailfrom });
    const okResult = c.results.includes(r.result);
    // The exp= text is compared when the suite gives one and the result is fail.
    // "DEFAULT" means the checker's own default text, i.e. no exp= text was found.
    // Compared case-insensitively: the suite keeps the client IP's case as written
    // ("CAFE:BABE::1" → nibbles E.B.A.B…), mailauth writes IPv6 nibbles in lower case.
    const okExp =
      !c.explanation || r.result !== 'fail' || (c.explanation === 'DEFAULT' ? r.explanation === null : r.explanation?.toLowerCase() === c.explanation.toLowerCase());
    if (okResult && okExp) pass++;
    else failed.push(`${c.name}: expected ${c.results.join('|')}${c.explanation ? ` exp="${c.explanation}"` : ''}, got ${r.result}${r.explanation ? ` exp="${r.explanation}"` : ''}`);
  }
  return { pass, total: all.length, failed };
}

// Cases where the lenient default mode deliberately differs from RFC 7208
// (mailauth's documented leniencies: syntax errors after the matching term are
// not looked for, and c/r/t macros are accepted outside exp= text). The server
// runs lenient by default (auth_checks.strict = false) because real-world
// records have such slips; strict mode passes them.
//   bare-ip6, exp-syntax-error, exp-twice: a syntax error after the matching term is not seen;
//   exp-only-macro-char: the same for a bad exp= domain-spec;
//   invalid-hello-macro, hello-domain-literal, require-valid-helo: a name that
//   is invalid after macro expansion is permerror instead of "does not match".
const LENIENT_DIFFERS = new Set(['bare-ip6', 'exp-syntax-error', 'exp-twice', 'exp-only-macro-char', 'invalid-hello-macro', 'hello-domain-literal', 'require-valid-helo']);

test('SPF conformance (RFC 7208 suite), strict mode', { skip: !present && 'conformance data not present' }, async () => {
  const r = await run(true);
  console.log(`spf conformance (strict): ${r.pass}/${r.total} pass`);
  for (const f of r.failed) console.log(`  differs: ${f}`);
  assert.equal(r.total, 203, 'every test of the suite ran');
  assert.ok(r.pass >= 203, `floor: 203 (got ${r.pass})`);
});

test('SPF conformance (RFC 7208 suite), default (lenient) mode', { skip: !present && 'conformance data not present' }, async () => {
  const r = await run(false);
  console.log(`spf conformance: ${r.pass}/${r.total} pass`);
  const unexpected = r.failed.filter((f) => !LENIENT_DIFFERS.has(f.slice(0, f.indexOf(':'))));
  for (const f of r.failed) console.log(`  ${unexpected.includes(f) ? 'UNEXPECTED' : 'known'}: ${f}`);
  assert.deepEqual(unexpected, [], 'only the documented lenient-mode differences');
  assert.ok(r.pass >= 196, `floor: 196 (got ${r.pass})`);
});


// ---- Stalwart mail-auth vectors (../shared/conformance/spf/stalwart/*.yml) ----
// Not real YAML (keys repeat): read line by line as SOURCE.md describes.
// `spf:`/`exp:` are TXT records, `a:`/`aaaa:` addresses, `ptr: <ip> <names>`,
// `mx: <name> <ips>` (each IP a host of its own with preference pos+1);
// names starting with `_dns_error` fail (temperror). Each `expect:` closes a
// test with the latest domain (HELO), sender (MAIL FROM) and ip.
interface StalwartCase {
  file: string;
  scenario: string;
  helo: string;
  sender: string;
  ip: string;
  result: string;
  explanation: string | null;
  resolver: DnsLookup;
}

function stalwartResolver(txt: Map<string, string[]>, a: Map<string, string[]>, aaaa: Map<string, string[]>, ptr: Map<string, string[]>, mx: Map<string, { exchange: string; priority: number }[]>): DnsLookup {
  const err = (code: string) => Object.assign(new Error(code), { code });
  return async (qname, rrtype) => {
    const name = qname.toLowerCase().replace(/\.$/, '');
    if (name.startsWith('_dns_error')) throw err('ESERVFAIL');
    const table = { TXT: txt, A: a, AAAA: aaaa, PTR: ptr, MX: mx }[rrtype.toUpperCase() as 'TXT'];
    const known = [txt, a, aaaa, ptr, mx].some((m) => m.has(name));
    const v = table?.get(name);
    if (!v || v.length === 0) throw err(known ? 'ENODATA' : 'ENOTFOUND');
    return rrtype.toUpperCase() === 'TXT' ? (v as string[]).map((t) => [t]) : v;
  };
}

function stalwartCases(): StalwartCase[] {
  const dir = resolve(conformanceDir, 'spf/stalwart');
  const out: StalwartCase[] = [];
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.yml')).sort()) {
    for (const doc of readFileSync(resolve(dir, f), 'utf8').split(/^---\s*$/m)) {
      const txt = new Map<string, string[]>();
      const a = new Map<string, string[]>();
      const aaaa = new Map<string, string[]>();
      const ptr = new Map<string, string[]>();
      const mx = new Map<string, { exchange: string; priority: number }[]>();
      let scenario = '';
      let helo = '';
      let sender = '';
      let ip = '';
      for (const raw of doc.split('\n')) {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) continue;
        const m = /^(?:- )?([a-z]+):\s?(.*)$/.exec(line);
        if (!m) continue;
        const [, key, rest] = m;
        const sp = rest.indexOf(' ');
        const name = (sp < 0 ? rest : rest.slice(0, sp)).toLowerCase().replace(/\.$/, '');
        const value = sp < 0 ? '' : rest.slice(sp + 1);
        const list = () => value.split(',').map((x) => x.trim()).filter(Boolean);
        switch (key) {
          case 'name':
            scenario = rest;
            break;
          // A record line sets (replaces) that name's records, as inserting into Stalwart's
          // resolver cache does; a test may so replace a record set earlier in the scenario.
          case 'spf':
          case 'exp':
            txt.set(name, [value]);
            break;
          case 'a':
            a.set(name, list());
            break;
          case 'aaaa':
            aaaa.set(name, list());
            break;
          case 'ptr': {
            const rev = reverseName(rest.slice(0, sp));
            if (rev) ptr.set(rev, list().map((x) => x.replace(/\.$/, '')));
            break;
          }
          case 'mx':
            mx.set(name, []);
            list().forEach((x, pos) => {
              // Stalwart names these hosts mx.<ip>.<pos>; a name ending in a digit label is not a
              // valid SPF target (RFC 7208 §7.1 toplabel), so here they get a name of letters.
              const host = `mx${pos}-${x.replace(/[.:]/g, '-')}.mx-hosts.test`.toLowerCase();
              mx.get(name)!.push({ exchange: host, priority: pos + 1 });
              (x.includes(':') ? aaaa : a).set(host, [x]);
            });
            break;
          case 'domain':
            helo = rest.trim();
            break;
          case 'sender':
            sender = rest.trim();
            break;
          case 'ip':
            ip = rest.trim();
            break;
          case 'expect': {
            const t = rest.trim();
            const r = t.split(/\s+/)[0];
            const exp = t.slice(r.length).trim();
            // The records as they stand at this line (later lines may replace them).
            const resolver = stalwartResolver(structuredClone(txt), structuredClone(a), structuredClone(aaaa), structuredClone(ptr), structuredClone(mx));
            out.push({ file: f, scenario, helo, sender, ip, result: r, explanation: exp === '' ? null : exp, resolver });
            break;
          }
        }
      }
    }
  }
  return out;
}

test('SPF conformance (Stalwart section-by-section vectors)', { skip: !existsSync(resolve(conformanceDir, 'spf/stalwart')) && 'conformance data not present' }, async () => {
  const all = stalwartCases();
  const failed: string[] = [];
  for (const c of all) {
    const auth = new SenderAuth({ resolver: c.resolver, authservId: 'mx.test', strict: true, timeoutMs: 5000 });
    const r = await auth.checkSpf({ clientIp: c.ip, helo: c.helo || null, mailFrom: c.sender || null });
    const okExp = !c.explanation || r.explanation === c.explanation;
    if (r.result !== c.result || !okExp) failed.push(`${c.file} "${c.scenario}" ${c.sender || c.helo} from ${c.ip}: expected ${c.result}${c.explanation ? ` "${c.explanation}"` : ''}, got ${r.result}${r.explanation ? ` "${r.explanation}"` : ''}`);
  }
  console.log(`spf conformance (stalwart): ${all.length - failed.length}/${all.length} pass`);
  for (const f of failed) console.log(`  differs: ${f}`);
  assert.equal(all.length, 163, 'every expect: line ran');
  assert.ok(all.length - failed.length >= 156, 'floor: 156');
  const unexpected = failed.filter((f) => !STALWART_DIFFERS.some((d) => f.includes(d)));
  assert.deepEqual(unexpected, [], 'only the documented differences');
});

// Where these vectors disagree with RFC 7208 (and with the OpenSPF suite), or
// test something we deliberately do not do; each a scenario name and a case:
const STALWART_DIFFERS = [
  // §4.6: a syntax error anywhere in the record ("ip:10.0.0.1" after -all) is permerror
  // before evaluation (the OpenSPF suite agrees); Stalwart evaluates up to -all.
  '"All test" sender@test.org from 10.0.0.1',
  // §4.3: "_dns_error.org" is taken as a malformed domain (underscore label) → none
  // before any DNS question, so the vector's DNS error is never asked.
  '"DNS Temp Error" sender@_dns_error.org',
  // §4.6.4: ten a: terms at names that do not exist are ten void lookups, over the
  // limit of two → permerror; the vector does not count void lookups.
  '"DNS Lookup Limits" sender@ok.test.org',
  // §2.3: the HELO identity is checked only when MAIL FROM is <> (what the server
  // does); the vector checks HELO separately and expects its fail.
  '"HELO identity" sender@test.org',
  // §5.7: exists: always asks for A records, even for IPv6 clients; the vectors
  // expect names with only AAAA records to match.
  '"Exists" sender@ip6.test.org from 167.1.2.3',
  '"Macro expansion 2" strong-bad@email.example.com from 2001:db8::cb01',
  // §5.6: ip6: does not match an IPv4 client (ip6:::ffff:10.1.2.3 vs 10.1.2.3).
  '"IPv6 match" sender@test.org from 10.1.2.3',
];
