// BODYSTRUCTURE and BODY (the non-extensible form) fetch items (RFC 9051
// §7.5.2 and the `body` rule of §9; RFC 3501 §7.4.2) from a PartSummary:
//   text:      ("text" subtype (params) id desc enc octets lines [ext])
//   message:   ("message" "rfc822"|"global" (params) id desc enc octets envelope body lines [ext])
//   other:     (type subtype (params) id desc enc octets [ext])
//   multipart: (child child ... subtype [(params) disposition language location])
// with single-part extension data md5, disposition ("type" (params)),
// language (a string or a list) and location. A multipart whose boundary
// was never found has no children in the summary; the grammar needs one, so
// an empty text/plain part is written in its place (as Dovecot does). A
// message/rfc822 part whose body is transfer-encoded (so not parsed) gets an
// all-NIL envelope and such an empty body. Strings follow envelope.ts rules.
//
// API (stable): serializeBodyStructure(part, { extensible, utf8 }) → string.

import type { PartSummary, Param } from '../../message/mime/types.ts';
import { serializeEnvelope } from './envelope.ts';
import type { ImapStringOptions } from './envelope.ts';
import { serializeString, serializeNstring } from './quote.ts';

export interface BodyStructureOptions extends ImapStringOptions {
  /** BODYSTRUCTURE (true) or BODY (false): extension data or not. */
  extensible: boolean;
}

const EMPTY_TEXT = '("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0)';
const NIL_ENVELOPE = '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)';

function str(s: string, o: BodyStructureOptions): string {
  return serializeString(s, { utf8: o.utf8 ?? false });
}

function nstr(s: string | null, o: BodyStructureOptions): string {
  return serializeNstring(s, { utf8: o.utf8 ?? false });
}

function params(p: Param[], o: BodyStructureOptions): string {
  if (p.length === 0) return 'NIL';
  return '(' + p.map(([n, v]) => `${str(n, o)} ${str(v, o)}`).join(' ') + ')';
}

function disposition(part: PartSummary, o: BodyStructureOptions): string {
  const d = part.disposition;
  return d === null ? 'NIL' : `(${str(d.type, o)} ${params(d.params, o)})`;
}

function language(part: PartSummary, o: BodyStructureOptions): string {
  const l = part.language;
  if (l === null || l.length === 0) return 'NIL';
  if (l.length === 1) return str(l[0]!, o);
  return '(' + l.map((x) => str(x, o)).join(' ') + ')';
}

function write(part: PartSummary, o: BodyStructureOptions, depth: number): string {
  if (part.parts !== undefined) {
    const children = part.parts.length === 0 || depth > 100 ? EMPTY_TEXT : part.parts.map((c) => write(c, o, depth + 1)).join('');
    let s = `(${children} ${str(part.subtype, o)}`;
    if (o.extensible) s += ` ${params(part.params, o)} ${disposition(part, o)} ${language(part, o)} ${nstr(part.location, o)}`;
    return s + ')';
  }
  const fields = `${str(part.type, o)} ${str(part.subtype, o)} ${params(part.params, o)} ${nstr(part.id, o)} ${nstr(part.description, o)} ${str(part.encoding, o)} ${part.size}`;
  let s = '(' + fields;
  if (part.type === 'message' && (part.subtype === 'rfc822' || part.subtype === 'global')) {
    const inner = part.message;
    const env = inner === undefined ? NIL_ENVELOPE : serializeEnvelope(inner.envelope, o);
    const body = inner === undefined || depth > 100 ? EMPTY_TEXT : write(inner.body, o, depth + 1);
    s += ` ${env} ${body} ${part.lines ?? 0}`;
  } else if (part.type === 'text') {
    s += ` ${part.lines ?? 0}`;
  }
  if (o.extensible) s += ` ${nstr(part.md5, o)} ${disposition(part, o)} ${language(part, o)} ${nstr(part.location, o)}`;
  return s + ')';
}

/** RFC 9051 §7.5.2 BODYSTRUCTURE (extensible) or BODY (not) for a message's top part. */
export function serializeBodyStructure(part: PartSummary, opts: BodyStructureOptions): string {
  return write(part, opts, 0);
}
