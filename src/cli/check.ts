// `mailroom check DOMAIN`: looks up, through the configured resolver
// (DnsResolver with `[dns] servers`), the records `mailroom dns` says the
// domain needs, and reports line by line what is present, missing or wrong,
// each problem with its fix. Exit status 1 when something required is
// missing or wrong (or could not be looked up), 0 when all is good.
//
// Required: MX to our hostname; one SPF record that lets our addresses pass
// (evaluated with mailauth's SPF through our resolver) within the 10
// DNS-querying terms of RFC 7208 §4.6.4 (counted recursively through include
// and redirect); each published DKIM key matching the store's public key;
// a valid DMARC record (RFC 7489 §6.3: v=DMARC1 first, p= present).
// Recommended (reported, exit status unaffected): MTA-STS, TLS-RPT and the
// RFC 6186 SRV records.

import { spf as spfCheck } from 'mailauth/lib/spf/index.js';
import type { Config } from '../config/types.ts';
import { DnsError, DnsResolver, type SrvRecord } from '../dns/resolver.ts';
import type { DkimKey } from '../store/dkim-keys.ts';
import { dkimKeyState } from '../store/dkim-keys.ts';
import { dkimRecordName, parseDkimRecord } from '../policy/dkim-keys.ts';
import { resolverFor } from '../policy/sender-auth.ts';
import { domainArg } from './address.ts';
import type { Command } from './context.ts';
import { EXIT_ERROR, EXIT_OK, expectArgs, requireConfiguredDomain, withStore } from './context.ts';
import { expectedRecords, recordOptions, serverAddresses, zoneLine, type DnsRecordSpec, type RecordOptions } from './dns-records.ts';

export type CheckStatus = 'ok' | 'missing' | 'wrong' | 'error' | 'note';

export interface CheckLine {
  status: CheckStatus;
  /** MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT */
  what: string;
  text: string;
  /** How to fix it (a zone line or a command). */
  fix?: string;
  /** A recommended record: its absence does not fail the check. */
  optional?: boolean;
}

/** Fails the check (exit 1)? */
export function isProblem(l: CheckLine): boolean {
  return (l.status === 'missing' || l.status === 'wrong' || l.status === 'error') && !l.optional;
}

export interface CheckInput {
  config: Config;
  domain: string;
  keys: readonly DkimKey[];
  dns: DnsResolver;
  now: Date;
  /** Our sending addresses (config public_addresses, else hostname's A/AAAA). */
  addresses: readonly string[];
  options?: RecordOptions;
}

export async function checkDomain(c: CheckInput): Promise<CheckLine[]> {
  const expected = expectedRecords(c.config, c.domain, c.keys, c.addresses, c.now, c.options);
  const want = (pred: (r: DnsRecordSpec) => boolean) => expected.records.find(pred)!;
  const host = c.config.hostname.toLowerCase().replace(/\.$/, '');
  const out: CheckLine[] = [];
  out.push(...(await checkMx(c.dns, c.domain, host, zoneLine(want((r) => r.type === 'MX')))));
  out.push(...(await checkSpf(c, zoneLine(want((r) => r.type === 'TXT' && r.name === c.domain)))));
  out.push(...(await checkDkim(c)));
  out.push(...(await checkDmarc(c.dns, c.domain, zoneLine(want((r) => r.name === `_dmarc.${c.domain}`)))));
  for (const [what, name, prefix] of [
    ['MTA-STS', `_mta-sts.${c.domain}`, 'v=STSv1'],
    ['TLS-RPT', `_smtp._tls.${c.domain}`, 'v=TLSRPTv1'],
  ] as const) {
    const txt = await lookupTxt(c.dns, name);
    const fix = zoneLine(want((r) => r.name === name));
    if ('error' in txt) out.push({ status: 'error', what, text: `${name}: ${txt.error}`, optional: true });
    else if (!txt.records.some((t) => t.startsWith(prefix))) out.push({ status: 'missing', what, text: `no ${prefix} record at ${name} (recommended)`, fix, optional: true });
    else out.push({ status: 'ok', what, text: `${name} ${txt.records.find((t) => t.startsWith(prefix))}` });
  }
  for (const r of expected.records.filter((x) => x.type === 'SRV')) out.push(await checkSrv(c.dns, r, host));
  return out;
}

/** RFC 6186 §3 (recommended): a role we listen on should point at hostname and
 * its port; a role we do not offer should be absent or "." (RFC 2782). */
async function checkSrv(dns: DnsResolver, want: DnsRecordSpec, host: string): Promise<CheckLine> {
  const fix = zoneLine(want);
  const offered = !want.value.endsWith(' .');
  let got: SrvRecord[];
  try {
    got = (await dns.srv(want.name)).records;
  } catch (err) {
    if (err instanceof DnsError && (err.kind === 'nxdomain' || err.kind === 'nodata')) got = [];
    else return { status: 'error', what: 'SRV', text: `${want.name}: lookup failed: ${(err as Error).message}`, optional: true };
  }
  const port = Number(want.value.split(' ')[2]);
  const shown = got.map((g) => `${g.target || '.'}:${g.port}`).join(', ');
  if (!offered) {
    const ours = got.filter((g) => g.target.toLowerCase().replace(/\.$/, '') === host);
    if (ours.length > 0) return { status: 'wrong', what: 'SRV', text: `${want.name} points mail apps at ${shown}, but this server does not offer that service`, fix, optional: true };
    return { status: 'ok', what: 'SRV', text: `${want.name}: not offered${got.length ? ` (${shown})` : ''}` };
  }
  if (got.length === 0) return { status: 'missing', what: 'SRV', text: `no SRV record at ${want.name} (recommended: mail apps find the server by it)`, fix, optional: true };
  if (got.some((g) => g.target.toLowerCase().replace(/\.$/, '') === host && g.port === port)) return { status: 'ok', what: 'SRV', text: `${want.name} ${shown}` };
  return { status: 'wrong', what: 'SRV', text: `${want.name} points to ${shown}, not ${host}:${port}`, fix, optional: true };
}

type TxtResult = { records: string[] } | { error: string };

/** TXT records; NXDOMAIN/NODATA are an empty list, other failures an error text. */
async function lookupTxt(dns: DnsResolver, name: string): Promise<TxtResult> {
  try {
    return { records: (await dns.txt(name)).records };
  } catch (err) {
    if (err instanceof DnsError && (err.kind === 'nxdomain' || err.kind === 'nodata')) return { records: [] };
    return { error: `lookup failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

async function checkMx(dns: DnsResolver, domain: string, host: string, fix: string): Promise<CheckLine[]> {
  let mx;
  try {
    mx = (await dns.mx(domain)).records;
  } catch (err) {
    if (err instanceof DnsError && (err.kind === 'nxdomain' || err.kind === 'nodata')) return [{ status: 'missing', what: 'MX', text: `${domain} has no MX record: mail for it cannot reach this server`, fix }];
    return [{ status: 'error', what: 'MX', text: `MX lookup for ${domain} failed: ${(err as Error).message}` }];
  }
  const names = mx.map((m) => `${m.preference} ${m.exchange.toLowerCase().replace(/\.$/, '') || '.'}`);
  if (mx.some((m) => m.exchange.toLowerCase().replace(/\.$/, '') === host)) {
    const others = mx.filter((m) => m.exchange.toLowerCase().replace(/\.$/, '') !== host);
    const out: CheckLine[] = [{ status: 'ok', what: 'MX', text: `${domain} MX ${names.join(', ')}` }];
    if (others.length > 0) out.push({ status: 'note', what: 'MX', text: `other MX hosts besides ${host}: ${others.map((m) => m.exchange).join(', ')} (they must pass mail on to this server)` });
    return out;
  }
  return [{ status: 'wrong', what: 'MX', text: `${domain} MX points elsewhere (${names.join(', ')}), not to ${host}`, fix }];
}

async function checkSpf(c: CheckInput, fix: string): Promise<CheckLine[]> {
  const txt = await lookupTxt(c.dns, c.domain);
  if ('error' in txt) return [{ status: 'error', what: 'SPF', text: `${c.domain}: ${txt.error}` }];
  // RFC 7208 §4.5: records beginning with "v=spf1" (case-insensitive) followed by a space or the end.
  const spf = txt.records.filter((t) => /^v=spf1( |$)/i.test(t));
  if (spf.length === 0) return [{ status: 'missing', what: 'SPF', text: `no SPF record at ${c.domain}: receivers cannot tell that this server may send for it`, fix }];
  if (spf.length > 1) return [{ status: 'wrong', what: 'SPF', text: `${spf.length} SPF records at ${c.domain}: RFC 7208 §4.5 makes that a permerror; merge them into one`, fix }];
  const out: CheckLine[] = [];
  const record = spf[0]!;
  const count = await countSpfLookups(c.dns, c.domain, record);
  if (count.error) out.push({ status: 'error', what: 'SPF', text: `counting the DNS look-ups of ${c.domain}'s SPF record: ${count.error}` });
  else if (count.lookups > SPF_LOOKUP_LIMIT) {
    out.push({ status: 'wrong', what: 'SPF', text: `SPF needs ${count.lookups} DNS look-ups (${count.path.join(' → ')}); RFC 7208 §4.6.4 allows 10, so receivers get permerror`, fix: `flatten includes into ip4:/ip6: terms, e.g. ${fix}` });
  }
  if (c.addresses.length === 0) {
    out.push({ status: 'error', what: 'SPF', text: `cannot check whether SPF lets this server send: no address known (set public_addresses, or give ${c.config.hostname} an A/AAAA record)` });
    return out;
  }
  const lookup = resolverFor(c.dns);
  for (const ip of c.addresses) {
    const probe = ip.split('/')[0]!;
    const r = await spfCheck({ ip: probe, sender: `postmaster@${c.domain}`, helo: c.config.hostname, mta: c.config.hostname, resolver: lookup as never });
    const result = r.status.result;
    if (result === 'pass') out.push({ status: 'ok', what: 'SPF', text: `"${record}" lets ${probe} send (pass)` });
    else out.push({ status: 'wrong', what: 'SPF', text: `"${record}" gives ${result} for this server's address ${probe}: mail from here fails SPF`, fix });
  }
  return out;
}

export const SPF_LOOKUP_LIMIT = 10;

/** The terms of an SPF record that cost a DNS look-up (RFC 7208 §4.6.4):
 * include, a, mx, ptr, exists, and the redirect modifier; with the domain
 * to follow for include and redirect. Pure. */
export function spfLookupTerms(record: string): { term: string; follow: string | null }[] {
  const out: { term: string; follow: string | null }[] = [];
  for (const raw of record.trim().split(/ +/).slice(1)) {
    const t = raw.replace(/^[+\-~?]/, '');
    const m = /^(include|a|mx|ptr|exists)(?=$|[:/])(?::([^/]*))?/i.exec(t) ?? /^(redirect)=(.*)$/i.exec(t);
    if (!m) continue;
    const name = m[1]!.toLowerCase();
    out.push({ term: raw, follow: name === 'include' || name === 'redirect' ? (m[2] ?? '') : null });
  }
  return out;
}

/** Counts the DNS-querying terms, following include/redirect (bounded depth;
 * a loop counts until it passes the limit). Macros (%{…}) are not expanded. */
export async function countSpfLookups(dns: DnsResolver, domain: string, record: string): Promise<{ lookups: number; path: string[]; error?: string }> {
  let lookups = 0;
  const path: string[] = [domain];
  async function walk(rec: string, depth: number): Promise<string | undefined> {
    for (const { term, follow } of spfLookupTerms(rec)) {
      lookups++;
      if (lookups > SPF_LOOKUP_LIMIT + 5 || depth > 10) return undefined;
      if (follow === null || follow === '' || follow.includes('%')) continue;
      const txt = await lookupTxt(dns, follow);
      if ('error' in txt) return `${follow}: ${txt.error}`;
      const sub = txt.records.filter((t) => /^v=spf1( |$)/i.test(t));
      if (sub.length !== 1) continue; // permerror at the receiver; counted as one look-up here
      if (!path.includes(follow)) path.push(follow);
      const err = await walk(sub[0]!, depth + 1);
      if (err) return err;
    }
    return undefined;
  }
  const error = await walk(record, 0);
  return error ? { lookups, path, error } : { lookups, path };
}

async function checkDkim(c: CheckInput): Promise<CheckLine[]> {
  const out: CheckLine[] = [];
  const signing = c.keys.filter((k) => dkimKeyState(k, c.now) === 'active');
  if (signing.length === 0) {
    out.push({ status: 'missing', what: 'DKIM', text: `${c.domain} has no active DKIM key: its mail goes out unsigned`, fix: `mailroom dkim keygen ${c.domain}` });
  }
  for (const k of c.keys) {
    const state = dkimKeyState(k, c.now);
    const name = dkimRecordName(k.selector, c.domain);
    const want = zoneLine({ name, type: 'TXT', value: `v=DKIM1; k=${k.algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519'}; p=${k.publicKey}`, purpose: '' });
    const txt = await lookupTxt(c.dns, name);
    if ('error' in txt) {
      out.push({ status: 'error', what: 'DKIM', text: `${name}: ${txt.error}` });
      continue;
    }
    const parsed = txt.records.map(parseDkimRecord);
    if (state === 'retired') {
      if (txt.records.length > 0) out.push({ status: 'note', what: 'DKIM', text: `${name}: key ${k.selector} is retired; its record can be removed (then \`mailroom dkim remove ${c.domain} ${k.selector}\`)` });
      continue;
    }
    if (txt.records.length === 0) {
      out.push({ status: 'missing', what: 'DKIM', text: `no key record at ${name} (${state} key): signatures with it cannot be verified`, fix: want });
    } else if (txt.records.length > 1) {
      out.push({ status: 'wrong', what: 'DKIM', text: `${txt.records.length} TXT records at ${name}: keep only one`, fix: want });
    } else if (!parsed[0] || (parsed[0].version !== null && parsed[0].version !== 'DKIM1')) {
      out.push({ status: 'wrong', what: 'DKIM', text: `${name} is not a valid DKIM key record (RFC 6376 §3.6.1)`, fix: want });
    } else if (parsed[0].p !== k.publicKey || parsed[0].k.toLowerCase() !== (k.algorithm === 'rsa-sha256' ? 'rsa' : 'ed25519')) {
      out.push({ status: 'wrong', what: 'DKIM', text: `${name} publishes a different key than the store's ${k.selector} (${k.algorithm}): signatures fail`, fix: want });
    } else {
      out.push({ status: 'ok', what: 'DKIM', text: `${name} matches key ${k.selector} (${k.algorithm}, ${state})` });
    }
  }
  return out;
}

/** RFC 7489 §6.3/§6.4: v=DMARC1 first, p= required; validity of p and sp. */
export function dmarcProblem(record: string): string | null {
  const tags = record.split(';').map((t) => t.trim()).filter(Boolean).map((t) => t.split('=').map((x) => x.trim()));
  if (tags.length === 0 || tags[0]![0] !== 'v' || tags[0]![1] !== 'DMARC1') return 'it must start with v=DMARC1';
  const get = (n: string) => tags.find((t) => t[0]!.toLowerCase() === n)?.[1];
  const p = get('p');
  if (p === undefined) return 'the p= tag is missing';
  if (!['none', 'quarantine', 'reject'].includes(p.toLowerCase())) return `p=${p} is not none, quarantine or reject`;
  const sp = get('sp');
  if (sp !== undefined && !['none', 'quarantine', 'reject'].includes(sp.toLowerCase())) return `sp=${sp} is not none, quarantine or reject`;
  return null;
}

async function checkDmarc(dns: DnsResolver, domain: string, fix: string): Promise<CheckLine[]> {
  const name = `_dmarc.${domain}`;
  const txt = await lookupTxt(dns, name);
  if ('error' in txt) return [{ status: 'error', what: 'DMARC', text: `${name}: ${txt.error}` }];
  const dmarc = txt.records.filter((t) => /^v\s*=\s*DMARC1/i.test(t));
  if (dmarc.length === 0) return [{ status: 'missing', what: 'DMARC', text: `no DMARC record at ${name}: receivers get no policy and send no reports`, fix }];
  if (dmarc.length > 1) return [{ status: 'wrong', what: 'DMARC', text: `${dmarc.length} DMARC records at ${name}: RFC 7489 §6.6.3 ignores them all`, fix }];
  const problem = dmarcProblem(dmarc[0]!);
  if (problem) return [{ status: 'wrong', what: 'DMARC', text: `invalid DMARC record at ${name}: ${problem}`, fix }];
  const out: CheckLine[] = [{ status: 'ok', what: 'DMARC', text: `${name} ${dmarc[0]}` }];
  if (/;\s*p\s*=\s*none/i.test(dmarc[0]!)) out.push({ status: 'note', what: 'DMARC', text: 'p=none only monitors: forged mail is still delivered' });
  return out;
}

export function formatCheck(lines: readonly CheckLine[]): string[] {
  const out: string[] = [];
  for (const l of lines) {
    out.push(`${l.status.padEnd(7)}  ${l.what.padEnd(7)}  ${l.text}`);
    if (l.fix) for (const f of l.fix.split('\n')) out.push(`${''.padEnd(7)}  ${''.padEnd(7)}  fix: ${f}`);
  }
  return out;
}

export const checkCommand: Command = {
  name: 'check',
  summary: "check a domain's DNS records (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT)",
  usage: `usage:
  mailroom check DOMAIN [--mta-sts testing|enforce|none] [--dmarc none|quarantine|reject]

  Looks up DOMAIN's records through the configured resolver ([dns] servers)
  and prints one line per check: ok, missing, wrong, error (lookup failed) or
  note, each problem with its fix. Checked: the MX points to hostname; one SPF
  record lets this server's addresses pass within RFC 7208's 10 DNS look-ups;
  each DKIM key in the store is published with the same public key; a valid
  DMARC record; MTA-STS, TLS-RPT and the RFC 6186 SRV records (recommended
  only: reported, but they do not change the exit status).

  exit status: 0 all required records are right, 1 something is missing or
  wrong (or could not be looked up)`,
  options: { 'mta-sts': { type: 'string' }, dmarc: { type: 'string' } },
  async run(ctx) {
    const [text] = expectArgs(ctx.args, 1, 'check', 'DOMAIN');
    const domain = domainArg(text!, 'check');
    const options = recordOptions(ctx, 'check');
    const config = ctx.config();
    const lines = await withStore(config, async (store) => {
      await requireConfiguredDomain(store, domain);
      const keys = await store.listDkimKeys(domain);
      const dns = new DnsResolver({ servers: config.dns.servers, timeoutMs: config.dns.timeout });
      return checkDomain({ config, domain, keys, dns, now: new Date(), addresses: await serverAddresses(config, dns), options });
    });
    for (const l of formatCheck(lines)) ctx.out(l);
    const problems = lines.filter(isProblem).length;
    ctx.out(problems === 0 ? `${domain}: all required records are right` : `${domain}: ${problems} problem${problems === 1 ? '' : 's'}`);
    return problems === 0 ? EXIT_OK : EXIT_ERROR;
  },
};
