// A tolerant, bounded reader of a message for the spam filter: unfolded
// header fields (RFC 5322 §2.2.3), and the text of its MIME parts (RFC 2045
// §6 base64 and quoted-printable, RFC 2046 §5.1 multipart) decoded to
// strings. Pure: no I/O, never throws, and keeps to fixed limits (parts,
// nesting depth, decoded text), so a hostile message costs bounded time.

export interface HeaderField {
  /** Lower-case field name. */
  name: string;
  /** Unfolded value, leading space trimmed. */
  value: string;
}

export interface MessageView {
  headers: HeaderField[];
  /** Decoded text/plain parts. */
  text: string[];
  /** Decoded text/html parts (markup kept). */
  html: string[];
  /** Parts that are neither (attachments, images). */
  otherParts: number;
  /** A limit was hit: the view is partial. */
  truncated: boolean;
}

/** maxInput: only the first MiB is read (like spamc's size limit: spam is small, and a
 * 50 MB attachment must not cost 50 MB of string work on the event loop). */
export const VIEW_LIMITS = { maxInput: 1024 * 1024, maxParts: 64, maxDepth: 8, maxText: 512 * 1024, maxHeaders: 500 } as const;

/** First value of a header field, or undefined. */
export function header(v: MessageView, name: string): string | undefined {
  const n = name.toLowerCase();
  return v.headers.find((h) => h.name === n)?.value;
}

export function headerCount(v: MessageView, name: string): number {
  const n = name.toLowerCase();
  return v.headers.filter((h) => h.name === n).length;
}

/** Splits raw bytes (latin1-decoded so every byte survives) into the header block and the body. */
function splitHead(raw: string): { head: string; body: string } {
  const m = /\r?\n\r?\n/.exec(raw);
  if (!m) return { head: raw, body: '' };
  return { head: raw.slice(0, m.index), body: raw.slice(m.index + m[0].length) };
}

export function parseHeaderBlock(head: string, max: number = VIEW_LIMITS.maxHeaders): HeaderField[] {
  const out: HeaderField[] = [];
  for (const line of head.split(/\r?\n/)) {
    if (/^[ \t]/.test(line) && out.length > 0) {
      // RFC 5322 §2.2.3: unfolding removes the CRLF before whitespace.
      out[out.length - 1].value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!/^[\x21-\x39\x3b-\x7e]+$/.test(name)) continue;
    if (out.length >= max) break;
    out.push({ name, value: line.slice(colon + 1).replace(/^[ \t]+/, '') });
  }
  for (const h of out) h.value = h.value.replace(/\s+$/, '');
  return out;
}

/** Content-Type value → type/subtype (lower case) and parameters. */
export function parseContentType(value: string | undefined): { type: string; params: Record<string, string> } {
  if (!value) return { type: 'text/plain', params: {} };
  const [first, ...rest] = value.split(';');
  const type = first.trim().toLowerCase() || 'text/plain';
  const params: Record<string, string> = {};
  for (const p of rest) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const k = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"')) v = v.slice(1, v.indexOf('"', 1) > 0 ? v.indexOf('"', 1) : undefined);
    if (k) params[k] = v;
  }
  return { type, params };
}

/** RFC 2045 §6.7 quoted-printable → bytes (as a latin1 string). */
export function decodeQuotedPrintable(s: string): string {
  return s.replace(/=\r?\n/g, '').replace(/=([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** Bytes held in a latin1 string → text in `charset` (unknown charsets: latin1). */
export function decodeCharset(bytes: string, charset: string | undefined): string {
  const cs = (charset ?? 'us-ascii').toLowerCase();
  if (cs === 'us-ascii' || cs === 'latin1' || cs === 'iso-8859-1') return bytes;
  try {
    return new TextDecoder(cs, { fatal: false }).decode(Buffer.from(bytes, 'latin1'));
  } catch {
    return bytes;
  }
}

function decodeBody(body: string, encoding: string | undefined): string {
  const enc = (encoding ?? '7bit').trim().toLowerCase();
  if (enc === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64').toString('latin1');
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return body;
}

/** RFC 2047 encoded words in header values (=?charset?B|Q?text?=). */
export function decodeEncodedWords(value: string): string {
  return value.replace(/=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=(\s+(?==\?))?/g, (_m, cs: string, enc: string, text: string) => {
    const bytes = enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('latin1') : decodeQuotedPrintable(text.replace(/_/g, ' '));
    return decodeCharset(bytes, cs);
  });
}

export function viewMessage(content: Buffer | string): MessageView {
  const cut = content.length > VIEW_LIMITS.maxInput;
  const part = cut ? content.slice(0, VIEW_LIMITS.maxInput) : content;
  const raw = typeof part === 'string' ? part : part.toString('latin1');
  const { head, body } = splitHead(raw);
  const view: MessageView = { headers: parseHeaderBlock(head), text: [], html: [], otherParts: 0, truncated: cut };
  for (const h of view.headers) if (h.name === 'subject' || h.name === 'from' || h.name === 'to') h.value = decodeEncodedWords(h.value);
  const state = { parts: 0, textBytes: 0 };
  walk(view, view.headers, body, 0, state);
  return view;
}

function walk(view: MessageView, headers: HeaderField[], body: string, depth: number, state: { parts: number; textBytes: number }): void {
  if (++state.parts > VIEW_LIMITS.maxParts || depth > VIEW_LIMITS.maxDepth) {
    view.truncated = true;
    return;
  }
  const get = (n: string) => headers.find((h) => h.name === n)?.value;
  const ct = parseContentType(get('content-type'));
  if (ct.type.startsWith('multipart/') && ct.params.boundary) {
    const b = '--' + ct.params.boundary;
    // RFC 2046 §5.1.1: the close delimiter ends the parts; the epilogue after it is ignored.
    const close = new RegExp(`(?:^|\\r?\\n)${escapeRe(b)}--`).exec(body);
    const inner = close ? body.slice(0, close.index) : body;
    const pieces = inner.split(new RegExp(`(?:^|\\r?\\n)${escapeRe(b)}[ \\t]*(?=\\r?\\n|$)`));
    // pieces[0] is the preamble.
    for (const piece of pieces.slice(1)) {
      const p = piece.replace(/^\r?\n/, '');
      if (p.trim() === '') continue;
      const split = splitHead(p);
      walk(view, parseHeaderBlock(split.head, 50), split.body, depth + 1, state);
    }
    return;
  }
  if (ct.type === 'message/rfc822') {
    const split = splitHead(body);
    walk(view, parseHeaderBlock(split.head, 100), split.body, depth + 1, state);
    return;
  }
  const disposition = (get('content-disposition') ?? '').toLowerCase();
  const isText = ct.type === 'text/plain' || ct.type === 'text/html';
  if (!isText || disposition.startsWith('attachment')) {
    view.otherParts++;
    return;
  }
  let text = decodeCharset(decodeBody(body, get('content-transfer-encoding')), ct.params.charset);
  const room = VIEW_LIMITS.maxText - state.textBytes;
  if (room <= 0) {
    view.truncated = true;
    return;
  }
  if (text.length > room) {
    text = text.slice(0, room);
    view.truncated = true;
  }
  state.textBytes += text.length;
  (ct.type === 'text/html' ? view.html : view.text).push(text);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** HTML → visible-ish text: scripts/styles dropped, tags removed, common entities decoded. */
/** Drops <script>/<style> elements and comments in one forward pass. (Two
 * regexes with `[\s\S]*?` up to the close rescanned the rest of the part from
 * every open without a close: 256 KiB of `<!--` took 2.5 s.) An open without
 * a close leaves the rest as it is. */
function stripBlocks(html: string): string {
  const lower = html.replace(/[A-Z]+/g, (m) => m.toLowerCase()); // ASCII only: same length, same indices
  const open = /<!--|<(script|style)\b[^<>]*>/g;
  let out = '';
  let i = 0;
  for (;;) {
    open.lastIndex = i;
    const m = open.exec(lower);
    if (!m) break;
    const marker = m[1] ? '</' + m[1] : '-->';
    const close = lower.indexOf(marker, m.index + m[0].length);
    if (close < 0) break;
    out += html.slice(i, m.index) + ' ';
    i = close + marker.length;
    if (m[1]) {
      const gt = lower.indexOf('>', i);
      i = gt < 0 ? lower.length : gt + 1;
    }
  }
  return out + html.slice(i);
}

export function htmlToText(html: string): string {
  return decodeEntities(
    stripBlocks(html)
      .replace(/<br\s*\/?>|<\/p>|<\/div>/gi, '\n')
      // A tag cannot contain `<`: with `[^>]*` every `<` without a `>` rescanned the rest (quadratic).
      .replace(/<[^<>]*>/g, ' '),
  );
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

export function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#[0-9]{1,7}|[a-z]{2,8});/gi, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : ' ';
    }
    return ENTITIES[e.toLowerCase()] ?? m;
  });
}

/** All the text a reader would see: plain parts, and HTML parts turned into text. */
export function visibleText(v: MessageView): string {
  return [...v.text, ...v.html.map(htmlToText)].join('\n');
}
