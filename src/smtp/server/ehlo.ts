// The EHLO reply: our name, a greeting line, and the service extensions we
// implement (RFC 5321 §4.1.1.1). Only what we really do is advertised:
// STARTTLS only before TLS (RFC 3207 §4.2), AUTH only where it is accepted.
import { R, type Reply } from '../protocol/reply.ts';
import type { SmtpSession } from './session.ts';
import { authOffered } from './auth.ts';

export function ehloReply(s: SmtpSession, clientName: string): Reply {
  const client = `${clientName.replace(/[^\x21-\x7e]/g, '').slice(0, 100)} [${s.clientIp}]`;
  const lines = [
    'PIPELINING', // RFC 2920
    `SIZE ${s.config.limits.message_size}`, // RFC 1870
    '8BITMIME', // RFC 6152
    'SMTPUTF8', // RFC 6531
    'ENHANCEDSTATUSCODES', // RFC 2034
    'CHUNKING', // RFC 3030
    'DSN', // RFC 3461: NOTIFY, ORCPT, RET, ENVID
  ];
  if (s.services.tls && !s.tlsInfo) lines.push('STARTTLS');
  if (authOffered(s)) lines.push(`AUTH ${s.services.auth!.mechanisms().join(' ')}`);
  return R.ehlo(s.config.hostname, client, lines);
}
