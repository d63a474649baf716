// The EHLO reply: our name, a greeting line, and the service extensions we
// implement (RFC 5321 §4.1.1.1). Only what we really do is advertised.
import type { Config } from '../../config/types.ts';
import { reply, type Reply } from '../protocol/reply.ts';

export function ehloReply(config: Config, clientName: string, clientIp: string): Reply {
  return reply(250, null, [
    `${config.hostname} Hello ${clientName.replace(/[^\x21-\x7e]/g, '').slice(0, 100)} [${clientIp}]`,
    'PIPELINING', // RFC 2920
    `SIZE ${config.limits.message_size}`, // RFC 1870
    '8BITMIME', // RFC 6152
    'SMTPUTF8', // RFC 6531
    'ENHANCEDSTATUSCODES', // RFC 2034
    'CHUNKING', // RFC 3030
  ]);
}
