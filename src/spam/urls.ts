// Links in a message body, for the URL rules (IP hosts, userinfo tricks,
// link text naming another domain) and the URI blocklists. Pure and bounded:
// at most MAX_URLS links are returned. Hosts are lower-cased; IDNs stay as
// written (punycode hosts start with xn--).

import { isIP } from 'node:net';
import { decodeEntities, type MessageView } from './message-view.ts';

export interface Link {
  url: string;
  /** Lower-case host, '' if none could be read. */
  host: string;
  /** The URL had user info before the host (`http://bank.example@evil.example/`). */
  userinfo: boolean;
  /** For HTML anchors: the visible text of the link. */
  text?: string;
}

export const MAX_URLS = 100;

const URL_IN_TEXT = /\bhttps?:\/\/[^\s"'<>()\[\]{}]+/gi;
// An anchor's opening tag cannot contain `<` or `>`, so each scan stops at the
// next tag and the whole part is read once. (A single regex over the anchor and
// its text, with `[\s\S]*?` up to `</a>`, rescanned the rest of the part from
// every `<a` without a close: 1 MiB of `<a href="` took minutes.)
const A_OPEN = /<a\s[^<>]{0,4000}>/gi;
const A_CLOSE = /<\/a\s*>/gi;
const HREF = /(?:^|[\s"'])href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))/i;
/** Link text longer than this is cut (it only feeds the "text names another host" rule). */
const MAX_LINK_TEXT = 4000;

/** The anchors of an HTML part: href and the text up to `</a>` (or the next `<a`). Linear in the part. */
export function htmlAnchors(html: string): { href: string; text: string }[] {
  const opens: { start: number; end: number; tag: string }[] = [];
  for (const m of html.matchAll(A_OPEN)) opens.push({ start: m.index, end: m.index + m[0].length, tag: m[0] });
  const closes: number[] = [];
  for (const m of html.matchAll(A_CLOSE)) closes.push(m.index);
  const out: { href: string; text: string }[] = [];
  let c = 0;
  for (let i = 0; i < opens.length; i++) {
    const o = opens[i];
    const h = HREF.exec(o.tag.slice(2, -1));
    if (!h) continue;
    while (c < closes.length && closes[c] < o.end) c++;
    const stop = Math.min(c < closes.length ? closes[c] : html.length, i + 1 < opens.length ? opens[i + 1].start : html.length, o.end + MAX_LINK_TEXT);
    out.push({ href: h[1] ?? h[2] ?? h[3] ?? '', text: html.slice(o.end, stop) });
  }
  return out;
}

/** Parses the authority of an http(s) URL by hand (WHATWG URL would hide the tricks we look for). */
export function parseLink(url: string): Link {
  const m = /^[a-z][a-z0-9+.-]*:\/\/([^/?#]*)/i.exec(url.trim());
  if (!m) return { url, host: '', userinfo: false };
  let authority = m[1];
  const at = authority.lastIndexOf('@');
  const userinfo = at >= 0;
  if (userinfo) authority = authority.slice(at + 1);
  let host = authority;
  if (host.startsWith('[')) host = host.slice(1, host.indexOf(']') > 0 ? host.indexOf(']') : undefined);
  else host = host.replace(/:\d*$/, '');
  return { url, host: host.toLowerCase().replace(/\.$/, ''), userinfo };
}

export function extractLinks(v: MessageView): Link[] {
  const out: Link[] = [];
  const seen = new Set<string>();
  const add = (l: Link) => {
    if (out.length >= MAX_URLS) return;
    const k = l.url + '\0' + (l.text ?? '');
    if (seen.has(k)) return;
    seen.add(k);
    out.push(l);
  };
  for (const h of v.html) {
    for (const a of htmlAnchors(h)) {
      const href = decodeEntities(a.href);
      if (!/^https?:/i.test(href)) continue;
      const text = decodeEntities(a.text.replace(/<[^<>]*>/g, ' ')).replace(/\s+/g, ' ').trim();
      add({ ...parseLink(href), text });
      if (out.length >= MAX_URLS) return out;
    }
  }
  for (const t of [...v.text, ...v.html]) {
    for (const m of t.matchAll(URL_IN_TEXT)) {
      add(parseLink(m[0].replace(/[.,;:!?]+$/, '')));
      if (out.length >= MAX_URLS) return out;
    }
  }
  return out;
}

export function isIpHost(host: string): boolean {
  return isIP(host) !== 0 || /^\d+$/.test(host) || /^0x[0-9a-f]+$/i.test(host);
}

/** The registrable-looking part of a host name: its last two labels (three
 * when the second-to-last is a short public suffix part such as co.uk). A
 * heuristic; the spam rules only compare such domains. */
export function baseDomain(host: string): string {
  const labels = host.toLowerCase().replace(/\.$/, '').split('.').filter(Boolean);
  if (labels.length <= 2) return labels.join('.');
  const n = labels.length;
  const secondLevel = /^(co|com|net|org|gov|ac|edu|ne|or)$/.test(labels[n - 2]) && labels[n - 1].length === 2;
  return labels.slice(secondLevel ? n - 3 : n - 2).join('.');
}

/** A host name written in link text, e.g. "www.paypal.com" or "https://paypal.com/login". */
export function hostInText(text: string): string | null {
  const m = /^(?:https?:\/\/)?((?:[a-z0-9-]+\.)+[a-z]{2,})(?:[/:?#]\S*)?$/i.exec(text.trim());
  return m ? m[1].toLowerCase() : null;
}
