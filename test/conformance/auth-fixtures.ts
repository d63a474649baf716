// Shared pieces of the sender-authentication conformance harnesses: where the
// suites live, a fake resolver that serves a fixed table of TXT records (and
// NXDOMAIN for anything else, as ../shared/conformance/README.md asks), the
// Stalwart "DNS lines, blank line, message" format, and LF → CRLF.
import { conformanceDir } from './location.ts';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DnsLookup } from '../../src/policy/sender-auth.ts';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export { conformanceDir };
export const has = (rel: string): boolean => existsSync(resolve(conformanceDir, rel));
export const at = (rel: string): string => resolve(conformanceDir, rel);

/** name → TXT records (each a string, or its character-strings). Other types and names: NXDOMAIN/NODATA. */
export function txtResolver(table: Record<string, (string | string[])[]>, asked: string[] = []): DnsLookup {
  const t = new Map(Object.entries(table).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v]));
  return async (name, rrtype) => {
    const n = name.toLowerCase().replace(/\.$/, '');
    asked.push(`${rrtype} ${n}`);
    const recs = t.get(n);
    if (!recs) throw Object.assign(new Error('NXDOMAIN'), { code: 'ENOTFOUND' });
    if (rrtype.toUpperCase() !== 'TXT') throw Object.assign(new Error('NODATA'), { code: 'ENODATA' });
    return recs.map((r) => (Array.isArray(r) ? r : [r]));
  };
}

/** Bare LF (and lone CR) → CRLF: SMTP, DKIM and ARC work on CRLF lines. */
export function crlf(s: string | Buffer): Buffer {
  const text = typeof s === 'string' ? s : s.toString('latin1');
  return Buffer.from(text.replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}

/** Stalwart mail-auth vectors: `<name> <txt>` lines, a blank line, then the message. */
export function parseStalwart(text: string): { dns: Record<string, string[]>; message: Buffer } {
  const lf = text.replace(/\r\n/g, '\n');
  const split = lf.indexOf('\n\n');
  const dns: Record<string, string[]> = {};
  for (const line of lf.slice(0, split).split('\n')) {
    const sp = line.indexOf(' ');
    if (sp < 0) continue;
    const name = line.slice(0, sp).toLowerCase();
    (dns[name] ??= []).push(line.slice(sp + 1));
  }
  return { dns, message: crlf(lf.slice(split + 2)) };
}
