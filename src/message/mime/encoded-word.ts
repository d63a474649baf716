// RFC 2047 encoded words ("=?charset?B|Q?text?=") in header text. Decoding is
// lenient the way mail readers are: encoded words are recognised anywhere in
// unstructured text, phrases and (non-standard but common) quoted strings;
// whitespace between two adjacent encoded words is dropped (RFC 2047 §6.2);
// consecutive words in one charset are joined as bytes before decoding, so a
// multi-byte character split across words survives; "charset*language"
// (RFC 2231 §5) is accepted; an unknown charset keeps the word as written.
// Pure; never throws.

import { decodeBase64 } from './transfer-encoding.ts';
import { decodeCharset } from './charset.ts';

// charset, encoding, encoded text. The text may not contain "?"; B text
// may carry whitespace left behind by careless folding.
const EW = /=\?([^?\s]{1,75})\?([BbQq])\?([^?]*)\?=/g;

function qBytes(text: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x5f) out.push(0x20); // RFC 2047 §4.2 (2): "_" is SPACE
    else if (ch === 0x3d && i + 2 < text.length && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (ch < 0x100) out.push(ch);
    else for (const b of Buffer.from(text[i]!, 'utf8')) out.push(b);
  }
  return Buffer.from(out);
}

function wordBytes(enc: string, text: string): Buffer {
  // Whitespace inside B text is left over from careless folding (the
  // base64 decoder skips it); inside Q text it is kept as written.
  return enc === 'b' || enc === 'B' ? decodeBase64(Buffer.from(text, 'latin1')) : qBytes(text);
}

interface Word {
  start: number;
  end: number;
  charset: string;
  bytes: Buffer;
}

/** Decode every RFC 2047 encoded word in `text` (an unfolded header value). */
export function decodeEncodedWords(text: string): string {
  if (text.indexOf('=?') < 0) return text;
  const words: Word[] = [];
  EW.lastIndex = 0;
  for (let m = EW.exec(text); m !== null; m = EW.exec(text)) {
    words.push({ start: m.index, end: m.index + m[0].length, charset: m[1]!.toLowerCase(), bytes: wordBytes(m[2]!, m[3]!) });
    if (words.length > 10_000) break;
  }
  if (words.length === 0) return text;
  let out = '';
  let pos = 0;
  let i = 0;
  while (i < words.length) {
    const w = words[i]!;
    out += text.slice(pos, w.start);
    // Gather the run of adjacent words (only whitespace between them) in one charset.
    const chunks: Buffer[] = [w.bytes];
    let j = i + 1;
    let end = w.end;
    while (j < words.length && /^[ \t\r\n]*$/.test(text.slice(end, words[j]!.start))) {
      if (words[j]!.charset !== w.charset) break;
      chunks.push(words[j]!.bytes);
      end = words[j]!.end;
      j++;
    }
    const decoded = decodeCharset(Buffer.concat(chunks), w.charset);
    out += decoded === null ? text.slice(w.start, end) : decoded;
    pos = end;
    // Whitespace between this run and a following word in another charset also goes.
    if (j < words.length && /^[ \t\r\n]*$/.test(text.slice(end, words[j]!.start))) pos = words[j]!.start;
    i = j;
  }
  return out + text.slice(pos);
}

/** Unstructured text for display and search: encoded words decoded, whitespace runs collapsed. */
export function decodeUnstructured(text: string): string {
  return decodeEncodedWords(text).replace(/[ \t\r\n]+/g, ' ').trim();
}
