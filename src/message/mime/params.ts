// Content-Type and Content-Disposition values (RFC 2045 §5.1, RFC 2183 §2):
// "type/subtype" or a disposition type, then ";"-separated parameters with
// token or quoted-string values, comments skipped. RFC 2231 parameter value
// continuations ("name*0", "name*1*") are joined and "charset'lang'%XX"
// values decoded (§3, §4); RFC 2047 encoded words inside a value (common, not
// standard) are decoded too. Two forms come out: `params` for IMAP
// BODYSTRUCTURE (names lowercased, continuations joined, an extended value
// kept as "name*" = "charset'lang'%XX..." for the client to decode, the way
// Dovecot sends it), and `decoded` (plain name → Unicode value). Lenient
// about missing ";" and stray spaces; never throws.

import { decodeCharset, bytesToText } from './charset.ts';
import { decodeEncodedWords } from './encoded-word.ts';

export type Param = [name: string, value: string];

export interface ParsedValue {
  /** Lowercased type (or disposition type); '' when missing. */
  type: string;
  /** Lowercased subtype; null when there was no "/subtype". */
  subtype: string | null;
  /** Parameters for BODYSTRUCTURE (see the file comment). */
  params: Param[];
  /** Parameters decoded to Unicode, names lowercased, RFC 2231 "-language" dropped. */
  decoded: Param[];
}

const MAX_PARAMS = 64;

function skipCfws(s: string, i: number): number {
  for (;;) {
    while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\r' || s[i] === '\n')) i++;
    if (s[i] !== '(') return i;
    let depth = 0;
    for (; i < s.length; i++) {
      const c = s[i];
      if (c === '\\') i++;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) {
        i++;
        break;
      }
    }
  }
}

function readUntil(s: string, i: number, stop: string): number {
  while (i < s.length && stop.indexOf(s[i]!) < 0) i++;
  return i;
}

interface RawParam {
  name: string;
  value: string;
}

function parseRaw(s: string): { type: string; subtype: string | null; raw: RawParam[] } {
  let i = skipCfws(s, 0);
  let j = readUntil(s, i, '/; \t\r\n(');
  const type = s.slice(i, j).toLowerCase();
  i = skipCfws(s, j);
  let subtype: string | null = null;
  if (s[i] === '/') {
    i = skipCfws(s, i + 1);
    j = readUntil(s, i, '; \t\r\n(');
    subtype = s.slice(i, j).toLowerCase() || null;
    i = j;
  }
  const raw: RawParam[] = [];
  while (i < s.length && raw.length < MAX_PARAMS * 4) {
    i = skipCfws(s, i);
    if (s[i] === ';') {
      i++;
      continue;
    }
    if (i >= s.length) break;
    j = readUntil(s, i, '=; \t\r\n(');
    const name = s.slice(i, j).toLowerCase();
    i = skipCfws(s, j);
    if (s[i] !== '=') {
      i = readUntil(s, i, ';');
      continue;
    }
    i = skipCfws(s, i + 1);
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i];
        i++;
      }
      i++;
    } else {
      j = readUntil(s, i, '; \t\r\n(');
      value = s.slice(i, j);
      i = j;
      // A value with unquoted spaces ("name=my file.pdf"): what runs up to the
      // next ";" belongs to it unless it looks like another parameter.
      const k = readUntil(s, i, ';');
      const rest = s.slice(i, k);
      if (rest.trim() !== '' && rest.indexOf('=') < 0 && rest.indexOf('(') < 0) {
        value += rest.replace(/\s+$/, '');
        i = k;
      }
    }
    if (name !== '' && value !== '') raw.push({ name, value });
  }
  return { type, subtype, raw };
}

function percentDecode(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
      out.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (c < 0x80) out.push(c);
    else for (const b of Buffer.from(s[i]!, 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}

// RFC 2231 §7 attribute-char: what may stay unescaped in an extended value.
function percentEncode(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const ch = String.fromCharCode(b);
    out += b > 0x20 && b < 0x7f && !/[*'%()<>@,;:\\"/[\]?=]/.test(ch) ? ch : '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

interface Section {
  n: number;
  ext: boolean;
  value: string;
}

/** Parse a Content-Type or Content-Disposition field value (unfolded). */
export function parseParamValue(value: string): ParsedValue {
  const { type, subtype, raw } = parseRaw(value);
  // Group RFC 2231 sections by their base name, in order of first appearance.
  const order: string[] = [];
  const groups = new Map<string, { plain: string | null; sections: Section[] }>();
  for (const p of raw) {
    const m = /^(.+?)(?:\*(\d{1,4}))?(\*)?$/.exec(p.name);
    const base = m ? m[1]! : p.name;
    const sectioned = m !== null && (m[2] !== undefined || m[3] !== undefined);
    let g = groups.get(base);
    if (g === undefined) {
      if (groups.size >= MAX_PARAMS) continue;
      g = { plain: null, sections: [] };
      groups.set(base, g);
      order.push(base);
    }
    if (!sectioned) {
      if (g.plain === null) g.plain = p.value;
    } else {
      const n = m![2] === undefined ? 0 : Number(m![2]);
      if (!g.sections.some((s) => s.n === n)) g.sections.push({ n, ext: m![3] !== undefined, value: p.value });
    }
  }
  const params: Param[] = [];
  const decoded: Param[] = [];
  for (const base of order) {
    const g = groups.get(base)!;
    if (g.sections.length === 0) {
      params.push([base, g.plain!]);
      decoded.push([base, decodeEncodedWords(g.plain!)]);
      continue;
    }
    g.sections.sort((a, b) => a.n - b.n);
    // Join the sections in order, stopping at a gap (RFC 2231 §3).
    const secs: Section[] = [];
    for (const s of g.sections) {
      if (s.n !== secs.length) break;
      secs.push(s);
    }
    if (secs.length === 0) secs.push(g.sections[0]!);
    const anyExt = secs.some((s) => s.ext);
    if (!anyExt) {
      const joined = secs.map((s) => s.value).join('');
      params.push([base, joined]);
      decoded.push([base, decodeEncodedWords(joined)]);
      continue;
    }
    let charset = '';
    let lang = '';
    const pieces: { ext: boolean; text: string }[] = [];
    secs.forEach((s, idx) => {
      let text = s.value;
      if (idx === 0 && s.ext) {
        const q1 = text.indexOf("'");
        const q2 = q1 < 0 ? -1 : text.indexOf("'", q1 + 1);
        if (q2 >= 0) {
          charset = text.slice(0, q1);
          lang = text.slice(q1 + 1, q2);
          text = text.slice(q2 + 1);
        }
      }
      pieces.push({ ext: s.ext, text });
    });
    const imapValue = `${charset}'${lang}'` + pieces.map((p) => (p.ext ? p.text : percentEncode(p.text))).join('');
    params.push([base + '*', imapValue]);
    const bytes = Buffer.concat(pieces.map((p) => (p.ext ? percentDecode(p.text) : Buffer.from(p.text, 'utf8'))));
    const text = (charset !== '' ? decodeCharset(bytes, charset) : null) ?? bytesToText(bytes);
    decoded.push([base, text]);
    if (g.plain !== null) params.push([base, g.plain]);
  }
  return { type, subtype, params, decoded };
}

/** The decoded value of a parameter, or null. */
export function paramValue(p: ParsedValue | { decoded: Param[] }, name: string): string | null {
  for (const [n, v] of p.decoded) if (n === name) return v;
  return null;
}
