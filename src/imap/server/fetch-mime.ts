// FETCH data built from the stored MIME summary (message/mime/types.ts), by
// the shared pure serializers in imap/protocol/: ENVELOPE (envelope.ts),
// BODY/BODYSTRUCTURE (body-structure.ts) and the byte ranges of
// BODY[section] and BINARY[section] (section.ts; RFC 9051 §6.4.5, RFC 3516).
// ENVELOPE and BODYSTRUCTURE read only the summary, never a blob. This file
// adapts the session's section spec to theirs.
import type { Envelope, MessageSummary, PartSummary } from '../../message/mime/types.ts';
import { serializeEnvelope } from '../protocol/envelope.ts';
import { serializeBodyStructure } from '../protocol/body-structure.ts';
import { fetchBinary, fetchSection } from '../protocol/section.ts';

type Q = { utf8: boolean };

/** RFC 9051 §7.5.2 ENVELOPE. */
export function envelopeData(e: Envelope, q: Q): string {
  return serializeEnvelope(e, { utf8: q.utf8 });
}

/** RFC 9051 §7.5.2 BODYSTRUCTURE (extensible) or BODY (not). */
export function bodyStructure(p: PartSummary, ext: boolean, q: Q): string {
  return serializeBodyStructure(p, { extensible: ext, utf8: q.utf8 });
}

/** A parsed section spec (RFC 9051 §9 section-spec); text '' = the whole part. */
export interface SectionSpec {
  part: number[];
  text: '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';
  fields: string[];
}

/** The bytes a section names (before any partial), or null when the part does not exist. */
export function sectionBytes(content: Buffer, sum: MessageSummary | null, spec: SectionSpec): Buffer | null {
  if (spec.part.length === 0 && spec.text === '') return content;
  if (!sum) return null;
  return fetchSection(content, sum, { part: spec.part, text: spec.text === '' ? null : spec.text, fields: spec.fields });
}

/** RFC 3516: BINARY[section] bytes; null for an unknown transfer encoding, undefined for no such part. */
export function binaryBytes(content: Buffer, sum: MessageSummary, part: number[]): Buffer | null | undefined {
  const r = fetchBinary(content, sum, part);
  if (r.ok) return r.bytes;
  return r.reason === 'unknown-cte' ? null : undefined;
}
