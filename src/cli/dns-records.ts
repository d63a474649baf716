// `mailroom dns DOMAIN`: every DNS record a mail domain hosted here needs,
// ready to paste into a zone file (or as a table with --format table):
// MX, SPF (RFC 7208), DKIM key records per published selector (RFC 6376
// §3.6.1, RFC 8463), DMARC (RFC 7489 §6.1), MTA-STS (RFC 8461 §3.1, with the
// policy file's text), TLS-RPT (RFC 8460 §3) and SRV records for client
// autoconfiguration (RFC 6186 §3; port 0 / target "." where the service is
// not offered, RFC 2782). `expectedRecords` is shared with `mailroom check`.

import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { Config, ListenRole } from '../config/types.ts';
import type { DkimKey } from '../store/dkim-keys.ts';
import { dkimKeyPublished, dkimKeyState } from '../store/dkim-keys.ts';
import { DnsResolver } from '../dns/resolver.ts';
import { dkimRecord, dkimRecordName } from '../policy/dkim-keys.ts';
import { domainArg } from './address.ts';
import type { Command, CommandContext } from './context.ts';
import { EXIT_OK, UsageError, expectArgs, requireConfiguredDomain, withStore } from './context.ts';

export type RecordType = 'MX' | 'TXT' | 'SRV';

export interface DnsRecordSpec {
  /** Owner name, absolute without the final dot. */
  name: string;
  type: RecordType;
  /** MX: "10 mx.example.org."; SRV: "0 1 587 mx.example.org."; TXT: the text (unsplit). */
  value: string;
  /** What the record is for, one line. */
  purpose: string;
}

export interface ExpectedRecords {
  records: DnsRecordSpec[];
  /** The MTA-STS policy file to serve at https://mta-sts.DOMAIN/.well-known/mta-sts.txt. */
  mtaStsPolicy: string;
  /** The addresses SPF must allow (as written in the record). */
  addresses: string[];
}

export interface RecordOptions {
  /** MTA-STS mode (RFC 8461 §3.2): testing first, enforce once TLS works. */
  mtaStsMode: 'testing' | 'enforce' | 'none';
  /** DMARC policy (RFC 7489 §6.3 p=). */
  dmarcPolicy: 'none' | 'quarantine' | 'reject';
}

export const DEFAULT_RECORD_OPTIONS: RecordOptions = { mtaStsMode: 'testing', dmarcPolicy: 'quarantine' };

/** RFC 6186 §3: SRV names per listener role. */
const SRV_ROLES: readonly { service: string; role: ListenRole; standard: number }[] = [
  { service: '_submission._tcp', role: 'submission', standard: 587 },
  { service: '_submissions._tcp', role: 'submissions', standard: 465 },
  { service: '_imap._tcp', role: 'imap', standard: 143 },
  { service: '_imaps._tcp', role: 'imaps', standard: 993 },
  { service: '_pop3._tcp', role: 'pop3', standard: 110 },
  { service: '_pop3s._tcp', role: 'pop3s', standard: 995 },
];

/** Every record `domain` needs, from the configuration, the domain's DKIM
 * keys and the server's addresses (config `public_addresses`, else resolved). */
export function expectedRecords(config: Config, domain: string, keys: readonly DkimKey[], addresses: readonly string[], now: Date, o: RecordOptions = DEFAULT_RECORD_OPTIONS): ExpectedRecords {
  const host = config.hostname.toLowerCase().replace(/\.$/, '');
  const records: DnsRecordSpec[] = [];
  records.push({ name: domain, type: 'MX', value: `10 ${host}.`, purpose: 'mail for the domain goes to this server' });
  records.push({ name: domain, type: 'TXT', value: spfRecord(addresses), purpose: 'SPF: only this server sends mail for the domain' });
  for (const k of keys) {
    if (!dkimKeyPublished(k, now)) continue;
    records.push({
      name: dkimRecordName(k.selector, domain),
      type: 'TXT',
      value: dkimRecord(k.algorithm, k.publicKey),
      purpose: `DKIM key ${k.selector} (${k.algorithm}, ${dkimKeyState(k, now)})`,
    });
  }
  records.push({
    name: `_dmarc.${domain}`,
    type: 'TXT',
    value: `v=DMARC1; p=${o.dmarcPolicy}; rua=mailto:postmaster@${domain}; adkim=r; aspf=r`,
    purpose: 'DMARC: what receivers do with mail that fails SPF and DKIM, and where reports go',
  });
  const policy = mtaStsPolicy(host, o.mtaStsMode);
  records.push({ name: `_mta-sts.${domain}`, type: 'TXT', value: `v=STSv1; id=${mtaStsId(policy)}`, purpose: 'MTA-STS: senders must use TLS (policy at https://mta-sts.DOMAIN/.well-known/mta-sts.txt)' });
  records.push({ name: `_smtp._tls.${domain}`, type: 'TXT', value: `v=TLSRPTv1; rua=mailto:postmaster@${domain}`, purpose: 'TLS-RPT: where senders report TLS failures' });
  for (const s of SRV_ROLES) {
    const l = config.listen[s.role];
    // RFC 6186 §3: a service that is not offered is published with target "." (RFC 2782).
    records.push({
      name: `${s.service}.${domain}`,
      type: 'SRV',
      value: l ? `0 1 ${l.port} ${host}.` : '0 0 0 .',
      purpose: l ? `mail apps find ${s.role} here${l.port !== s.standard ? ` (non-standard port; the standard is ${s.standard})` : ''}` : `${s.role} is not offered`,
    });
  }
  return { records, mtaStsPolicy: policy, addresses: [...addresses] };
}

/** `v=spf1 mx [ip4:… ip6:…] -all` (RFC 7208 §5). */
export function spfRecord(addresses: readonly string[]): string {
  const ips = addresses.map((a) => `${isIP(a.split('/')[0]!) === 6 ? 'ip6' : 'ip4'}:${a}`);
  return ['v=spf1', 'mx', ...ips, '-all'].join(' ');
}

/** RFC 8461 §3.2 policy file; max_age one week. */
export function mtaStsPolicy(host: string, mode: RecordOptions['mtaStsMode']): string {
  return `version: STSv1\r\nmode: ${mode}\r\nmx: ${host}\r\nmax_age: 604800\r\n`;
}

/** RFC 8461 §3.1: id is 1–32 alphanumerics and must change with the policy, so it is derived from it. */
export function mtaStsId(policy: string): string {
  return createHash('sha256').update(policy).digest('hex').slice(0, 20);
}

/** The server's sending addresses: the configured ones, else hostname's A/AAAA. */
export async function serverAddresses(config: Config, dns: DnsResolver): Promise<string[]> {
  if (config.public_addresses.length > 0) return [...config.public_addresses];
  const out: string[] = [];
  for (const q of [dns.a.bind(dns), dns.aaaa.bind(dns)]) {
    try {
      out.push(...(await q(config.hostname)).records);
    } catch {
      // no address of that family (or DNS trouble): the record just lists fewer
    }
  }
  return out;
}

// ---- Zone-file and table output

/** RFC 1035 §3.3.14 / §5.1: a TXT record is character-strings of at most 255 octets each, quoted. */
export function txtStrings(text: string): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const out: string[] = [];
  for (let i = 0; i < bytes.length || i === 0; i += 255) {
    out.push(bytes.subarray(i, i + 255).toString('latin1'));
    if (bytes.length === 0) break;
  }
  return out;
}

function quote(s: string): string {
  return '"' + s.replace(/["\\]/g, (c) => '\\' + c) + '"';
}

export function zoneLine(r: DnsRecordSpec, ttl = 3600): string {
  const owner = `${r.name}.`;
  if (r.type !== 'TXT') return `${owner}\t${ttl}\tIN\t${r.type}\t${r.value}`;
  const parts = txtStrings(r.value).map(quote);
  return parts.length === 1 ? `${owner}\t${ttl}\tIN\tTXT\t${parts[0]}` : `${owner}\t${ttl}\tIN\tTXT\t( ${parts.join('\n\t\t\t\t')} )`;
}

export function formatZone(domain: string, e: ExpectedRecords): string[] {
  const lines = [`; DNS records for ${domain} (mailroom dns)`];
  if (e.addresses.length === 0) lines.push('; no server address known: set public_addresses in the configuration to list them in SPF');
  for (const r of e.records) lines.push(`; ${r.purpose}`, zoneLine(r));
  lines.push('', `; MTA-STS policy: serve this text at https://mta-sts.${domain}/.well-known/mta-sts.txt`, ...e.mtaStsPolicy.trimEnd().split('\r\n').map((l) => `;   ${l}`));
  return lines;
}

export function formatTable(e: ExpectedRecords): string[] {
  const rows = e.records.map((r) => [r.name, r.type, r.value]);
  const w0 = Math.max(4, ...rows.map((r) => r[0]!.length));
  const out = [`${'NAME'.padEnd(w0)}  TYPE  VALUE`];
  for (const [n, t, v] of rows) out.push(`${n!.padEnd(w0)}  ${t!.padEnd(4)}  ${v}`);
  out.push('', `MTA-STS policy (https://mta-sts.<domain>/.well-known/mta-sts.txt):`, ...e.mtaStsPolicy.trimEnd().split('\r\n').map((l) => `  ${l}`));
  return out;
}

export const dnsCommand: Command = {
  name: 'dns',
  summary: 'print the DNS records a domain needs (MX, SPF, DKIM, DMARC, MTA-STS, TLS-RPT, SRV)',
  usage: `usage:
  mailroom dns DOMAIN [--format zone|table] [--mta-sts testing|enforce|none] [--dmarc none|quarantine|reject]

  Prints every record DOMAIN needs for this server, ready to paste into its
  zone: MX (to hostname), SPF (v=spf1 mx with public_addresses, or the
  addresses hostname resolves to), a DKIM key record per published selector
  (see mailroom dkim), DMARC (p=quarantine, reports to postmaster@DOMAIN),
  MTA-STS (TXT, and the policy file to serve over HTTPS), TLS-RPT, and SRV
  records for mail apps (RFC 6186). Check the result with mailroom check.

  --format zone   zone-file syntax (default)
  --format table  name, type and value in columns
  --mta-sts MODE  the MTA-STS policy mode (default testing; enforce once TLS
                  with a publicly trusted certificate works)
  --dmarc POLICY  the DMARC p= (default quarantine)`,
  options: { format: { type: 'string' }, 'mta-sts': { type: 'string' }, dmarc: { type: 'string' } },
  async run(ctx) {
    const [text] = expectArgs(ctx.args, 1, 'dns', 'DOMAIN');
    const domain = domainArg(text!, 'dns');
    const format = optionChoice(ctx, 'format', ['zone', 'table'] as const, 'zone', 'dns');
    const o = recordOptions(ctx, 'dns');
    const config = ctx.config();
    return withStore(config, async (store) => {
      await requireConfiguredDomain(store, domain);
      const keys = await store.listDkimKeys(domain);
      const dns = new DnsResolver({ servers: config.dns.servers, timeoutMs: config.dns.timeout });
      const e = expectedRecords(config, domain, keys, await serverAddresses(config, dns), new Date(), o);
      if (keys.length === 0) ctx.err(`note: ${domain} has no DKIM key yet: create one with \`mailroom dkim keygen ${domain}\``);
      for (const line of format === 'table' ? formatTable(e) : formatZone(domain, e)) ctx.out(line);
      return EXIT_OK;
    });
  },
};

export function optionChoice<const T extends string>(ctx: CommandContext, name: string, choices: readonly T[], fallback: T, command: string): T {
  const v = ctx.options[name];
  if (v === undefined) return fallback;
  if (typeof v !== 'string' || !(choices as readonly string[]).includes(v)) {
    throw new UsageError(`--${name} must be one of ${choices.join(', ')}`, command);
  }
  return v as T;
}

export function recordOptions(ctx: CommandContext, command: string): RecordOptions {
  return {
    mtaStsMode: optionChoice(ctx, 'mta-sts', ['testing', 'enforce', 'none'] as const, 'testing', command),
    dmarcPolicy: optionChoice(ctx, 'dmarc', ['none', 'quarantine', 'reject'] as const, 'quarantine', command),
  };
}
