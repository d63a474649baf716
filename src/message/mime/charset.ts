// Charset decoding for MIME text (RFC 2045 §5.1 charset parameter, RFC 2047
// encoded words, RFC 2231 parameter values): bytes in a named charset → a JS
// string, through TextDecoder (WHATWG encodings; Node here has full ICU). An
// unknown charset returns null so the caller can keep the raw text. Pure.

const decoders = new Map<string, TextDecoder | null>();

// Labels mail uses that the WHATWG table does not know under that name.
const ALIASES: Record<string, string> = {
  'utf8': 'utf-8',
  'ascii': 'us-ascii',
  'us_ascii': 'us-ascii',
  'ansi_x3.4-1968': 'us-ascii',
  'latin1': 'iso-8859-1',
  'latin-1': 'iso-8859-1',
  'cp1252': 'windows-1252',
  'ks_c_5601-1987': 'euc-kr',
  'x-gbk': 'gbk',
  'gb2312': 'gbk',
  'cp932': 'shift_jis',
  'x-sjis': 'shift_jis',
  'unicode-1-1-utf-7': 'utf-7',
};

/** RFC 2152 UTF-7 (not in the WHATWG table): "+" base64 of UTF-16BE "-". */
function decodeUtf7(bytes: Uint8Array): string {
  const s = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  return s.replace(/\+([A-Za-z0-9+/]*)-?/g, (m, b64: string) => {
    if (b64 === '') return m === '+-' ? '+' : m;
    const raw = Buffer.from(b64, 'base64');
    let out = '';
    for (let i = 0; i + 1 < raw.length; i += 2) out += String.fromCharCode((raw[i]! << 8) | raw[i + 1]!);
    return out;
  });
}

const UTF7: TextDecoder = { decode: (b?: AllowSharedBufferSource) => decodeUtf7(b instanceof Uint8Array ? b : new Uint8Array(0)) } as TextDecoder;

function decoderFor(charset: string): TextDecoder | null {
  let label = charset.trim().toLowerCase();
  // RFC 2231 §5: "charset*language" in encoded words.
  const star = label.indexOf('*');
  if (star >= 0) label = label.slice(0, star);
  label = ALIASES[label] ?? label;
  if (label === 'utf-7') return UTF7;
  let d = decoders.get(label);
  if (d !== undefined) return d;
  try {
    d = new TextDecoder(label, { fatal: false });
  } catch {
    d = null;
  }
  if (decoders.size < 256) decoders.set(label, d);
  return d;
}

/** Is this charset one we can decode? */
export function knownCharset(charset: string): boolean {
  return decoderFor(charset) !== null;
}

/** Decode bytes in `charset`; null when the charset is unknown (keep the raw bytes then). */
export function decodeCharset(bytes: Uint8Array, charset: string): string | null {
  const d = decoderFor(charset);
  if (d === null) return null;
  return d.decode(bytes);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const cp1252 = new TextDecoder('windows-1252');

/**
 * Raw header or body bytes with no declared charset: UTF-8 when they are
 * valid UTF-8 (RFC 6532), otherwise windows-1252 (the usual legacy 8-bit).
 */
export function bytesToText(bytes: Uint8Array): string {
  let ascii = true;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i]! >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return cp1252.decode(bytes);
  }
}
