// The data the MIME parser produces and IMAP consumes: a part tree with byte
// offsets and BODYSTRUCTURE fields, ENVELOPE data, and the decoded header
// fields SEARCH needs. Everything here is plain JSON (it is stored beside each
// blob as `meta`, see summary.ts).

import type { Address } from './address.ts';
import type { Param } from './params.ts';

export type { Address, Param };

/** RFC 9051 §7.5.2 ENVELOPE data. Strings are the raw unfolded field values. */
export interface Envelope {
  date: string | null;
  subject: string | null;
  from: Address[] | null;
  /** Defaults to `from` when absent or empty (RFC 9051 §7.5.2). */
  sender: Address[] | null;
  /** Defaults to `from` when absent or empty. */
  replyTo: Address[] | null;
  to: Address[] | null;
  cc: Address[] | null;
  bcc: Address[] | null;
  inReplyTo: string | null;
  messageId: string | null;
}

/**
 * One MIME entity. Offsets are absolute byte offsets into the whole message:
 * header = [headerStart, bodyStart) (including the empty line, when there is
 * one), body = [bodyStart, end). For a part of a multipart, `end` stops
 * before the CRLF that precedes the next boundary (RFC 2046 §5.1.1).
 */
export interface PartSummary {
  headerStart: number;
  bodyStart: number;
  end: number;
  /** Lowercased media type and subtype (defaults per RFC 2045 §5.2 / RFC 2046 §5.1.5). */
  type: string;
  subtype: string;
  /** Content-Type parameters in BODYSTRUCTURE form (params.ts). */
  params: Param[];
  /** Content-ID, raw, or null. */
  id: string | null;
  /** Content-Description, raw, or null. */
  description: string | null;
  /** Content-Transfer-Encoding as written, uppercased; "7BIT" when absent. */
  encoding: string;
  /** Body size in octets (end - bodyStart). */
  size: number;
  /** Text lines of the body, for text/* and message/rfc822|global. */
  lines?: number;
  /** Content-MD5, raw, or null. */
  md5: string | null;
  /** Content-Disposition (RFC 2183), or null. */
  disposition: { type: string; params: Param[] } | null;
  /** Content-Language tags (RFC 3282), or null. */
  language: string[] | null;
  /** Content-Location (RFC 2557), or null. */
  location: string | null;
  /** Children of a multipart (possibly empty for a broken one). */
  parts?: PartSummary[];
  /** The encapsulated message of a message/rfc822 or message/global part. */
  message?: { envelope: Envelope; body: PartSummary };
}

/** Header fields decoded for SEARCH (RFC 9051 §6.4.4), Unicode text. */
export interface SearchFields {
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  /** The Date: field in ms since the epoch (UTC), or null when missing/invalid. */
  date: number | null;
  /** The Date: field's own calendar day "YYYY-MM-DD" (SENTON etc. ignore time and zone). */
  sentDay: string | null;
  /** The Date: field's zone, minutes east of UTC (with `date`, gives the sender's local day). */
  dateZone?: number;
  messageId: string | null;
}

export interface MessageSummary {
  /** Format version; parseSummary returns null for any other. */
  v: 1;
  /** Whole message size in octets. */
  size: number;
  envelope: Envelope;
  body: PartSummary;
  search: SearchFields;
  /** Present when a limit cut the structure short. */
  truncated?: true;
}

export interface MimeLimits {
  /** Deepest nesting of multiparts and message/rfc822 parts parsed. */
  maxDepth: number;
  /** Most parts in one message; later parts are not split out. */
  maxParts: number;
  /** Most header fields recorded per part. */
  maxHeaderFields: number;
  /** Header bytes per part beyond which fields are not recorded. */
  maxHeaderBytes: number;
}

export const DEFAULT_MIME_LIMITS: MimeLimits = {
  maxDepth: 20,
  maxParts: 2000,
  maxHeaderFields: 1000,
  maxHeaderBytes: 256 * 1024,
};
