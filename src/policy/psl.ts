// Organisational domains from the Public Suffix List (RFC 7489 §3.2): the
// registrable domain is the public suffix (the longest matching rule, with
// wildcard `*.` and exception `!` rules, default rule `*`) plus one label.
// The list is bundled in psl/ (MPL-2.0) and parsed once, on first use. Pure
// apart from that one read. Used for relaxed identifier alignment (RFC 7489
// §3.1.1) in dmarc-policy.ts; mailauth's own DMARC step uses the RFC 9989 DNS
// tree walk instead, which gives the same answer for ordinary domains.
import { readFileSync } from 'node:fs';
import { domainToASCII, domainToUnicode } from 'node:url';

export class PublicSuffixList {
  readonly #rules = new Set<string>();
  readonly #wildcards = new Set<string>(); // "ck" for "*.ck"
  readonly #exceptions = new Set<string>(); // "www.ck" for "!www.ck"

  /** Parses the list's text format: one rule per line, `//` comments, rules end at whitespace. */
  constructor(text: string) {
    for (const line of text.split('\n')) {
      const rule = line.trim().split(/\s/)[0];
      if (!rule || rule.startsWith('//')) continue;
      if (rule.startsWith('!')) this.#exceptions.add(ascii(rule.slice(1)));
      else if (rule.startsWith('*.')) this.#wildcards.add(ascii(rule.slice(2)));
      else this.#rules.add(ascii(rule));
    }
  }

  /** The number of labels of the public suffix of `labels` (lower-case A-labels). */
  #suffixLength(labels: string[]): number {
    let best = 1; // the default rule "*"
    for (let i = 1; i <= labels.length; i++) {
      const suffix = labels.slice(labels.length - i).join('.');
      // An exception rule wins: the public suffix is the rule without its leftmost label.
      if (this.#exceptions.has(suffix)) return i - 1;
      if (this.#rules.has(suffix)) best = Math.max(best, i);
      if (i > 1 && this.#wildcards.has(labels.slice(labels.length - i + 1).join('.'))) best = Math.max(best, i);
    }
    return best;
  }

  /** The registrable domain ("organisational domain") of `domain`, or null when
   * it is itself a public suffix or not a valid name. Unicode input gives a
   * Unicode answer, A-label input an A-label answer. */
  registrableDomain(domain: string | null): string | null {
    if (!domain || domain.startsWith('.') || domain.endsWith('..')) return null;
    const d = domain.replace(/\.$/, '');
    const a = ascii(d);
    if (!a || a.split('.').some((l) => l === '')) return null;
    const labels = a.split('.');
    const n = this.#suffixLength(labels);
    if (labels.length <= n) return null;
    const reg = labels.slice(labels.length - n - 1).join('.');
    return /^[\x00-\x7f]*$/.test(d) ? reg : domainToUnicode(reg);
  }

  /** RFC 7489 §3.2: the organisational domain; a public suffix is its own. */
  orgDomain(domain: string): string {
    return this.registrableDomain(domain) ?? ascii(domain.replace(/\.$/, ''));
  }
}

function ascii(s: string): string {
  const lower = s.toLowerCase();
  return /^[\x00-\x7f]*$/.test(lower) ? lower : domainToASCII(lower);
}

let bundled: PublicSuffixList | null = null;

/** The bundled list (psl/public_suffix_list.dat), parsed on first use. */
export function publicSuffixList(): PublicSuffixList {
  bundled ??= new PublicSuffixList(readFileSync(new URL('./psl/public_suffix_list.dat', import.meta.url), 'utf8'));
  return bundled;
}

/** RFC 7489 §3.1.1 relaxed alignment: the two domains have the same organisational domain. */
export function relaxedAligned(a: string, b: string): boolean {
  const psl = publicSuffixList();
  return psl.orgDomain(a) === psl.orgDomain(b);
}
