// A small, lenient MIME walker and an RFC 3464 delivery-status parser and
// validator. Pure: bytes in, values out; it never throws on any input, keeps
// its own depth and count limits, and is used both to read other MTAs' bounces
// (the conformance corpus) and to check the DSNs we generate ourselves
// (`buildDsn` in dsn.ts). Bodies are handled as "binary strings" (latin1, one
// char per octet) so no byte is lost before a part is decoded.

/** One header field as it appeared: name as written, value with folding kept. */
export interface HeaderField {
  name: string;
  /** The raw value after the colon, folding CRLFs kept (see `unfold`). */
  value: string;
}

export interface MimePart {
  headers: HeaderField[];
  /** Lower-cased `type/subtype`; RFC 2045 §5.2 default text/plain (message/rfc822 inside multipart/digest). */
  type: string;
  params: Record<string, string>;
  /** The raw body (transfer-encoded), as a binary string. */
  body: string;
  /** Children of a multipart. */
  parts: MimePart[];
  /** The encapsulated message of message/rfc822 and message/global. */
  message: MimePart | null;
  /** True when depth or part limits stopped the walk below this part. */
  truncated: boolean;
}

export interface MimeLimits {
  maxDepth: number;
  maxParts: number;
  maxHeaderFields: number;
}

export const DEFAULT_MIME_LIMITS: MimeLimits = { maxDepth: 32, maxParts: 5000, maxHeaderFields: 2000 };

/** RFC 5322 §2.2 / §2.2.3: remove folding (CRLF or LF before WSP), trim the ends. */
export function unfold(value: string): string {
  return trimWsp(value.replace(/\r?\n(?=[ \t])/g, '').replace(/\r?\n/g, ' '));
}

/** Trims RFC 5234 WSP only (String.prototype.trim would also eat Unicode spaces that are content). */
export function trimWsp(s: string): string {
  return s.replace(/^[ \t]+|[ \t]+$/g, '');
}

export function headerValue(headers: HeaderField[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const h of headers) if (h.name.toLowerCase() === lower) return unfold(h.value);
  return null;
}

/** Parses a whole message (or a body part); never throws. */
export function parseMime(input: Buffer | Uint8Array | string, limits: Partial<MimeLimits> = {}): MimePart {
  const lim = { ...DEFAULT_MIME_LIMITS, ...limits };
  let s: string;
  try {
    s = typeof input === 'string' ? input : Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('latin1');
  } catch {
    s = '';
  }
  const ctx = { lim, parts: 0 };
  try {
    return parseEntity(s, 0, 'text/plain', true, ctx);
  } catch {
    // Defensive: nothing below is expected to throw, but the contract is "never".
    return emptyPart(s);
  }
}

function emptyPart(body: string): MimePart {
  return { headers: [], type: 'text/plain', params: {}, body, parts: [], message: null, truncated: true };
}

interface WalkCtx {
  lim: MimeLimits;
  parts: number;
}

function parseEntity(s: string, depth: number, defaultType: string, top: boolean, ctx: WalkCtx): MimePart {
  ctx.parts++;
  const { fields, bodyStart } = splitHeaders(s, top, ctx.lim.maxHeaderFields);
  const body = s.slice(bodyStart);
  const ctRaw = headerValue(fields, 'content-type');
  let type = defaultType;
  let params: Record<string, string> = {};
  if (ctRaw !== null) {
    const ct = parseContentType(ctRaw);
    if (ct.type) {
      type = ct.type;
      params = ct.params;
    }
  }
  const part: MimePart = { headers: fields, type, params, body, parts: [], message: null, truncated: false };
  if (depth >= ctx.lim.maxDepth) {
    part.truncated = true;
    return part;
  }
  if (type.startsWith('multipart/') && params.boundary) {
    const childDefault = type === 'multipart/digest' ? 'message/rfc822' : 'text/plain';
    for (const chunk of splitMultipart(body, params.boundary)) {
      if (ctx.parts >= ctx.lim.maxParts) {
        part.truncated = true;
        break;
      }
      part.parts.push(parseEntity(chunk, depth + 1, childDefault, false, ctx));
    }
  } else if (type === 'message/rfc822' || type === 'message/global') {
    if (ctx.parts >= ctx.lim.maxParts) part.truncated = true;
    else {
      // RFC 2046 §5.2.1 allows only 7bit/8bit/binary here; real bounces sometimes base64 it anyway.
      const inner = decodeTransfer(body, headerValue(fields, 'content-transfer-encoding')).toString('latin1');
      part.message = parseEntity(inner, depth + 1, 'text/plain', false, ctx);
    }
  }
  return part;
}

const FIELD_NAME = /^([!-9;-~]+)[ \t]*:/;

/** RFC 5322 §2.2 header section up to the first empty line. Lenient: a line that is not a field ends the header. */
function splitHeaders(s: string, top: boolean, maxFields: number): { fields: HeaderField[]; bodyStart: number } {
  const fields: HeaderField[] = [];
  let pos = 0;
  // An mbox "From " separator line before the first field.
  if (top && s.startsWith('From ')) {
    const nl = s.indexOf('\n');
    pos = nl < 0 ? s.length : nl + 1;
  }
  let last: HeaderField | null = null;
  while (pos < s.length) {
    const nl = s.indexOf('\n', pos);
    const end = nl < 0 ? s.length : nl;
    let line = s.slice(pos, end);
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const next = nl < 0 ? s.length : nl + 1;
    if (/^[ \t]*$/.test(line)) return { fields, bodyStart: next };
    if ((line[0] === ' ' || line[0] === '\t') && last) {
      last.value += '\r\n' + line;
      pos = next;
      continue;
    }
    const m = FIELD_NAME.exec(line);
    if (!m) return { fields, bodyStart: pos };
    if (fields.length < maxFields) {
      last = { name: m[1], value: line.slice(m[0].length) };
      fields.push(last);
    } else last = null;
    pos = next;
  }
  return { fields, bodyStart: s.length };
}

/**
 * RFC 2046 §5.1.1: body parts sit between delimiter lines `--boundary`; the
 * line break before a delimiter belongs to it; `--boundary--` closes. Lenient:
 * trailing text after the closing `--` is tolerated, a missing close delimiter
 * ends the last part at the end of the body.
 */
function splitMultipart(s: string, boundary: string): string[] {
  const delim = '--' + boundary;
  const parts: string[] = [];
  let start = -1;
  let from = 0;
  while (from <= s.length) {
    const i = s.indexOf(delim, from);
    if (i < 0) break;
    from = i + delim.length;
    if (i !== 0 && s.charCodeAt(i - 1) !== 10) continue;
    const nl = s.indexOf('\n', from);
    const lineEnd = nl < 0 ? s.length : nl;
    const rest = s.slice(from, lineEnd);
    const close = rest.startsWith('--');
    if (!close && rest.trim() !== '') continue;
    if (start >= 0) {
      let end = i;
      if (end > start && s.charCodeAt(end - 1) === 10) end--;
      if (end > start && s.charCodeAt(end - 1) === 13) end--;
      parts.push(s.slice(start, end));
    }
    if (close) return parts;
    start = nl < 0 ? s.length : nl + 1;
    from = start;
  }
  if (start >= 0) parts.push(s.slice(start));
  return parts;
}

/** RFC 2045 §5.1 Content-Type with RFC 2231 parameter continuations; comments removed. */
export function parseContentType(value: string): { type: string; params: Record<string, string> } {
  const items = splitParams(value);
  const rawType = (items.shift() ?? '').trim().toLowerCase();
  const type = /^[!#$%&'*+\-.^_`|~0-9a-z]+\/[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(rawType) ? rawType : '';
  const params: Record<string, string> = Object.create(null);
  const sections: Record<string, { n: number; v: string; ext: boolean }[]> = Object.create(null);
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const name = item.slice(0, eq).trim().toLowerCase();
    let v = item.slice(eq + 1).trim();
    const quoted = v.startsWith('"');
    if (quoted) v = unquote(v);
    const m = /^([^*]+)\*(\d{1,3})(\*?)$/.exec(name);
    if (m) {
      (sections[m[1]] ??= []).push({ n: Number(m[2]), v, ext: m[3] === '*' });
    } else if (name.endsWith('*') && !quoted) {
      const base = name.slice(0, -1);
      if (!(base in params)) params[base] = decode2231(v, true);
    } else if (name && !(name in params)) params[name] = v;
  }
  for (const [name, secs] of Object.entries(sections)) {
    if (name in params) continue;
    secs.sort((a, b) => a.n - b.n);
    params[name] = secs.map((x, i) => (x.ext ? decode2231(x.v, i === 0) : x.v)).join('');
  }
  return { type, params };
}

/** Splits on `;` outside quoted strings, dropping RFC 5322 comments. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let comment = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted) {
      cur += c;
      if (c === '\\' && i + 1 < value.length) cur += value[++i];
      else if (c === '"') quoted = false;
    } else if (comment > 0) {
      if (c === '\\') i++;
      else if (c === '(') comment++;
      else if (c === ')') comment--;
    } else if (c === '"') {
      quoted = true;
      cur += c;
    } else if (c === '(') comment = 1;
    else if (c === ';') {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

function unquote(v: string): string {
  let out = '';
  for (let i = 1; i < v.length; i++) {
    const c = v[i];
    if (c === '\\' && i + 1 < v.length) out += v[++i];
    else if (c === '"') break;
    else out += c;
  }
  return out;
}

/** RFC 2231 §4: charset'language'percent-encoded (charset part only on the first section). */
function decode2231(v: string, first: boolean): string {
  let text = v;
  if (first) {
    const m = /^[^']*'[^']*'(.*)$/.exec(v);
    if (m) text = m[1];
  }
  try {
    return Buffer.from(text.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16))), 'latin1').toString('utf8');
  } catch {
    return text;
  }
}

/** RFC 2045 §6: undo base64 / quoted-printable; identity for 7bit/8bit/binary/unknown. */
export function decodeTransfer(body: string, cte: string | null): Buffer {
  const enc = (cte ?? '').trim().toLowerCase().split(/[\s;(]/)[0];
  if (enc === 'base64') return Buffer.from(body.replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (enc === 'quoted-printable') return decodeQuotedPrintable(body);
  return Buffer.from(body, 'latin1');
}

export function decodeBody(part: MimePart): Buffer {
  return decodeTransfer(part.body, headerValue(part.headers, 'content-transfer-encoding'));
}

/** RFC 2045 §6.7, lenient: a malformed `=` sequence is kept as it is. */
export function decodeQuotedPrintable(s: string): Buffer {
  const out: number[] = [];
  const lines = s.split('\n');
  for (let li = 0; li < lines.length; li++) {
    let line = lines[li];
    if (line.endsWith('\r')) line = line.slice(0, -1);
    line = line.replace(/[ \t]+$/, '');
    let soft = false;
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === 61 /* = */) {
        if (i === line.length - 1) {
          soft = true;
          break;
        }
        const hex = line.slice(i + 1, i + 3);
        if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
          out.push(parseInt(hex, 16));
          i += 2;
          continue;
        }
      }
      out.push(c & 0xff);
    }
    if (!soft && li < lines.length - 1) out.push(13, 10);
  }
  return Buffer.from(out);
}

/** Depth-first list of every part, including those inside encapsulated messages. */
export function walkParts(root: MimePart): { part: MimePart; nested: boolean }[] {
  const out: { part: MimePart; nested: boolean }[] = [];
  const stack: { part: MimePart; nested: boolean }[] = [{ part: root, nested: false }];
  while (stack.length) {
    const cur = stack.pop()!;
    out.push(cur);
    if (cur.part.message) stack.push({ part: cur.part.message, nested: true });
    for (let i = cur.part.parts.length - 1; i >= 0; i--) stack.push({ part: cur.part.parts[i], nested: cur.nested });
  }
  return out;
}

export const DELIVERY_STATUS_TYPES = ['message/delivery-status', 'message/global-delivery-status'];

/** The delivery-status parts of a message; `nested` ones sit inside an attached message (a bounce of a bounce). */
export function findDeliveryStatusParts(root: MimePart): { part: MimePart; nested: boolean }[] {
  return walkParts(root).filter((p) => DELIVERY_STATUS_TYPES.includes(p.part.type));
}

// ---------------------------------------------------------------------------
// RFC 3464 §2.1: the delivery-status body is header-style fields: one group of
// per-message fields, then one group per recipient, groups separated by a
// blank line; fields may be folded.

export interface DsnField {
  name: string;
  /** Unfolded and trimmed. */
  value: string;
}

export interface DeliveryStatus {
  perMessage: DsnField[];
  recipients: DsnField[][];
  /** Lines that could not be read as fields, and other structural remarks. */
  problems: string[];
}

const MAX_DS_GROUPS = 10000;

export function parseDeliveryStatus(text: string): DeliveryStatus {
  const problems: string[] = [];
  const groups: DsnField[][] = [];
  let group: DsnField[] = [];
  let last: DsnField | null = null;
  const lines = String(text).split(/\r\n|\r|\n/);
  for (const line of lines) {
    if (/^[ \t]*$/.test(line)) {
      if (group.length) {
        if (groups.length < MAX_DS_GROUPS) groups.push(group);
        group = [];
      }
      last = null;
      continue;
    }
    if ((line[0] === ' ' || line[0] === '\t') && last) {
      last.value += line;
      continue;
    }
    const m = FIELD_NAME.exec(line);
    if (!m) {
      if (problems.length < 100) problems.push(`not a field: ${JSON.stringify(line.slice(0, 80))}`);
      last = null;
      continue;
    }
    last = { name: m[1], value: line.slice(m[0].length) };
    group.push(last);
  }
  if (group.length && groups.length < MAX_DS_GROUPS) groups.push(group);
  for (const g of groups) for (const f of g) f.value = trimWsp(f.value);
  if (groups.length === 0) return { perMessage: [], recipients: [], problems };
  const first = groups[0];
  const looksPerRecipient =
    !hasField(first, 'reporting-mta') && (hasField(first, 'final-recipient') || hasField(first, 'action') || hasField(first, 'status'));
  if (looksPerRecipient) {
    problems.push('no per-message fields before the first recipient');
    return { perMessage: [], recipients: groups, problems };
  }
  return { perMessage: first, recipients: groups.slice(1), problems };
}

function hasField(g: DsnField[], name: string): boolean {
  return g.some((f) => f.name.toLowerCase() === name);
}

export function dsnField(g: DsnField[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const f of g) if (f.name.toLowerCase() === lower) return f.value;
  return null;
}

export interface DsnProblem {
  /** `error`: a required field is missing or malformed. `warning`: an optional field or a style rule. */
  level: 'error' | 'warning';
  /** `message` or `recipient N`. */
  where: string;
  text: string;
}

export interface DsnValidation {
  /** No errors (lenient) / no problems at all (strict). */
  valid: boolean;
  problems: DsnProblem[];
}

// RFC 3464 §2.3.3
export const DSN_ACTIONS = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const;
// RFC 3464 §2.3.4 / RFC 3463 §2: class "." subject "." detail, no spaces; a comment may follow.
const STATUS_CODE = /^([245])\.(\d{1,3})\.(\d{1,3})$/;
// `address-type ";" generic-address`, `mta-name-type ";" mta-name`, `diagnostic-type ";" *text` (atoms).
const TYPED = /^([A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+)[ \t]*;[ \t]*(.*)$/s;
const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const MONTH = '(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)';
// RFC 5322 §3.3 date-time, with the obsolete zones of §4.3 and a trailing comment.
const DATE_TIME = new RegExp(
  `^(?:${DAY}[ \\t]*,[ \\t]*)?\\d{1,2}[ \\t]+${MONTH}[ \\t]+\\d{2,4}[ \\t]+\\d{1,2}:\\d{2}(?::\\d{2})?[ \\t]+` +
    `(?:[+-]\\d{4}|UT|GMT|[ECMP][SD]T|[A-IK-Za-ik-z])(?:[ \\t]*\\(.*\\))?$`,
  'i',
);

const PER_MESSAGE_FIELDS = ['original-envelope-id', 'reporting-mta', 'dsn-gateway', 'received-from-mta', 'arrival-date'];
const PER_RECIPIENT_FIELDS = [
  'original-recipient',
  'final-recipient',
  'action',
  'status',
  'remote-mta',
  'diagnostic-code',
  'last-attempt-date',
  'final-log-id',
  'will-retry-until',
];

/** Drops RFC 5322 comments (parenthesised, nestable) outside quoted strings. */
function stripComments(v: string): string {
  return splitParams(v.replace(/;/g, '\u0000'))
    .join(';')
    .replace(/\u0000/g, ';')
    .trim();
}

/**
 * Checks the RFC 3464 §2.2/§2.3 rules: Reporting-MTA, and per recipient
 * Final-Recipient, Action and Status are required, with valid syntax. With
 * `strict` (our own DSNs) every optional field must be well-formed too, no
 * field may repeat, unknown fields must be X- extensions, the action must
 * agree with the status class, and a message/delivery-status must be ASCII.
 */
export function validateDeliveryStatus(
  ds: DeliveryStatus,
  opts: { strict?: boolean; global?: boolean } = {},
): DsnValidation {
  const problems: DsnProblem[] = [];
  const err = (where: string, text: string) => problems.push({ level: 'error', where, text });
  const warn = (where: string, text: string) => problems.push({ level: 'warning', where, text });
  for (const p of ds.problems) warn('message', p);

  const checkGroup = (g: DsnField[], where: string, known: string[]) => {
    const seen = new Set<string>();
    for (const f of g) {
      const n = f.name.toLowerCase();
      if (seen.has(n)) warn(where, `${f.name} appears more than once`);
      seen.add(n);
      if (!known.includes(n) && !n.startsWith('x-')) warn(where, `unknown field ${f.name}`);
      if (!opts.global && /[^\x00-\x7f]/.test(f.value)) warn(where, `${f.name} has non-ASCII text (needs message/global-delivery-status)`);
    }
  };
  const typed = (g: DsnField[], where: string, name: string, required: boolean, needValue: boolean) => {
    const v = dsnField(g, name);
    if (v === null) {
      if (required) err(where, `missing ${name}`);
      return;
    }
    const m = TYPED.exec(v);
    if (!m || (needValue && m[2].trim() === '')) (required ? err : warn)(where, `${name} is not "type; value": ${JSON.stringify(v.slice(0, 80))}`);
  };
  const date = (g: DsnField[], where: string, name: string) => {
    const v = dsnField(g, name);
    if (v !== null && !DATE_TIME.test(v)) warn(where, `${name} is not an RFC 5322 date-time: ${JSON.stringify(v.slice(0, 60))}`);
  };

  // RFC 3464 §2.2: per-message fields.
  const pm = ds.perMessage;
  checkGroup(pm, 'message', PER_MESSAGE_FIELDS);
  typed(pm, 'message', 'Reporting-MTA', true, true);
  typed(pm, 'message', 'DSN-Gateway', false, true);
  typed(pm, 'message', 'Received-From-MTA', false, true);
  date(pm, 'message', 'Arrival-Date');

  // RFC 3464 §2.3: per-recipient fields, at least one recipient.
  if (ds.recipients.length === 0) err('message', 'no per-recipient fields');
  ds.recipients.forEach((g, i) => {
    const where = `recipient ${i + 1}`;
    checkGroup(g, where, PER_RECIPIENT_FIELDS);
    typed(g, where, 'Original-Recipient', false, true);
    typed(g, where, 'Final-Recipient', true, true);
    typed(g, where, 'Remote-MTA', false, true);
    typed(g, where, 'Diagnostic-Code', false, false);
    date(g, where, 'Last-Attempt-Date');
    date(g, where, 'Will-Retry-Until');
    const actionRaw = dsnField(g, 'Action');
    let action: string | null = null;
    if (actionRaw === null) err(where, 'missing Action');
    else {
      action = stripComments(actionRaw).toLowerCase();
      if (!(DSN_ACTIONS as readonly string[]).includes(action)) {
        err(where, `Action is not one of ${DSN_ACTIONS.join('/')}: ${JSON.stringify(actionRaw.slice(0, 40))}`);
        action = null;
      } else if (action !== actionRaw) warn(where, `Action written as ${JSON.stringify(actionRaw)}`);
    }
    const statusRaw = dsnField(g, 'Status');
    if (statusRaw === null) err(where, 'missing Status');
    else {
      const m = STATUS_CODE.exec(stripComments(statusRaw));
      if (!m) err(where, `Status is not class.subject.detail: ${JSON.stringify(statusRaw.slice(0, 40))}`);
      else if (action) {
        const cls = m[1];
        const ok =
          action === 'failed' ? cls !== '2' : action === 'delayed' ? cls === '4' : cls === '2';
        if (!ok) warn(where, `Action ${action} disagrees with Status ${statusRaw}`);
      }
    }
    if (dsnField(g, 'Will-Retry-Until') !== null && action !== null && action !== 'delayed') {
      warn(where, 'Will-Retry-Until on a recipient that is not delayed');
    }
  });

  const valid = opts.strict ? problems.length === 0 : !problems.some((p) => p.level === 'error');
  return { valid, problems };
}
