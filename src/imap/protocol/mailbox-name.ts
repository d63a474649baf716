// Mailbox names: modified UTF-7 (RFC 3501 §5.1.3, kept by RFC 9051 §5.1 for
// IMAP4rev1 clients; rev2 and UTF8=ACCEPT clients use UTF-8 directly) encoded
// and decoded with strict validation, and the case-insensitive INBOX
// (RFC 9051 §5.1). Decoding reports errors as values and never throws.

// RFC 3501 §5.1.3: printable US-ASCII 0x20-0x25 and 0x27-0x7e represent themselves;
// "&" is "&-"; everything else is modified BASE64 of UTF-16BE between "&" and "-",
// with "," instead of "/" and no "=" padding.
const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';

function isDirect(c: number): boolean {
  return c >= 0x20 && c <= 0x7e && c !== 0x26;
}

export function encodeMailboxName(name: string): string {
  let out = '';
  let i = 0;
  while (i < name.length) {
    const c = name.charCodeAt(i);
    if (c === 0x26) {
      out += '&-';
      i++;
    } else if (isDirect(c)) {
      out += name[i];
      i++;
    } else {
      // One run of UTF-16 code units up to the next directly representable character.
      let j = i;
      while (j < name.length && !isDirect(name.charCodeAt(j)) && name.charCodeAt(j) !== 0x26) j++;
      let bits = 0;
      let acc = 0;
      out += '&';
      for (let k = i; k < j; k++) {
        acc = (acc << 16) | name.charCodeAt(k);
        bits += 16;
        while (bits >= 6) {
          bits -= 6;
          out += B64[(acc >> bits) & 0x3f];
        }
        acc &= (1 << bits) - 1;
      }
      if (bits > 0) out += B64[(acc << (6 - bits)) & 0x3f];
      out += '-';
      i = j;
    }
  }
  return out;
}

export type DecodeResult = { ok: true; value: string } | { ok: false; error: string };

export function decodeMailboxName(encoded: string): DecodeResult {
  if (typeof encoded !== 'string') return { ok: false, error: 'not a string' };
  let out = '';
  let i = 0;
  let lastRunEnd = -1;
  while (i < encoded.length) {
    const c = encoded.charCodeAt(i);
    if (c !== 0x26) {
      if (!isDirect(c)) return { ok: false, error: `character U+${c.toString(16).padStart(4, '0')} must be encoded` };
      out += encoded[i];
      i++;
      continue;
    }
    const end = encoded.indexOf('-', i + 1);
    if (end < 0) return { ok: false, error: 'unterminated "&" shift' };
    if (end === i + 1) {
      out += '&';
      i = end + 1;
      continue;
    }
    // RFC 3501 §5.1.3: two adjacent shifted runs must be one run ("&AGE-&AGE-" is invalid).
    if (lastRunEnd === i) return { ok: false, error: 'adjacent encoded runs' };
    let bits = 0;
    let acc = 0;
    const units: number[] = [];
    for (let k = i + 1; k < end; k++) {
      const v = B64.indexOf(encoded[k]!);
      if (v < 0) return { ok: false, error: `invalid modified BASE64 character ${JSON.stringify(encoded[k])}` };
      acc = (acc << 6) | v;
      bits += 6;
      if (bits >= 16) {
        bits -= 16;
        units.push((acc >> bits) & 0xffff);
        acc &= (1 << bits) - 1;
      }
    }
    if (bits >= 6 || acc !== 0) return { ok: false, error: 'malformed modified BASE64 run' };
    for (let u = 0; u < units.length; u++) {
      const v = units[u]!;
      if (v >= 0xd800 && v <= 0xdbff) {
        const lo = units[u + 1];
        if (lo === undefined || lo < 0xdc00 || lo > 0xdfff) return { ok: false, error: 'unpaired surrogate' };
        u++;
        out += String.fromCharCode(v, lo);
        continue;
      }
      if (v >= 0xdc00 && v <= 0xdfff) return { ok: false, error: 'unpaired surrogate' };
      // Characters that represent themselves must not be encoded (canonical form only).
      if (isDirect(v) || v === 0x26) return { ok: false, error: 'printable US-ASCII must not be encoded' };
      out += String.fromCharCode(v);
    }
    i = end + 1;
    lastRunEnd = i;
  }
  return { ok: true, value: out };
}

/** RFC 9051 §5.1: the name INBOX is case-insensitive. */
export function isInbox(name: string): boolean {
  return name.length === 5 && name.toUpperCase() === 'INBOX';
}

/**
 * The canonical form of a mailbox name: "INBOX" in any case becomes "INBOX",
 * and so does the INBOX part of its children when a hierarchy delimiter is
 * given ("inbox/Sub" → "INBOX/Sub"), as most servers treat them.
 */
export function canonicalMailboxName(name: string, delimiter?: string): string {
  if (isInbox(name)) return 'INBOX';
  if (delimiter && name.length > 5 && isInbox(name.slice(0, 5)) && name.startsWith(delimiter, 5)) return 'INBOX' + name.slice(5);
  return name;
}
