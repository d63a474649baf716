// Builds the `Received:` trace field a receiving SMTP server prepends
// (RFC 5321 §4.4, grammar `Stamp`), folded at 78 columns with CRLF line ends.
// Client-supplied text (the HELO name) is reduced to printable ASCII so the
// header stays well-formed whatever the client sent.
import { formatRfc5322Date } from './date.ts';

export interface ReceivedInfo {
  helo: string | null;
  clientIp: string;
  /** Our hostname (`by`). */
  by: string;
  /** RFC 5321 §4.4 / RFC 3848 / RFC 6531 §3.7.3: SMTP, ESMTP, UTF8SMTP, … */
  protocol: string;
  id: string;
  /** Only given for single-recipient messages, so one recipient cannot see the others. */
  recipient: string | null;
  /** The negotiated TLS, written as a comment (RFC 8314 §4.3 suggests recording it). */
  tls: { version: string; cipher: string; bits: number } | null;
  date: Date;
}

export function buildReceived(r: ReceivedInfo): string {
  const helo = sanitize(r.helo ?? 'unknown').slice(0, 255) || 'unknown';
  const ipLiteral = r.clientIp.includes(':') ? `[IPv6:${r.clientIp}]` : `[${r.clientIp}]`;
  const lines = [
    `Received: from ${helo} (${ipLiteral})`,
    `\tby ${sanitize(r.by)} (Mailroom) with ${r.protocol} id ${r.id}`,
  ];
  if (r.tls) lines.push(`\t(version=${sanitize(r.tls.version)} cipher=${sanitize(r.tls.cipher)} bits=${r.tls.bits})`);
  if (r.recipient) lines.push(`\tfor <${sanitize(r.recipient)}>;`);
  else lines[lines.length - 1] += ';';
  lines.push(`\t${formatRfc5322Date(r.date)}`);
  return lines.join('\r\n') + '\r\n';
}

/** Printable ASCII and UTF-8 letters only; no CR/LF, no parentheses that would break the comment. */
function sanitize(s: string): string {
  return s.replace(/[\x00-\x20\x7f()<>;\\]/g, '');
}
