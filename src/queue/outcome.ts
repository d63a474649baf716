// Turns what the remote server (or the network) said into a queue outcome:
// 2xx delivered, 4xx deferred, 5xx failed (RFC 5321 §4.2.1); connection
// problems are deferrals with an X.4.x status (RFC 3463 §3.5). The reply text
// is kept verbatim for the bounce and the log.
import type { Reply } from '../smtp/protocol/reply.ts';
import type { SmtpClientError } from '../smtp/client/errors.ts';

export interface Verdict {
  result: 'delivered' | 'deferred' | 'failed';
  status: string;
  /** "550 5.1.1 No such user" (multi-line replies joined with "\n"). */
  text: string;
}

export function replyVerbatim(r: Reply): string {
  return r.lines.map((l, i) => `${r.code}${i < r.lines.length - 1 ? '-' : ' '}${r.enhanced ? r.enhanced + ' ' : ''}${l}`).join('\n');
}

export function fromReply(r: Reply): Verdict {
  const cls = Math.floor(r.code / 100);
  const result = cls === 2 ? 'delivered' : cls === 5 ? 'failed' : 'deferred';
  const status = r.enhanced ?? (cls === 2 ? '2.0.0' : cls === 5 ? '5.0.0' : '4.0.0');
  return { result, status, text: replyVerbatim(r) };
}

/** A failure of the connection or session (not a per-recipient reply). */
export function fromClientError(e: SmtpClientError): Verdict {
  if (e.phase === 'auth') {
    // Our login to the relay failed: our configuration, not the recipient's fault. Never
    // bounce for it (a wrong password would bounce every message); defer with a 4.7.x.
    const enhanced = e.reply?.enhanced;
    const status = enhanced && /^[45]\.7\.\d{1,3}$/.test(enhanced) ? `4${enhanced.slice(1)}` : '4.7.0';
    return { result: 'deferred', status, text: e.reply ? `login to the relay failed: ${replyVerbatim(e.reply)}` : `login to the relay failed: ${e.message}` };
  }
  if (e.reply) {
    // A negative greeting/EHLO reply: 5xx there means this host will not take mail.
    const v = fromReply(e.reply);
    return v.result === 'delivered' ? { result: 'deferred', status: '4.5.0', text: v.text } : v;
  }
  const status = e.kind === 'connect' ? '4.4.1' : e.kind === 'timeout' ? '4.4.2' : e.kind === 'tls' ? '4.7.5' : e.kind === 'protocol' ? '4.5.0' : '4.4.2';
  return { result: 'deferred', status, text: `${e.kind} error during ${e.phase}: ${e.message}` };
}
