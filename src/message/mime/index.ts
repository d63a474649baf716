// The MIME package's public surface: parse a message once into a
// MessageSummary (stored beside the blob), and the helpers IMAP FETCH and
// SEARCH use. See each file's opening comment for the RFCs it follows.
//
//   summarizeMessage(bytes, limits?) → MessageSummary        (summary.ts)
//   serializeSummary(s) / parseSummary(text) → JSON / summary | null
//   searchableText(bytes, summary, maxChars?) → { header, body } (search-text.ts)
//   searchHeaderValues(bytes, summary, name) → decoded values of one field (addresses parsed)
//   parseMessage(bytes, limits?) → part tree + header fields    (parse.ts)
//   decodeEncodedWords, parseAddressList, parseParamValue, parseDate,
//   decodeTransfer, decodeCharset: the pieces, for other users.

export type { MessageSummary, PartSummary, Envelope, SearchFields, MimeLimits, Address, Param } from './types.ts';
export { DEFAULT_MIME_LIMITS } from './types.ts';
export { summarizeMessage, serializeSummary, parseSummary, SUMMARY_VERSION } from './summary.ts';
export { searchableText, searchHeaderValues, htmlToText, partText } from './search-text.ts';
export type { SearchText } from './search-text.ts';
export { parseMessage, envelopeOf, countLines, splitMultipart } from './parse.ts';
export type { ParsedMessage } from './parse.ts';
export { readHeader, unfold, fieldValue, findField, headerValue } from './header.ts';
export type { HeaderField, HeaderBlock } from './header.ts';
export { decodeEncodedWords, decodeUnstructured } from './encoded-word.ts';
export { parseAddressList, addressListText, addressString, decodedName } from './address.ts';
export { parseParamValue, paramValue } from './params.ts';
export type { ParsedValue } from './params.ts';
export { parseDate, dateToEpochMs } from './date.ts';
export type { ParsedDate } from './date.ts';
export { decodeTransfer, decodeBase64, decodeQuotedPrintable, isIdentityEncoding } from './transfer-encoding.ts';
export { decodeCharset, knownCharset, bytesToText } from './charset.ts';
