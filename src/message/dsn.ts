// Builds delivery status notifications: an RFC 6522 multipart/report with
// report-type=delivery-status holding (1) a plain-words explanation for the
// sender, (2) the RFC 3464 machine-readable report (message/delivery-status,
// or RFC 6533 message/global-delivery-status when an address or reply needs
// UTF-8), (3) the returned message (RFC 3461 RET=FULL) or its headers
// (RET=HDRS), as message/rfc822 / text/rfc822-headers or the RFC 6532
// message/global / message/global-headers when its header is 8-bit. Pure: the
// clock (`now`) and the random parts (`boundary`, `messageId`) come in the
// input; the output is CRLF only and never holds a bare CR or LF.
import { createHash } from 'node:crypto';
import { formatRfc5322Date } from './date.ts';

export interface DsnRecipient {
  /** Final recipient (as it was attempted). */
  address: string;
  /**
   * RFC 3461 §4.2 ORCPT value as received, `addr-type ";" xtext`, e.g.
   * "rfc822;user@example.org" (written as Original-Recipient, xtext decoded).
   */
  orcpt?: string | null;
  action: 'failed' | 'delayed' | 'delivered' | 'relayed' | 'expanded';
  /** Enhanced status code (RFC 3463), e.g. "5.1.1". */
  status: string;
  /** MX host name (written "dns; host"). */
  remoteMta?: string | null;
  /** The remote reply verbatim; line breaks of a multi-line reply are allowed and joined. */
  diagnostic?: string | null;
  lastAttempt?: Date | null;
  /** For delayed recipients. */
  willRetryUntil?: Date | null;
}

export interface DsnInput {
  /** Our hostname. */
  reportingMta: string;
  /** From: address, e.g. "MAILER-DAEMON@host" (the null envelope sender is the caller's job). */
  postmaster: string;
  /** The original envelope sender. */
  to: string;
  queueId: string;
  /** RFC 3461 §4.4 ENVID as received (xtext; decoded here). */
  envid?: string | null;
  arrivalDate: Date;
  recipients: DsnRecipient[];
  /** The original message (CRLF). */
  original: Buffer;
  /** RFC 3461 §4.3: FULL returns the message (headers only above DSN_MAX_FULL_ORIGINAL), HDRS its headers. */
  ret: 'FULL' | 'HDRS';
  now: Date;
  boundary?: string;
  messageId?: string;
}

/** Above this size a RET=FULL original is returned as headers only (and the text says so). */
export const DSN_MAX_FULL_ORIGINAL = 1024 * 1024;
/** The returned header section is cut at a field boundary above this size. */
export const DSN_MAX_HEADERS = 256 * 1024;
/** Each verbatim diagnostic is cut to this many characters. */
export const DSN_MAX_DIAGNOSTIC = 4000;

const SUBJECTS = {
  failure: 'Undelivered Mail Returned to Sender',
  delay: 'Delivery Status Notification (Delay)',
  success: 'Delivery Status Notification (Success)',
} as const;

type Kind = keyof typeof SUBJECTS;

function kindOf(recipients: DsnRecipient[]): Kind {
  if (recipients.some((r) => r.action === 'failed')) return 'failure';
  if (recipients.some((r) => r.action === 'delayed')) return 'delay';
  return 'success';
}

const ACTIONS: readonly string[] = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'];

export function buildDsn(given: DsnInput): Buffer {
  if (!given.recipients.length) throw new Error('buildDsn: a DSN needs at least one recipient (RFC 3464 §2.3)');
  if (!validDate(given.now)) throw new Error('buildDsn: invalid now');
  // RFC 3464 §2.3.3: an action outside the five (a bad row, a caller bug) is reported as failed.
  const input: DsnInput = {
    ...given,
    recipients: given.recipients.map((r) => (ACTIONS.includes(r.action) ? r : { ...r, action: 'failed' as const })),
  };
  const kind = kindOf(input.recipients);
  const host = hostText(input.reportingMta) || 'localhost';
  const queueId = oneLine(input.queueId);

  // Part 3 first: what we return decides a sentence of part 1.
  const original = toCrlf(input.original);
  const ret = returnedPart(original, input.ret, kind);

  // Part 2.
  const report = deliveryStatus(input, host);

  // Part 1.
  const text = humanText(input, host, queueId, ret.note);
  const textBody = encodeText(text);

  const part1Head =
    'Content-Description: Notification\r\n' +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Transfer-Encoding: ${textBody.cte}\r\n`;
  // RFC 6533 §6.1: message/global-delivery-status carries UTF-8 and is 8bit.
  const part2Head =
    'Content-Description: Delivery report\r\n' +
    (report.global
      ? 'Content-Type: message/global-delivery-status\r\nContent-Transfer-Encoding: 8bit\r\n'
      : 'Content-Type: message/delivery-status\r\n');
  const part3Head = `Content-Description: ${ret.description}\r\nContent-Type: ${ret.type}\r\n` + (ret.cte ? `Content-Transfer-Encoding: ${ret.cte}\r\n` : '');

  const bodies = [Buffer.from(textBody.body, 'utf8'), Buffer.from(report.text, 'utf8'), ret.content];
  const boundary = chooseBoundary(input, host, queueId, bodies);

  const messageId = messageIdOf(input, host, queueId);
  const to = addressText(input.to);
  const postmaster = addressText(input.postmaster) || `MAILER-DAEMON@${host}`;
  const from = postmaster.includes('<') ? postmaster : `Mail Delivery System <${postmaster}>`;
  const head =
    `From: ${from}\r\n` +
    `To: ${to ? `<${to.replace(/[<>]/g, '')}>` : 'undisclosed-recipients:;'}\r\n` +
    `Subject: ${SUBJECTS[kind]}\r\n` +
    `Date: ${formatRfc5322Date(input.now)}\r\n` +
    `Message-ID: ${messageId}\r\n` +
    'MIME-Version: 1.0\r\n' +
    // RFC 3834 §5: DSNs are auto-replied messages.
    'Auto-Submitted: auto-replied\r\n' +
    // RFC 6522 §3: multipart/report with the report-type parameter.
    `Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="${boundary}"\r\n` +
    '\r\n' +
    'This is a MIME-encapsulated message.\r\n';

  const chunks: Buffer[] = [Buffer.from(head, 'utf8')];
  const heads = [part1Head, part2Head, part3Head];
  for (let i = 0; i < 3; i++) {
    chunks.push(Buffer.from(`\r\n--${boundary}\r\n${heads[i]}\r\n`, 'utf8'));
    chunks.push(bodies[i]);
    // RFC 2046 §5.1.1: the CRLF before a delimiter belongs to the delimiter, so
    // a body that already ends in CRLF keeps it as content.
  }
  chunks.push(Buffer.from(`\r\n--${boundary}--\r\n`, 'utf8'));
  return Buffer.concat(chunks);
}

// ---------------------------------------------------------------------------
// Part 1: the explanation in plain words.

/**
 * What happened to one recipient and what the sender can do, in plain words,
 * chosen by action and RFC 3463 status code. `ctx` gives the times used for
 * "we tried for N days".
 */
export function humanExplanation(r: DsnRecipient, ctx: { arrivalDate?: Date | null; now?: Date | null } = {}): string {
  const addr = addressText(r.address) || 'the recipient';
  const domain = domainOf(addr);
  const status = normalStatus(r);
  const [, subject, detail] = status.split('.').map(Number);
  const sd = `${subject}.${detail}`;
  switch (r.action) {
    case 'delivered':
      return `Your message was delivered to ${addr}.`;
    case 'relayed':
      return `Your message was passed on to a mail system for ${addr} that does not send delivery notices, so you may not hear more about it.`;
    case 'expanded':
      return `Your message was delivered to ${addr}, which passes it on to further addresses.`;
    case 'delayed': {
      const until = validDate(r.willRetryUntil) ? `until ${humanDate(r.willRetryUntil)}` : 'for a while';
      return `Your message to ${addr} has not been delivered yet. ${delayReason(subject, sd, domain)} We will keep trying ${until}. You do not need to send it again.`;
    }
    default:
      return `Your message to ${addr} could not be delivered. ${failureReason(status, subject, sd, addr, domain, r, ctx)}`;
  }
}

function delayReason(subject: number, sd: string, domain: string): string {
  if (sd === '2.2') return "The recipient's mailbox is full.";
  if (sd === '1.2') return `The domain ${domain} could not be found just now.`;
  if (subject === 4) return `We could not reach a mail server for ${domain} yet.`;
  if (subject === 7) return 'The receiving server asked us to wait before trying again (servers often do this with senders they have not seen before).';
  if (subject === 3) return 'The receiving mail system has a temporary problem.';
  return 'The receiving server asked us to try again later.';
}

function failureReason(
  status: string,
  subject: number,
  sd: string,
  addr: string,
  domain: string,
  r: DsnRecipient,
  ctx: { arrivalDate?: Date | null; now?: Date | null },
): string {
  const cls = status[0];
  const typo = 'Check the address for typing mistakes.';
  switch (sd) {
    case '1.1':
      return `The mailbox ${addr} does not exist. ${typo}`;
    case '1.2':
      return `The domain ${domain} could not be found. ${typo}`;
    case '1.3':
      return `The address ${addr} is not a valid mail address. ${typo}`;
    case '1.6':
      return `The mailbox ${addr} has moved and no longer receives mail here.`;
    case '1.10': // RFC 7505 null MX
      return `The domain ${domain} does not accept mail. ${typo}`;
    case '2.1':
      return `The mailbox ${addr} is disabled and does not accept messages.`;
    case '2.2':
      return "The recipient's mailbox is full. You could try again later, or reach them another way.";
    case '2.3':
    case '3.4':
      return 'Your message is too big for the receiving system. Try sending it again with smaller or fewer attachments.';
    case '4.7': {
      const span = durationText(ctx.arrivalDate ?? null, r.lastAttempt ?? ctx.now ?? null);
      return `We could not deliver it for ${span} and have given up. The last problem is shown below.`;
    }
    case '6.7': // RFC 6531: the message or address needs SMTPUTF8
      return 'The address or message needs international (UTF-8) mail support, which the receiving server does not offer.';
  }
  switch (subject) {
    case 1:
      return `There is a problem with the address ${addr}. ${typo}`;
    case 2:
      return "The recipient's mailbox cannot accept messages.";
    case 3:
      return 'The receiving mail system has a problem that prevents delivery. You could try again later.';
    case 4:
      return `We could not find or reach a mail server for ${domain}.`;
    case 5:
      return 'The receiving server and ours could not complete the mail conversation (a protocol problem).';
    case 6:
      return 'The receiving server could not accept the format or content of your message.';
    case 7:
      return 'The receiving server refused it as a policy decision (for example, as suspected spam). If you think this is a mistake, reach the recipient another way.';
  }
  return cls === '4'
    ? 'The receiving server kept refusing it for a temporary reason, and we have given up.'
    : 'The receiving server refused it permanently.';
}

function durationText(from: Date | null, to: Date | null): string {
  if (!validDate(from) || !validDate(to)) return 'several days';
  const ms = Math.max(0, to.getTime() - from.getTime());
  const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;
  if (ms >= 86_400_000) return plural(Math.round(ms / 86_400_000), 'day');
  if (ms >= 3_600_000) return plural(Math.round(ms / 3_600_000), 'hour');
  return plural(Math.max(1, Math.round(ms / 60_000)), 'minute');
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function humanDate(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}, ${two(d.getUTCHours())}:${two(d.getUTCMinutes())} UTC`;
}

function humanText(input: DsnInput, host: string, queueId: string, returnNote: string): string {
  const actions = new Set(input.recipients.map((r) => r.action));
  const lines: string[] = [`This is the mail system at ${host}.`, ''];
  // One short paragraph per kind of outcome present, in order of importance.
  const intro: string[] = [];
  if (actions.has('failed')) intro.push('Your message could not be delivered to one or more recipients.');
  if (actions.has('delayed')) intro.push('Your message has not yet been delivered to one or more recipients. We are still trying; this is only a warning.');
  if (actions.has('delivered') || actions.has('relayed') || actions.has('expanded')) intro.push('Your message was delivered to one or more recipients.');
  for (const p of intro) lines.push(...wrap(p, 76, ''), '');
  lines.push('Details for each recipient follow.', '');
  for (const r of input.recipients) {
    lines.push(`<${addressText(r.address) || 'unknown'}>`);
    lines.push(...wrap(humanExplanation(r, { arrivalDate: input.arrivalDate, now: input.now }), 76, '  '));
    const reply = replyLines(r.diagnostic);
    if (reply.length) {
      const mta = hostText(r.remoteMta ?? '');
      const smtp = /^[2-5]\d\d(?:[ -]|$)/.test(reply[0]);
      const lead = smtp ? (mta ? `The server ${mta} answered:` : 'The receiving server answered:') : mta ? `The last error (${mta}) was:` : 'The last error was:';
      // Verbatim: the reply's own lines, never re-wrapped (quoted-printable keeps long lines intact).
      lines.push(`  ${lead} ${reply[0]}`);
      for (const more of reply.slice(1)) lines.push(`    ${more}`);
    }
    lines.push('');
  }
  lines.push(...wrap(returnNote, 76, ''), '');
  lines.push(...wrap(`If you need help, contact the postmaster of ${host} and mention the reference ${queueId || 'above'}.`, 76, ''));
  return lines.join('\r\n') + '\r\n';
}

function wrap(text: string, width: number, indent: string): string[] {
  const words = text.split(' ').filter((w) => w !== '');
  const out: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && indent.length + line.length + 1 + w.length > width) {
      out.push(indent + line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(indent + line);
  return out;
}

/** 7bit when ASCII with lines ≤ 78, otherwise quoted-printable (RFC 2045 §6.7). */
function encodeText(text: string): { cte: string; body: string } {
  const lines = text.split('\r\n');
  if (!/[^\x00-\x7f]/.test(text) && lines.every((l) => l.length <= 78)) return { cte: '7bit', body: text };
  const out: string[] = [];
  for (let li = 0; li < lines.length; li++) {
    const bytes = Buffer.from(lines[li], 'utf8');
    let cur = '';
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      const literal = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && i < bytes.length - 1);
      const tok = literal ? String.fromCharCode(b) : '=' + b.toString(16).toUpperCase().padStart(2, '0');
      // RFC 2045 §6.7 rule 5: encoded lines ≤ 76 characters, soft breaks `=`.
      if (cur.length + tok.length > 75) {
        out.push(cur + '=');
        cur = '';
      }
      cur += tok;
    }
    out.push(cur);
  }
  return { cte: 'quoted-printable', body: out.join('\r\n') };
}

// ---------------------------------------------------------------------------
// Part 2: RFC 3464 §2 message/delivery-status.

function deliveryStatus(input: DsnInput, host: string): { text: string; global: boolean } {
  const fields: string[] = [];
  // RFC 3464 §2.2: per-message fields, in the order of its grammar; extension fields last.
  const envid = input.envid ? oneLine(xtextDecode(input.envid)) : '';
  if (envid) fields.push(fold('Original-Envelope-Id', envid));
  fields.push(fold('Reporting-MTA', `dns; ${host}`));
  if (validDate(input.arrivalDate)) fields.push(fold('Arrival-Date', formatRfc5322Date(input.arrivalDate)));
  if (oneLine(input.queueId)) fields.push(fold('X-Mailroom-Queue-ID', oneLine(input.queueId)));
  const blocks = [fields.join('')];
  // RFC 3464 §2.3: one group per recipient, after a blank line.
  for (const r of input.recipients) {
    const f: string[] = [];
    const orcpt = originalRecipient(r.orcpt);
    if (orcpt) f.push(fold('Original-Recipient', orcpt));
    f.push(fold('Final-Recipient', typedAddress(r.address)));
    f.push(fold('Action', r.action));
    f.push(fold('Status', normalStatus(r)));
    const mta = hostText(r.remoteMta ?? '');
    if (mta) f.push(fold('Remote-MTA', `dns; ${mta}`));
    const reply = replyLines(r.diagnostic);
    if (reply.length) {
      const joined = reply.join(' ');
      // RFC 3464 §2.3.6: diagnostic-type "smtp" only for an SMTP reply; other errors get an X- type.
      f.push(fold('Diagnostic-Code', `${/^[2-5]\d\d(?:[ -]|$)/.test(joined) ? 'smtp' : 'X-Mailroom'}; ${joined}`));
    }
    if (validDate(r.lastAttempt)) f.push(fold('Last-Attempt-Date', formatRfc5322Date(r.lastAttempt)));
    if (r.action === 'delayed' && validDate(r.willRetryUntil)) f.push(fold('Will-Retry-Until', formatRfc5322Date(r.willRetryUntil)));
    blocks.push(f.join(''));
  }
  const text = blocks.join('\r\n');
  return { text, global: /[^\x00-\x7f]/.test(text) };
}

/** RFC 3464 §2.3.2 / RFC 6533 §3: "rfc822; addr", or "utf-8; addr" for an internationalized address. */
function typedAddress(address: string): string {
  const a = addressText(address) || 'unknown';
  return /[^\x00-\x7f]/.test(a) ? `utf-8; ${a}` : `rfc822; ${a}`;
}

/** RFC 3461 §4.2 ORCPT → RFC 3464 §2.3.1 Original-Recipient (xtext, and RFC 6533 \x{HH} for utf-8, decoded). */
function originalRecipient(orcpt: string | null | undefined): string | null {
  if (!orcpt) return null;
  const raw = oneLine(orcpt);
  const semi = raw.indexOf(';');
  let type = semi > 0 ? raw.slice(0, semi).trim() : 'rfc822';
  let addr = semi > 0 ? raw.slice(semi + 1).trim() : raw;
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(type)) type = 'rfc822';
  addr = xtextDecode(addr);
  if (type.toLowerCase() === 'utf-8') addr = addr.replace(/\\x\{([0-9A-Fa-f]{1,6})\}/g, (m, h: string) => {
    const cp = parseInt(h, 16);
    return cp <= 0x10ffff && (cp < 0xd800 || cp > 0xdfff) ? String.fromCodePoint(cp) : m;
  });
  addr = oneLine(addr);
  if (!addr) return null;
  if (/[^\x00-\x7f]/.test(addr)) type = 'utf-8';
  return `${type}; ${addr}`;
}

/** RFC 3461 §4: xtext "+HH"; a string that is not valid xtext is taken as already decoded. */
function xtextDecode(s: string): string {
  if (!/^(?:[^+]|\+[0-9A-F]{2})*$/.test(s)) return s;
  return s.replace(/\+([0-9A-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** RFC 3463 class.subject.detail; a missing or malformed code, or one whose class contradicts the action, is replaced. */
function normalStatus(r: DsnRecipient): string {
  const m = /^([245])\.(\d{1,3})\.(\d{1,3})$/.exec(String(r.status ?? '').trim());
  const sd = m ? `${Number(m[2])}.${Number(m[3])}` : '0.0';
  const cls = m ? m[1] : '';
  switch (r.action) {
    case 'failed':
      return `${cls === '4' ? '4' : '5'}.${sd}`;
    case 'delayed':
      return `4.${sd}`;
    default:
      return `2.${sd}`;
  }
}

/** A reply as lines: CR/LF split, controls removed, empty lines dropped, total length capped. */
function replyLines(diagnostic: string | null | undefined): string[] {
  if (!diagnostic) return [];
  const out: string[] = [];
  let total = 0;
  for (const raw of String(diagnostic).split(/\r\n|\r|\n|\u0085|\u2028|\u2029/)) {
    let line = oneLine(raw);
    if (!line) continue;
    if (total + line.length > DSN_MAX_DIAGNOSTIC) line = line.slice(0, Math.max(0, DSN_MAX_DIAGNOSTIC - total));
    if (!line) break;
    out.push(line);
    total += line.length;
  }
  return out;
}

/**
 * RFC 5322 §2.2.3 folding: break before white space so unfolding restores the
 * value; aim for 78 octets, never more than 998 (RFC 6532 §3.4 counts octets).
 * A word longer than 900 octets is split, which is the only change folding can
 * make to a value.
 */
function fold(name: string, value: string): string {
  const tokens: string[] = [];
  // Trailing white space would leave a blank continuation line behind.
  for (const t of value.replace(/[ \t]+$/, '').split(/(?=[ \t])/)) {
    if (Buffer.byteLength(t) <= 900) tokens.push(t);
    else tokens.push(...splitOctets(t, 900).map((x, i) => (i === 0 ? x : ' ' + x)));
  }
  const lines: string[] = [];
  let line = `${name}: ${tokens[0] ?? ''}`;
  let len = Buffer.byteLength(line);
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i];
    const tl = Buffer.byteLength(t);
    // Never leave a line of white space only (RFC 5322 §3.2.2).
    if (len + tl > 78 && /[^ \t]/.test(line)) {
      lines.push(line);
      line = t;
      len = tl;
    } else {
      line += t;
      len += tl;
    }
  }
  lines.push(line);
  return lines.join('\r\n') + '\r\n';
}

/** Pieces of at most `max` UTF-8 octets, never splitting a code point. */
function splitOctets(s: string, max: number): string[] {
  const out: string[] = [];
  let cur = '';
  let len = 0;
  for (const ch of s) {
    const l = Buffer.byteLength(ch);
    if (len + l > max) {
      out.push(cur);
      cur = '';
      len = 0;
    }
    cur += ch;
    len += l;
  }
  if (cur) out.push(cur);
  return out;
}

// ---------------------------------------------------------------------------
// Part 3: the returned message or its headers.

interface Returned {
  type: string;
  cte: string | null;
  description: string;
  content: Buffer;
  note: string;
}

function returnedPart(original: Buffer, ret: 'FULL' | 'HDRS', kind: Kind): Returned {
  const what = kind === 'failure' ? 'Undelivered Message' : kind === 'delay' ? 'Delayed Message' : 'Delivered Message';
  const { headers } = splitOriginal(original);
  const eightBitHeaders = hasHighBit(headers);
  if (ret === 'FULL' && original.length <= DSN_MAX_FULL_ORIGINAL) {
    const cte = lineClass(original);
    return {
      // RFC 6532 §3.7: message/global when the header is UTF-8; RFC 2046 §5.2.1 allows 7bit/8bit/binary.
      type: eightBitHeaders ? 'message/global' : 'message/rfc822',
      cte: cte === '7bit' && eightBitHeaders ? '8bit' : cte,
      description: what,
      content: original,
      note: 'Your original message is attached.',
    };
  }
  const cut = headers.length > DSN_MAX_HEADERS ? cutHeaders(headers) : headers;
  const note =
    ret === 'FULL'
      ? `Your message was too large to return in full (${sizeText(original.length)}); only its headers are attached.`
      : 'The headers of your original message are attached.';
  // RFC 6522 §4 text/rfc822-headers; RFC 6532 §3.8 message/global-headers for UTF-8 headers.
  return eightBitHeaders
    ? { type: 'message/global-headers', cte: '8bit', description: `${what} Headers`, content: cut, note }
    : { type: 'text/rfc822-headers', cte: lineClass(cut) === '7bit' ? null : lineClass(cut), description: `${what} Headers`, content: cut, note };
}

/** The header section, each field CRLF-terminated, without the empty line. */
function splitOriginal(original: Buffer): { headers: Buffer } {
  if (original.length >= 2 && original[0] === 13 && original[1] === 10) return { headers: Buffer.alloc(0) };
  const end = original.indexOf('\r\n\r\n');
  if (end >= 0) return { headers: original.subarray(0, end + 2) };
  if (original.length === 0) return { headers: original };
  const last = original.subarray(original.length - 2).toString('latin1');
  return { headers: last === '\r\n' ? original : Buffer.concat([original, Buffer.from('\r\n')]) };
}

/** Cut at the last field boundary (CRLF followed by a non-blank) within DSN_MAX_HEADERS. */
function cutHeaders(headers: Buffer): Buffer {
  let pos = DSN_MAX_HEADERS;
  while (pos > 0) {
    const i = headers.lastIndexOf('\r\n', pos - 2);
    if (i < 0) break;
    const next = headers[i + 2];
    if (next !== 32 && next !== 9) return headers.subarray(0, i + 2);
    pos = i;
  }
  return Buffer.alloc(0);
}

function lineClass(b: Buffer): '7bit' | '8bit' | 'binary' {
  let high = false;
  let run = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 10) run = 0;
    else if (++run > 999 || c === 0) return 'binary';
    if (c >= 0x80) high = true;
  }
  return high ? '8bit' : '7bit';
}

function hasHighBit(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] >= 0x80) return true;
  return false;
}

/** Every bare CR or LF becomes CRLF (RFC 5322 §2.3); returns the input itself when it is already clean. */
export function toCrlf(b: Buffer): Buffer {
  let clean = true;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if ((c === 13 && b[i + 1] !== 10) || (c === 10 && (i === 0 || b[i - 1] !== 13))) {
      clean = false;
      break;
    }
  }
  if (clean) return b;
  const out = Buffer.allocUnsafe(b.length * 2);
  let o = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 13) {
      out[o++] = 13;
      out[o++] = 10;
      if (b[i + 1] === 10) i++;
    } else if (c === 10) {
      out[o++] = 13;
      out[o++] = 10;
    } else out[o++] = c;
  }
  return out.subarray(0, o);
}

function sizeText(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} KB`;
}

// ---------------------------------------------------------------------------
// Boundary, Message-ID and text hygiene.

/** RFC 2046 §5.1.1 bchars (without space), at most 70; made unique against every body. */
function chooseBoundary(input: DsnInput, host: string, queueId: string, bodies: Buffer[]): string {
  const clean = (s: string) => s.replace(/[^0-9A-Za-z'()+_,\-./:=?]/g, '');
  let base = clean(input.boundary ?? '').slice(0, 60);
  if (!base) {
    const digest = createHash('sha256').update(`${queueId}\0${input.now.getTime()}\0${host}`).digest('hex').slice(0, 12);
    base = clean(`${queueId || 'dsn'}.${input.now.getTime()}.${digest}/${host}`).slice(0, 60);
  }
  let b = base;
  for (let n = 1; bodies.some((x) => x.includes(b)); n++) b = `${base}=${n}`;
  return b;
}

function messageIdOf(input: DsnInput, host: string, queueId: string): string {
  const clean = (s: string) => s.replace(/[^\x21-\x7e]|[<>()\\",;:[\]]/g, '');
  if (input.messageId) {
    const inner = input.messageId.trim().replace(/^<|>$/g, '');
    const at = inner.lastIndexOf('@');
    const left = clean(at > 0 ? inner.slice(0, at) : inner).slice(0, 400);
    const right = clean(at > 0 ? inner.slice(at + 1) : host).slice(0, 255);
    if (left && right) return `<${left}@${right}>`;
  }
  const local = clean(`${input.now.getTime().toString(36)}.${queueId || 'dsn'}`).slice(0, 200) + '.dsn';
  return `<${local}@${clean(host).slice(0, 255) || 'localhost'}>`;
}

/** One line of text: CR, LF and other control characters out, white space runs kept. */
function oneLine(s: string | null | undefined): string {
  return String(s ?? '')
    .replace(/[\r\n\u0085\u2028\u2029]+/g, ' ')
    .replace(/\t/g, ' ')
    .replace(/[\x00-\x1f\x7f-\x9f]/g, '')
    .replace(/[\ud800-\udfff]/g, (c, i: number, str: string) => {
      // Keep valid surrogate pairs, drop lone halves (they would turn into U+FFFD).
      const code = c.charCodeAt(0);
      if (code <= 0xdbff) {
        const next = str.charCodeAt(i + 1);
        return next >= 0xdc00 && next <= 0xdfff ? c : '';
      }
      const prev = str.charCodeAt(i - 1);
      return prev >= 0xd800 && prev <= 0xdbff ? c : '';
    })
    .trim();
}

/** An address for a header or a field: one line, no white space outside what the address needs. */
function addressText(s: string | null | undefined): string {
  const a = oneLine(s).replace(/^<(.*)>$/, '$1').trim();
  // RFC 5321 §4.5.3.1.3 allows 256 octets; anything far beyond is cut so no line passes 998.
  return Buffer.byteLength(a) > 900 ? splitOctets(a, 900)[0].trim() : a;
}

/** A host name: no white space, no field syntax characters. */
function hostText(s: string): string {
  return splitOctets(oneLine(s).replace(/[\s;()<>"\\,]/g, ''), 255)[0] ?? '';
}

function domainOf(addr: string): string {
  const at = addr.lastIndexOf('@');
  return at >= 0 && at < addr.length - 1 ? addr.slice(at + 1) : addr;
}

/** A date RFC 5322 §3.3 can write (a four-digit year from 1900). */
function validDate(d: Date | null | undefined): d is Date {
  if (!(d instanceof Date) || Number.isNaN(d.getTime())) return false;
  const y = d.getUTCFullYear();
  return y >= 1900 && y <= 9999;
}
