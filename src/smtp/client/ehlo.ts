// What a server can do, from its EHLO reply (RFC 5321 §4.1.1.1): the first
// line is its name and greeting, each further line an extension keyword and
// its parameters. Keywords are case-insensitive. Pure.

import type { Reply } from '../protocol/reply.ts';

export interface Capabilities {
  /** RFC 2920 */
  pipelining: boolean;
  /** RFC 1870: null = SIZE not advertised; 0 = advertised without a fixed limit. */
  size: number | null;
  /** RFC 6152 */
  eightBitMime: boolean;
  /** RFC 6531 */
  smtpUtf8: boolean;
  /** RFC 3030 (BDAT) */
  chunking: boolean;
  /** RFC 3207 */
  startTls: boolean;
  /** RFC 3461 */
  dsn: boolean;
  /** RFC 2034 */
  enhancedStatusCodes: boolean;
  /** RFC 4954: SASL mechanisms offered, upper case. */
  auth: string[];
  /** Every keyword (upper case) → its parameters as written, for anything not above. */
  extensions: Map<string, string>;
}

/** What a server that answered HELO (or nothing) can do: plain RFC 5321. */
export function noCapabilities(): Capabilities {
  return { pipelining: false, size: null, eightBitMime: false, smtpUtf8: false, chunking: false, startTls: false, dsn: false, enhancedStatusCodes: false, auth: [], extensions: new Map() };
}

export function parseEhlo(reply: Reply): Capabilities {
  const caps = noCapabilities();
  for (const line of reply.lines.slice(1)) {
    // RFC 5321 §4.1.1.1: ehlo-line = ehlo-keyword *( SP / "=" ehlo-param ); "AUTH=" is the pre-RFC 4954 form.
    const m = /^([A-Za-z0-9][A-Za-z0-9-]*)(?:[ =](.*))?$/.exec(line.trim());
    if (!m) continue;
    const keyword = m[1].toUpperCase();
    const params = (m[2] ?? '').trim();
    if (!caps.extensions.has(keyword)) caps.extensions.set(keyword, params);
    switch (keyword) {
      case 'PIPELINING':
        caps.pipelining = true;
        break;
      case 'SIZE': {
        // RFC 1870 §4: no parameter or 0 means no fixed maximum.
        const n = /^\d{1,15}$/.test(params) ? Number(params) : 0;
        caps.size = n;
        break;
      }
      case '8BITMIME':
        caps.eightBitMime = true;
        break;
      case 'SMTPUTF8':
        caps.smtpUtf8 = true;
        break;
      case 'CHUNKING':
        caps.chunking = true;
        break;
      case 'STARTTLS':
        caps.startTls = true;
        break;
      case 'DSN':
        caps.dsn = true;
        break;
      case 'ENHANCEDSTATUSCODES':
        caps.enhancedStatusCodes = true;
        break;
      case 'AUTH':
        for (const mech of params.split(/\s+/)) {
          const up = mech.toUpperCase();
          if (up && !caps.auth.includes(up)) caps.auth.push(up);
        }
        break;
    }
  }
  return caps;
}
