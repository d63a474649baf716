// One outbound mail transaction over an open session: MAIL, RCPT for each
// recipient, then the content by DATA (dot-stuffed, RFC 5321 §4.1.1.4) or by
// BDAT (RFC 3030). With PIPELINING (RFC 2920 §3.1) MAIL, every RCPT and DATA
// go in one write and the replies are read in order; without it each command
// waits for its reply. CHUNKING, when offered, is always used: one
// "BDAT <size> LAST" with the content as is, sent only after some RCPT was
// accepted. What the server cannot take is answered here without sending
// anything (`local: true`): SMTPUTF8 needed but not offered (550 5.6.7, RFC
// 6531 §3.2), 8-bit content without 8BITMIME (554 5.6.3: we do not downgrade,
// RFC 6152 §3), larger than the advertised SIZE (552 5.3.4, RFC 1870 §6), an
// address that would break the command line (553). Every reply is kept
// verbatim for bounces and logs. A 421 closes the session (RFC 5321 §3.8): it
// becomes the answer to every command still waiting.

import { reply } from '../protocol/reply.ts';
import type { Reply } from '../protocol/reply.ts';
import type { Capabilities } from './ehlo.ts';
import { SmtpClientError, replyText } from './errors.ts';
import type { SmtpClientPhase } from './errors.ts';
import { dataBody, prepareBody } from './body.ts';
import { isSafePath, mailCommand, needsSmtpUtf8, rcptCommand } from './commands.ts';
import type { OutboundEnvelope } from './commands.ts';

/** What the transaction needs from the connection. */
export interface Wire {
  caps: Capabilities;
  commandTimeoutMs: number;
  dataTimeoutMs: number;
  write(text: string): void;
  writeBody(pieces: Iterable<Buffer>, deadline: number): Promise<void>;
  read(timeoutMs: number, phase: SmtpClientPhase): Promise<Reply>;
}

export interface RecipientResult {
  address: string;
  /** The RCPT reply, or the MAIL reply when MAIL was refused, or a local reply. */
  reply: Reply;
}

export interface SendResult {
  mail: Reply;
  /** In the order of envelope.recipients. */
  recipients: RecipientResult[];
  /** The final reply for the content (or DATA's refusal); null when no content was sent or refused
   * (MAIL refused, no recipient accepted, or a local failure). A recipient is delivered when its
   * reply and `data` are both 2xx. */
  data: Reply | null;
  /** True when every reply was made here and nothing was sent. */
  local: boolean;
  /** How the content went, or null. */
  method: 'data' | 'bdat' | null;
}

// Replies made here when the message cannot go to this server as it is.
const LOCAL = {
  smtputf8: () => reply(550, '5.6.7', 'The message needs SMTPUTF8 (non-ASCII addresses or headers) and the receiving server does not support it'),
  eightBit: () => reply(554, '5.6.3', 'The message has 8-bit content and the receiving server does not accept it (no 8BITMIME)'),
  tooBig: (max: number) => reply(552, '5.3.4', `The message is larger than the receiving server accepts (${max} octets)`),
  badSender: () => reply(553, '5.1.7', 'The sender address cannot be sent in an SMTP command'),
  badRecipient: () => reply(553, '5.1.3', 'The recipient address cannot be sent in an SMTP command'),
};

/** Runs the transaction; `open` says the server may still hold a transaction (send RSET before the next). */
export async function runTransaction(wire: Wire, env: OutboundEnvelope, content: Buffer | readonly Buffer[]): Promise<{ result: SendResult; open: boolean }> {
  if (env.recipients.length === 0) throw new TypeError('send: no recipients');
  const caps = wire.caps;
  const everyone = (r: Reply): { result: SendResult; open: boolean } => ({
    result: { mail: r, recipients: env.recipients.map((x) => ({ address: x.address, reply: r })), data: null, local: true, method: null },
    open: false,
  });
  if (!isSafePath(env.from, true)) return everyone(LOCAL.badSender());
  const body = prepareBody(content);
  if (needsSmtpUtf8(env) && !caps.smtpUtf8) return everyone(LOCAL.smtputf8());
  if (body.eightBit && !caps.eightBitMime) return everyone(LOCAL.eightBit());
  const size = env.size ?? body.size;
  if (caps.size !== null && caps.size > 0 && Math.max(size, body.size) > caps.size) return everyone(LOCAL.tooBig(caps.size));

  const sendable = env.recipients.map((r, i) => ({ r, i })).filter(({ r }) => isSafePath(r.address, false));
  if (sendable.length === 0) return everyone(LOCAL.badRecipient());

  // RFC 5321 §3.8: after a 421 nothing more comes; it answers whatever is still outstanding.
  let closing: Reply | null = null;
  const next = async (timeoutMs: number, phase: SmtpClientPhase): Promise<Reply> => {
    if (closing) return closing;
    const r = await wire.read(timeoutMs, phase);
    if (r.code === 421) closing = r;
    return r;
  };
  const T = wire.commandTimeoutMs;
  const useBdat = caps.chunking;
  const mailLine = mailCommand(env, caps, { size, eightBit: body.eightBit });
  const rcptLines = sendable.map(({ r }) => rcptCommand(r, caps));

  let mail: Reply;
  const rcptReplies: Reply[] = [];
  let dataCmd: Reply | null = null;
  if (caps.pipelining) {
    // RFC 2920 §3.1: MAIL, RCPTs and DATA in one group; every status is checked, in order.
    wire.write(mailLine + rcptLines.join('') + (useBdat ? '' : 'DATA\r\n'));
    mail = positiveOrNegative(await next(T, 'mail'), 'mail');
    for (let i = 0; i < rcptLines.length; i++) rcptReplies.push(positiveOrNegative(await next(T, 'rcpt'), 'rcpt'));
    if (!useBdat) dataCmd = await next(T, 'data');
  } else {
    wire.write(mailLine);
    mail = positiveOrNegative(await next(T, 'mail'), 'mail');
    for (const line of rcptLines) {
      if (!ok(mail) || closing) break;
      wire.write(line);
      rcptReplies.push(positiveOrNegative(await next(T, 'rcpt'), 'rcpt'));
    }
    if (!useBdat && ok(mail) && rcptReplies.some(ok) && !closing) {
      wire.write('DATA\r\n');
      dataCmd = await next(T, 'data');
    }
  }

  const recipients: RecipientResult[] = env.recipients.map((r) => ({ address: r.address, reply: LOCAL.badRecipient() }));
  sendable.forEach(({ i }, k) => {
    recipients[i].reply = !ok(mail) ? mail : (rcptReplies[k] ?? closing ?? mail);
  });
  const accepted = ok(mail) && rcptReplies.some(ok) && !closing;
  const result: SendResult = { mail, recipients, data: null, local: false, method: null };

  if (!accepted) {
    if (dataCmd && dataCmd.code === 354) {
      // RFC 2920 §3.1: DATA was accepted although no RCPT was: end it with an empty message.
      wire.write('.\r\n');
      await next(wire.dataTimeoutMs, 'data');
      return { result, open: false };
    }
    return { result, open: ok(mail) };
  }

  const deadline = Date.now() + wire.dataTimeoutMs;
  if (useBdat) {
    // RFC 3030 §2: BDAT <size> LAST, then exactly that many octets.
    result.method = 'bdat';
    wire.write(`BDAT ${body.size} LAST\r\n`);
    await wire.writeBody(body.chunks, deadline);
    result.data = final(await next(Math.max(0, deadline - Date.now()), 'bdat'), 'bdat');
    return { result, open: false };
  }
  result.method = 'data';
  if (dataCmd!.code !== 354) {
    if (dataCmd!.code < 400) throw new SmtpClientError('protocol', 'data', `unexpected reply to DATA: ${replyText(dataCmd!)}`, { reply: dataCmd });
    result.data = dataCmd;
    return { result, open: true };
  }
  await wire.writeBody(dataBody(body.chunks), deadline);
  result.data = final(await next(Math.max(0, deadline - Date.now()), 'data'), 'data');
  return { result, open: false };
}

function ok(r: Reply): boolean {
  return r.code >= 200 && r.code < 300;
}

/** MAIL and RCPT are answered 2xx, 4xx or 5xx (RFC 5321 §4.3.2); a 3xx puts us out of step. */
function positiveOrNegative(r: Reply, phase: SmtpClientPhase): Reply {
  if (r.code >= 300 && r.code < 400) throw new SmtpClientError('protocol', phase, `unexpected reply to ${phase.toUpperCase()}: ${replyText(r)}`, { reply: r });
  return r;
}

/** The reply after the content is final: 2xx, 4xx or 5xx. */
function final(r: Reply, phase: SmtpClientPhase): Reply {
  return positiveOrNegative(r, phase);
}
