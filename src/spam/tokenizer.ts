// The classifier's features: words of the subject and visible body text
// (lower-cased, 3–20 characters), plus marked tokens for the sender's domain,
// link hosts and a few header traits. Pure and bounded: at most MAX_TOKENS
// distinct tokens, each at most 40 characters, so the store lookup per
// message is one bounded query. Same input, same tokens, in first-seen order.

import { header, visibleText, type MessageView } from './message-view.ts';
import { baseDomain, extractLinks } from './urls.ts';

export const MAX_TOKENS = 400;
const MAX_TOKEN_LENGTH = 40;
// Letters and digits: ASCII by range, everything from U+00C0 up counted as a
// word character (letters of other scripts; a few symbols too, harmlessly).
// No Unicode property classes: they cost several times more per byte.
const WORD = /[a-z0-9$%'\u00c0-\uffff-]+/g;
/** Only the start of a long body is read for words: enough to classify. */
const MAX_WORD_TEXT = 64 * 1024;

function words(text: string, prefix: string, out: Set<string>): void {
  const t = (text.length > MAX_WORD_TEXT ? text.slice(0, MAX_WORD_TEXT) : text).toLowerCase();
  for (const m of t.matchAll(WORD)) {
    if (out.size >= MAX_TOKENS) return;
    const w = m[0].replace(/^['-]+|['-]+$/g, '');
    if (w.length < 3 || w.length > 20) continue;
    // Long digit runs (order numbers, dates) say nothing general.
    if (/^\d{5,}$/.test(w)) continue;
    out.add(prefix + w);
  }
}

function add(out: Set<string>, t: string): void {
  if (out.size < MAX_TOKENS) out.add(t.slice(0, MAX_TOKEN_LENGTH));
}

/** Domain of an address in a header or envelope (`Name <a@b.example>` → b.example). */
export function addressDomain(value: string | undefined | null): string | null {
  if (!value) return null;
  const m = /@([a-z0-9.-]+\.[a-z0-9-]+)\s*>?\s*$/i.exec(value.trim()) ?? /@([a-z0-9.-]+\.[a-z0-9-]+)/i.exec(value);
  return m ? m[1].toLowerCase().replace(/\.$/, '') : null;
}

export function tokenize(v: MessageView): string[] {
  const out = new Set<string>();
  const fromDomain = addressDomain(header(v, 'from'));
  if (fromDomain) add(out, 'from:' + baseDomain(fromDomain));
  words(header(v, 'subject') ?? '', 'subject:', out);
  for (const l of extractLinks(v)) if (l.host) add(out, 'url:' + baseDomain(l.host));
  if (v.html.length > 0 && v.text.length === 0) add(out, 'trait:html-only');
  if (v.otherParts > 0) add(out, 'trait:attachment');
  words(visibleText(v), '', out);
  return [...out];
}
