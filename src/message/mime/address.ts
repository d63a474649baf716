// Address lists (RFC 5322 §3.4, with the obsolete forms of §4.4): mailboxes,
// name-addr with display names (atoms, quoted strings, RFC 2047 encoded
// words), angle-addr with an obsolete source route ("<@a,@b:user@host>"),
// groups ("name: a, b;"), and comments (skipped; the first comment becomes
// the name when there is no display name, as Dovecot does). Malformed input
// gives a best-effort list, never an error. Each address comes out in the
// IMAP ENVELOPE form (RFC 9051 §7.5.2: name, adl, mailbox, host, with a group
// as a start marker and an end marker) plus its decoded display name. Pure.

import { decodeEncodedWords } from './encoded-word.ts';

export interface Address {
  /** Display name as written (quotes removed, encoded words kept), or null. */
  name: string | null;
  /** Obsolete source route ("@a,@b"), or null. */
  adl: string | null;
  /** Local part; for a group start the group name; null for a group end. */
  mailbox: string | null;
  /** Domain; null marks a group start or end (RFC 9051 §7.5.2), or a missing domain. */
  host: string | null;
  /** "start"/"end" for the group markers. */
  group?: 'start' | 'end';
}

type Tok =
  | { t: 'word'; v: string; raw: string; ws: boolean; quoted: boolean }
  | { t: 'comment'; v: string; ws: boolean }
  | { t: 'sp'; v: string; ws: boolean };

const SPECIALS = '<>@,;:';
const MAX_TOKENS = 20_000;

function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let ws = false;
  while (i < s.length && toks.length < MAX_TOKENS) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      ws = true;
      i++;
      continue;
    }
    if (c === '(') {
      let depth = 0;
      let v = '';
      for (; i < s.length; i++) {
        const d = s[i]!;
        if (d === '\\' && i + 1 < s.length) {
          v += s[++i];
          continue;
        }
        if (d === '(') {
          if (depth++ > 0) v += d;
        } else if (d === ')') {
          if (--depth === 0) {
            i++;
            break;
          }
          v += d;
        } else v += d;
      }
      toks.push({ t: 'comment', v: v.replace(/\s+/g, ' ').trim(), ws });
      ws = true;
      continue;
    }
    if (c === '"') {
      let v = '';
      const start = i;
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        v += s[i];
        i++;
      }
      i++;
      toks.push({ t: 'word', v, raw: s.slice(start, Math.min(i, s.length)), ws, quoted: true });
      ws = false;
      continue;
    }
    if (c === '[') {
      const end = s.indexOf(']', i);
      const stop = end < 0 ? s.length : end + 1;
      const raw = s.slice(i, stop);
      toks.push({ t: 'word', v: raw, raw, ws, quoted: false });
      i = stop;
      ws = false;
      continue;
    }
    if (SPECIALS.indexOf(c) >= 0) {
      toks.push({ t: 'sp', v: c, ws });
      i++;
      ws = false;
      continue;
    }
    let j = i;
    while (j < s.length && ' \t\r\n()"<>@,;:['.indexOf(s[j]!) < 0) j++;
    const raw = s.slice(i, j);
    toks.push({ t: 'word', v: raw, raw, ws, quoted: false });
    i = j;
    ws = false;
  }
  return toks;
}

/** Join words into a phrase: one space where the input had whitespace. */
function phrase(toks: Tok[]): string {
  let out = '';
  for (const t of toks) {
    if (t.t === 'comment') continue;
    if (out !== '' && t.ws) out += ' ';
    out += t.v;
  }
  return out;
}

/** An addr-spec's pieces: the local part as written (quotes kept), dots tight. */
function addrSpec(toks: Tok[]): { mailbox: string | null; host: string | null } {
  let at = -1;
  for (let i = toks.length - 1; i >= 0; i--) {
    const t = toks[i]!;
    if (t.t === 'sp' && t.v === '@') {
      at = i;
      break;
    }
  }
  const text = (ts: Tok[]) =>
    ts
      .filter((t) => t.t !== 'comment')
      .map((t) => (t.t === 'word' ? t.raw : t.v))
      .join('');
  if (at < 0) {
    const m = text(toks);
    return { mailbox: m === '' ? null : m, host: null };
  }
  const local = text(toks.slice(0, at));
  const host = text(toks.slice(at + 1));
  return { mailbox: local === '' ? null : local, host: host === '' ? null : host };
}

function firstComment(toks: Tok[]): string | null {
  for (const t of toks) if (t.t === 'comment' && t.v !== '') return t.v;
  return null;
}

function mailbox(toks: Tok[]): Address | null {
  if (toks.every((t) => t.t === 'comment')) return null;
  const lt = toks.findIndex((t) => t.t === 'sp' && t.v === '<');
  if (lt >= 0) {
    let gt = toks.findIndex((t, i) => i > lt && t.t === 'sp' && t.v === '>');
    if (gt < 0) gt = toks.length;
    let inner = toks.slice(lt + 1, gt);
    let adl: string | null = null;
    // RFC 5322 §4.4 obs-route: "@a,@b:" before the addr-spec.
    const colon = inner.findIndex((t) => t.t === 'sp' && t.v === ':');
    if (colon >= 0 && inner[0]?.t === 'sp' && inner[0].v === '@') {
      adl = inner
        .slice(0, colon)
        .map((t) => (t.t === 'word' ? t.raw : t.t === 'sp' ? t.v : ''))
        .join('');
      inner = inner.slice(colon + 1);
    }
    const spec = addrSpec(inner);
    const before = toks.slice(0, lt);
    let name: string | null = phrase(before);
    // A phrase after the angle-addr (not RFC 5322, seen in the wild).
    if (name === '') name = phrase(toks.slice(gt + 1));
    // A comment before or after the angle-addr may serve as the name; one
    // inside the address (RFC 5322 CFWS around the parts) does not.
    if (name === '') name = firstComment(before) ?? firstComment(toks.slice(gt + 1));
    if (name === '') name = null;
    if (spec.mailbox === null && spec.host === null && name === null) return null;
    return { name, adl, mailbox: spec.mailbox, host: spec.host };
  }
  const spec = addrSpec(toks);
  if (spec.mailbox === null && spec.host === null) return null;
  return { name: firstComment(toks), adl: null, mailbox: spec.mailbox, host: spec.host };
}

/** Parse an address-list field value (unfolded). `max` bounds the number of addresses. */
export function parseAddressList(value: string, max = 1000): Address[] {
  const toks = tokenize(value);
  const out: Address[] = [];
  let cur: Tok[] = [];
  let inGroup = false;
  let inAngle = false;
  const flush = () => {
    const a = mailbox(cur);
    if (a !== null && out.length < max) out.push(a);
    cur = [];
  };
  for (const t of toks) {
    if (t.t === 'sp') {
      if (t.v === '<') inAngle = true;
      else if (t.v === '>') inAngle = false;
      else if (!inAngle && t.v === ',') {
        flush();
        continue;
      } else if (!inAngle && t.v === ';') {
        flush();
        if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null, group: 'end' });
        inGroup = false;
        continue;
      } else if (!inAngle && t.v === ':' && !inGroup) {
        const name = phrase(cur);
        if (out.length < max) out.push({ name: null, adl: null, mailbox: name, host: null, group: 'start' });
        inGroup = true;
        cur = [];
        continue;
      }
    }
    cur.push(t);
  }
  flush();
  if (inGroup) out.push({ name: null, adl: null, mailbox: null, host: null, group: 'end' });
  return out;
}

/** The display name decoded (RFC 2047), or null. */
export function decodedName(a: Address): string | null {
  return a.name === null ? null : decodeEncodedWords(a.name);
}

/** "local@host" (or what there is of it). */
export function addressString(a: Address): string {
  if (a.group !== undefined) return '';
  if (a.host === null) return a.mailbox ?? '';
  return `${a.mailbox ?? ''}@${a.host}`;
}

/** Decoded text of an address list for SEARCH: "Name <local@host>, group: …". */
export function addressListText(list: Address[]): string {
  const parts: string[] = [];
  for (const a of list) {
    if (a.group === 'start') parts.push(decodeEncodedWords(a.mailbox ?? '') + ':');
    else if (a.group === 'end') parts.push(';');
    else {
      const n = decodedName(a);
      parts.push(n === null ? addressString(a) : `${n} <${addressString(a)}>`);
    }
  }
  return parts.join(', ');
}
