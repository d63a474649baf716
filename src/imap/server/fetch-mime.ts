// FETCH data built from the stored MIME summary (message/mime/types.ts):
// ENVELOPE and BODY/BODYSTRUCTURE serialization (RFC 9051 §7.5.2) and the
// byte ranges of BODY[section] (RFC 9051 §6.4.5: HEADER, HEADER.FIELDS[.NOT],
// TEXT, MIME and nested part numbers, byte-exact), plus BINARY decoding
// (RFC 3516). Reads only the summary for ENVELOPE/BODYSTRUCTURE, so those
// never load a blob.
import type { Address, Envelope, MessageSummary, PartSummary, Param } from '../../message/mime/types.ts';
import { decodeTransfer } from '../../message/mime/transfer-encoding.ts';
import { serializeNstring, serializeString } from '../protocol/quote.ts';

type Q = { utf8: boolean };

function ns(v: string | null | undefined, q: Q): string {
  return serializeNstring(v, { utf8: q.utf8 });
}
function s(v: string, q: Q): string {
  return serializeString(v, { utf8: q.utf8 });
}

function addresses(list: Address[] | null, q: Q): string {
  if (!list || list.length === 0) return 'NIL';
  const out = list.map((a) => {
    if (a.group === 'end') return '(NIL NIL NIL NIL)';
    if (a.group === 'start') return `(NIL NIL ${ns(a.mailbox, q)} NIL)`;
    return `(${ns(a.name, q)} ${ns(a.adl, q)} ${ns(a.mailbox, q)} ${ns(a.host, q)})`;
  });
  return `(${out.join('')})`;
}

/** RFC 9051 §7.5.2 ENVELOPE; sender and reply-to default to from. */
export function envelopeData(e: Envelope, q: Q): string {
  const from = e.from;
  const sender = e.sender && e.sender.length > 0 ? e.sender : from;
  const replyTo = e.replyTo && e.replyTo.length > 0 ? e.replyTo : from;
  return `(${ns(e.date, q)} ${ns(e.subject, q)} ${addresses(from, q)} ${addresses(sender, q)} ${addresses(replyTo, q)} ${addresses(e.to, q)} ${addresses(e.cc, q)} ${addresses(e.bcc, q)} ${ns(e.inReplyTo, q)} ${ns(e.messageId, q)})`;
}

function params(p: Param[], q: Q): string {
  if (!p || p.length === 0) return 'NIL';
  return `(${p.map(([k, v]) => `${s(k, q)} ${s(v, q)}`).join(' ')})`;
}

function extension(p: PartSummary, q: Q): string {
  const disp = p.disposition ? `(${s(p.disposition.type, q)} ${params(p.disposition.params, q)})` : 'NIL';
  const lang = p.language && p.language.length > 0 ? `(${p.language.map((l) => s(l, q)).join(' ')})` : 'NIL';
  return `${disp} ${lang} ${ns(p.location, q)}`;
}

/** RFC 9051 §7.5.2 BODYSTRUCTURE (extensible) or BODY (not). */
export function bodyStructure(p: PartSummary, ext: boolean, q: Q, depth = 0): string {
  if (p.type === 'multipart') {
    const kids = p.parts && p.parts.length > 0 && depth < 100 ? p.parts.map((c) => bodyStructure(c, ext, q, depth + 1)).join('') : '("text" "plain" NIL NIL NIL "7bit" 0 0)';
    return `(${kids} ${s(p.subtype, q)}${ext ? ` ${params(p.params, q)} ${extension(p, q)}` : ''})`;
  }
  let out = `(${s(p.type, q)} ${s(p.subtype, q)} ${params(p.params, q)} ${ns(p.id, q)} ${ns(p.description, q)} ${s(p.encoding, q)} ${p.size}`;
  if (p.message && depth < 100) out += ` ${envelopeData(p.message.envelope, q)} ${bodyStructure(p.message.body, ext, q, depth + 1)} ${p.lines ?? 0}`;
  else if (p.type === 'text') out += ` ${p.lines ?? 0}`;
  if (ext) out += ` ${ns(p.md5, q)} ${extension(p, q)}`;
  return out + ')';
}

/** A parsed section spec (RFC 9051 §9 section-spec). */
export interface SectionSpec {
  part: number[];
  text: '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  fields: string[];
}

/** The part a path names; null when there is none. For a message/rfc822 part, deeper numbers go into its message. */
function findPart(root: PartSummary, path: number[]): PartSummary | null {
  let cur = root;
  for (let i = 0; i < path.length; i++) {
    const n = path[i]!;
    // Going into a message/rfc822 part: its numbers are those of the encapsulated body.
    if (i > 0 && cur.message) cur = cur.message.body;
    if (cur.type === 'multipart') {
      const c = cur.parts?.[n - 1];
      if (!c) return null;
      cur = c;
    } else if (n === 1) {
      // RFC 9051 §6.4.5: a non-multipart body has part 1.
      continue;
    } else return null;
  }
  return cur;
}

/** The bytes a section names (before any partial), or null when the part does not exist. */
export function sectionBytes(content: Buffer, sum: MessageSummary | null, spec: SectionSpec): Buffer | null {
  if (spec.part.length === 0 && spec.text === '') return content;
  if (!sum) return null;
  const root = sum.body;
  if (spec.part.length === 0) {
    switch (spec.text) {
      case '':
        return content;
      case 'HEADER':
        return content.subarray(root.headerStart, root.bodyStart);
      case 'TEXT':
        return content.subarray(root.bodyStart, Math.max(root.bodyStart, root.end));
      case 'HEADER.FIELDS':
      case 'HEADER.FIELDS.NOT':
        return filterHeader(content.subarray(root.headerStart, root.bodyStart), spec.fields, spec.text === 'HEADER.FIELDS.NOT');
      case 'MIME':
        return null;
    }
  }
  const p = findPart(root, spec.part);
  if (!p) return null;
  switch (spec.text) {
    case '':
      return content.subarray(p.bodyStart, Math.max(p.bodyStart, p.end));
    case 'MIME':
      return content.subarray(p.headerStart, p.bodyStart);
  }
  // HEADER / TEXT / HEADER.FIELDS of a part address its encapsulated message (RFC 9051 §6.4.5).
  const m = p.message?.body;
  if (!m) return null;
  switch (spec.text) {
    case 'HEADER':
      return content.subarray(m.headerStart, m.bodyStart);
    case 'TEXT':
      return content.subarray(m.bodyStart, Math.max(m.bodyStart, m.end));
    default:
      return filterHeader(content.subarray(m.headerStart, m.bodyStart), spec.fields, spec.text === 'HEADER.FIELDS.NOT');
  }
}

/** RFC 9051 §6.4.5 HEADER.FIELDS: the named fields (whole, folded lines included) and the empty line. */
export function filterHeader(header: Buffer, names: string[], not: boolean): Buffer {
  const want = new Set(names.map((n) => n.toLowerCase()));
  const out: Buffer[] = [];
  let i = 0;
  let keep = false;
  while (i < header.length) {
    let lf = header.indexOf(10, i);
    if (lf < 0) lf = header.length - 1;
    const line = header.subarray(i, lf + 1);
    const first = line[0];
    if (line.length <= 2 && (first === 13 || first === 10)) break; // the empty line
    if (first !== 0x20 && first !== 0x09) {
      const colon = line.indexOf(0x3a);
      const name = colon > 0 ? line.subarray(0, colon).toString('latin1').trim().toLowerCase() : '';
      keep = want.has(name) !== not && name !== '';
    }
    if (keep) out.push(line);
    i = lf + 1;
  }
  out.push(Buffer.from('\r\n'));
  return Buffer.concat(out);
}

/** RFC 3516: the decoded content of a leaf part (BINARY[section]); null for an unknown encoding, undefined for no such part. */
export function binaryBytes(content: Buffer, sum: MessageSummary, part: number[]): Buffer | null | undefined {
  if (part.length === 0) {
    const r = sum.body;
    if (r.type === 'multipart') return content;
    return decodeTransfer(content.subarray(r.bodyStart, Math.max(r.bodyStart, r.end)), r.encoding);
  }
  const p = findPart(sum.body, part);
  if (!p) return undefined;
  if (p.type === 'multipart' || p.message) return content.subarray(p.bodyStart, Math.max(p.bodyStart, p.end));
  return decodeTransfer(content.subarray(p.bodyStart, Math.max(p.bodyStart, p.end)), p.encoding);
}
