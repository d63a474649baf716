// The explainable half of the spam score: named rules, each with its points
// and a one-line reason, evaluated over a parsed message and what the
// session learnt about it (SPF/DKIM/DMARC results, listed link domains).
// Pure. The names and points are what X-Spam-Status shows the user, so a
// message's treatment can always be traced to the rules that fired.

import { header, headerCount, htmlToText, visibleText, type MessageView } from './message-view.ts';
import { addressDomain } from './tokenizer.ts';
import { baseDomain, extractLinks, hostInText, isIpHost } from './urls.ts';

export interface RuleHit {
  /** UPPER_SNAKE name, shown in X-Spam-Status. */
  name: string;
  points: number;
  /** Why it fired, for logs and the CLI. */
  reason: string;
}

/** Sender-authentication outcomes as the policy pipeline reports them (RFC 7208 §2.6, RFC 6376 §6.1, RFC 7489 §6.6). */
export interface AuthResults {
  spf?: string;
  dkim?: string;
  dmarc?: string;
}

export interface RuleInput {
  view: MessageView;
  /** Envelope sender (MAIL FROM), null for <>. */
  envelopeFrom: string | null;
  auth?: AuthResults;
  now: Date;
}

/** Points of each rule, one place (see docs in the table below). */
export const POINTS = {
  MISSING_MESSAGE_ID: 1.0,
  MALFORMED_MESSAGE_ID: 1.5,
  MISSING_DATE: 1.0,
  MALFORMED_DATE: 1.5,
  DATE_IN_FUTURE: 1.5,
  MISSING_FROM: 2.0,
  MALFORMED_FROM: 1.5,
  MULTIPLE_FROM: 1.5,
  FROM_RETURN_PATH_MISMATCH: 0.5, // not for mailing lists (they rewrite the envelope sender)
  MISSING_SUBJECT: 0.5,
  SPF_FAIL: 2.0,
  SPF_SOFTFAIL: 1.0,
  SPF_PASS: -0.2,
  DKIM_FAIL: 1.5,
  DKIM_PASS: -0.5,
  DMARC_FAIL: 3.0,
  DMARC_PASS: -0.5,
  HTML_ONLY: 1.5,
  HIDDEN_TEXT: 2.0,
  URL_IP_HOST: 2.5,
  URL_USERINFO: 2.5,
  URL_TEXT_MISMATCH: 1.0, // newsletters' click-tracking links do this too
  URL_SHORTENER: 0.5,
  SUBJECT_ALL_CAPS: 1.5,
  BODY_EXCESS_CAPS: 2.0,
  SUBJECT_EXCLAMATIONS: 1.5,
  SPAM_PHRASES: 1.5, // per strong phrase (0.5 per weak one), capped at SPAM_PHRASES_MAX
  SPAM_PHRASES_MAX: 6.0,
} as const;

/** Classic spam phrases (case-insensitive, whole words) and their points:
 * strong ones are rare in legitimate mail, weak ones (marketing language that
 * newsletters use too) count little. Measured on the SpamAssassin corpus. */
export const SPAM_PHRASES: ReadonlyMap<string, number> = new Map([
  ...['free money', 'click here now', 'you have been selected', 'you are a winner', 'claim your prize', 'make money fast', 'double your income', 'viagra', 'cialis', 'lottery winner', 'unclaimed funds', 'verify your account', 'account suspended', 'miracle cure', 'lose weight fast', 'cheap meds', 'million dollars', 'crypto investment', 'no credit check', 'urgent response'].map((p) => [p, 1.5] as const),
  ...['click here', 'act now', '100% free', 'risk free', 'risk-free', 'limited time offer', 'earn money from home', 'work from home', 'wire transfer', 'dear friend', 'buy now', 'order now', 'special promotion', 'best price', 'guaranteed', 'no obligation'].map((p) => [p, 0.5] as const),
]);

/** One pass over the text for every phrase (then each candidate is checked for whole words). */
const PHRASE_RE = new RegExp(`(${[...SPAM_PHRASES.keys()].sort((a, b) => b.length - a.length).map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'g');

const SHORTENERS = new Set(['bit.ly', 'tinyurl.com', 'goo.gl', 't.co', 'ow.ly', 'is.gd', 'buff.ly', 'rebrand.ly', 'cutt.ly', 'shorturl.at']);

// RFC 5322 §3.6.4: msg-id = "<" id-left "@" id-right ">".
const MSG_ID = /^\s*<[^<>@\s]+@[^<>@\s]+>\s*$/;
// RFC 5322 §3.4: an addr-spec somewhere in the field.
const HAS_ADDR = /[^\s<>@,;:"]+@[^\s<>@,;:"]+\.[^\s<>@,;:"]+/;

function hit(out: RuleHit[], name: keyof typeof POINTS, reason: string, points?: number): void {
  out.push({ name, points: points ?? POINTS[name], reason });
}

/** Share of capital letters, over the first 64 KiB (enough to judge, bounded
 * cost). ASCII by char code (fast); other letters by Unicode case. */
function capsRatio(text: string): { letters: number; ratio: number } {
  const n = Math.min(text.length, 65536);
  let letters = 0;
  let upper = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      letters++;
      upper++;
    } else if (c >= 97 && c <= 122) letters++;
    else if (c >= 0xc0) {
      const ch = text[i];
      const lo = ch.toLowerCase();
      const up = ch.toUpperCase();
      if (lo !== up) {
        letters++;
        if (ch === up) upper++;
      }
    }
  }
  return { letters, ratio: letters ? upper / letters : 0 };
}

export function evaluateRules(input: RuleInput): RuleHit[] {
  const { view: v } = input;
  const out: RuleHit[] = [];

  // Header hygiene (RFC 5322 §3.6: Date and From are required; Message-ID should be there).
  const mid = header(v, 'message-id');
  if (mid === undefined) hit(out, 'MISSING_MESSAGE_ID', 'no Message-ID header');
  else if (!MSG_ID.test(mid)) hit(out, 'MALFORMED_MESSAGE_ID', 'Message-ID is not <left@right>');
  const date = header(v, 'date');
  if (date === undefined) hit(out, 'MISSING_DATE', 'no Date header');
  else {
    const t = Date.parse(date.replace(/\s*\([^)]*\)\s*$/, ''));
    if (Number.isNaN(t)) hit(out, 'MALFORMED_DATE', 'Date header cannot be read');
    else if (t - input.now.getTime() > 24 * 3600_000) hit(out, 'DATE_IN_FUTURE', 'Date is more than a day ahead');
  }
  const from = header(v, 'from');
  if (from === undefined) hit(out, 'MISSING_FROM', 'no From header');
  else if (!HAS_ADDR.test(from)) hit(out, 'MALFORMED_FROM', 'From has no readable address');
  if (headerCount(v, 'from') > 1) hit(out, 'MULTIPLE_FROM', 'more than one From header');
  const fromDomain = addressDomain(from);
  const envDomain = addressDomain(input.envelopeFrom);
  // Mailing lists (RFC 2369 List-* fields, Precedence: list/bulk) send with their own envelope sender.
  const isList = ['list-id', 'list-post', 'list-unsubscribe', 'mailing-list'].some((n) => header(v, n) !== undefined) || /^\s*(list|bulk)\b/i.test(header(v, 'precedence') ?? '');
  if (fromDomain && envDomain && !isList && baseDomain(fromDomain) !== baseDomain(envDomain)) {
    hit(out, 'FROM_RETURN_PATH_MISMATCH', `From domain ${fromDomain} differs from envelope sender domain ${envDomain}`);
  }
  const subject = header(v, 'subject');
  if (subject === undefined || subject.trim() === '') hit(out, 'MISSING_SUBJECT', 'no Subject');
  else {
    const caps = capsRatio(subject);
    if (caps.letters >= 10 && caps.ratio > 0.8) hit(out, 'SUBJECT_ALL_CAPS', 'Subject is in capitals');
    if (/!{2,}|(!.*){3,}/.test(subject)) hit(out, 'SUBJECT_EXCLAMATIONS', 'Subject has several exclamation marks');
  }

  // Sender authentication, as reported by the SPF/DKIM/DMARC hooks.
  const a = input.auth ?? {};
  if (a.spf === 'fail') hit(out, 'SPF_FAIL', 'SPF: the client may not send for the sender domain');
  else if (a.spf === 'softfail') hit(out, 'SPF_SOFTFAIL', 'SPF: the client is probably not allowed to send for the sender domain');
  else if (a.spf === 'pass') hit(out, 'SPF_PASS', 'SPF pass');
  if (a.dkim === 'fail') hit(out, 'DKIM_FAIL', 'DKIM signature does not verify');
  else if (a.dkim === 'pass') hit(out, 'DKIM_PASS', 'valid DKIM signature');
  if (a.dmarc === 'fail') hit(out, 'DMARC_FAIL', 'DMARC: From domain not aligned with a passing SPF or DKIM');
  else if (a.dmarc === 'pass') hit(out, 'DMARC_PASS', 'DMARC pass');

  // Body structure.
  if (v.html.length > 0 && v.text.length === 0) hit(out, 'HTML_ONLY', 'HTML without a plain-text part');
  if (v.html.some(hasHiddenText)) hit(out, 'HIDDEN_TEXT', 'HTML hides text (display:none, zero size, or invisible colour)');

  // Links.
  const links = extractLinks(v);
  const ipLink = links.find((l) => l.host && isIpHost(l.host));
  if (ipLink) hit(out, 'URL_IP_HOST', `link to a bare IP address (${ipLink.host})`);
  const uiLink = links.find((l) => l.userinfo);
  if (uiLink) hit(out, 'URL_USERINFO', `link with a fake host before "@" (real host ${uiLink.host})`);
  const mismatch = links.find((l) => {
    if (!l.text || !l.host) return false;
    const shown = hostInText(l.text);
    return shown !== null && baseDomain(shown) !== baseDomain(l.host);
  });
  if (mismatch) hit(out, 'URL_TEXT_MISMATCH', `link text shows ${hostInText(mismatch.text!)} but goes to ${mismatch.host}`);
  const short = links.find((l) => SHORTENERS.has(baseDomain(l.host)));
  if (short) hit(out, 'URL_SHORTENER', `link through a URL shortener (${short.host})`);

  // Text.
  const body = visibleText(v);
  const caps = capsRatio(body);
  if (caps.letters >= 40 && caps.ratio > 0.5) hit(out, 'BODY_EXCESS_CAPS', `${Math.round(caps.ratio * 100)}% of the letters are capitals`);
  const hay = ` ${(subject ?? '') + ' ' + body} `.toLowerCase().replace(/\s+/g, ' ');
  const phrases = [...new Set(Array.from(hay.matchAll(PHRASE_RE), (m) => m[1]))].filter((p) => containsPhrase(hay, p));
  // "click here now" also contains "click here": count the longer one only.
  const distinct = phrases.filter((p) => !phrases.some((q) => q !== p && q.includes(p)));
  if (distinct.length > 0) {
    const points = Math.min(POINTS.SPAM_PHRASES_MAX, Math.round(distinct.reduce((n, p) => n + SPAM_PHRASES.get(p)!, 0) * 10) / 10);
    hit(out, 'SPAM_PHRASES', `spam phrases: ${distinct.map((p) => `"${p}"`).join(', ')}`, points);
  }
  return out;
}

function containsPhrase(hay: string, phrase: string): boolean {
  let i = hay.indexOf(phrase);
  while (i >= 0) {
    const before = hay[i - 1] ?? ' ';
    const after = hay[i + phrase.length] ?? ' ';
    if (!/[\p{L}\p{N}]/u.test(before) && !/[\p{L}\p{N}]/u.test(after)) return true;
    i = hay.indexOf(phrase, i + 1);
  }
  return false;
}

/** Text styled to be invisible but still read by filters (a classic trick):
 * display:none, visibility:hidden, a zero or one-pixel font, opacity 0, or
 * white text on an explicitly white background. White text alone is not
 * counted: newsletters put it on coloured table cells (bgcolor). */
// An opening tag cannot contain `<` or `>`, so each scan stops at the next tag
// and a part is read once; the element's text is looked for in the 2,000
// characters after its tag. (One regex with `[^>]*` before and after the style
// attribute rescanned the rest of the part from every `<b`: 256 KiB of `<b `
// held the event loop for minutes.)
const STYLED_OPEN = /<([a-z][a-z0-9]*)\s[^<>]{0,4000}>/gi;
const STYLE_ATTR = /(?:^|[\s"'])style\s*=\s*["']([^"']*)["']/i;
const closeTags = new Map<string, RegExp>();

export function hasHiddenText(html: string): boolean {
  for (const m of html.matchAll(STYLED_OPEN)) {
    const attr = STYLE_ATTR.exec(m[0].slice(m[1].length + 1, -1));
    if (!attr) continue;
    const name = m[1].toLowerCase();
    let close = closeTags.get(name);
    if (!close) closeTags.set(name, (close = new RegExp(`</${name}(?![a-z0-9])`, 'i')));
    const start = m.index + m[0].length;
    const window = html.slice(start, start + 2000 + name.length + 2);
    const end = window.search(close);
    if (end < 0) continue;
    const style = attr[1].toLowerCase().replace(/\s+/g, '');
    const text = htmlToText(window.slice(0, end)).trim();
    if (text.length < 3) continue;
    if (/display:none|visibility:hidden|font-size:[01](px|pt)?(;|$)|font-size:0(\.\d+)?em|opacity:0(;|$)/.test(style)) return true;
    const white = '(#fff(?:fff)?|white)\\b';
    if (new RegExp(`(?:^|;)color:${white}`).test(style) && new RegExp(`background(?:-color)?:${white}`).test(style)) return true;
  }
  return false;
}
