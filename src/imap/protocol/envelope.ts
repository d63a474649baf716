// The ENVELOPE fetch item (RFC 9051 §7.5.2, RFC 3501 §7.4.2) from the stored
// MessageSummary: ("date" "subject" (from) (sender) (reply-to) (to) (cc) (bcc)
// "in-reply-to" "message-id"). Absent fields are NIL, an empty address list
// is NIL, sender and reply-to already default to from (parse.ts). An address
// is (name adl mailbox host); a group is a start marker (NIL NIL "name" NIL)
// and an end marker (NIL NIL NIL NIL). An ordinary address never has a NIL
// host (that would read as a group): a missing one is sent as
// "MISSING_DOMAIN" and a missing mailbox as "MISSING_MAILBOX", as Dovecot
// does. Strings are raw header text (clients decode RFC 2047 themselves),
// quoted when possible, otherwise literals; 8-bit text goes in a literal
// unless the client accepts UTF-8 (`utf8`, RFC 9051 / UTF8=ACCEPT RFC 6855).
//
// API (stable): serializeEnvelope(env, opts) → string; serializeAddressList(list, opts) → string.

import type { Envelope } from '../../message/mime/types.ts';
import type { Address } from '../../message/mime/address.ts';
import { serializeNstring } from './quote.ts';

export interface ImapStringOptions {
  /** The client accepts UTF-8 in quoted strings (IMAP4rev2 or UTF8=ACCEPT enabled). Default false. */
  utf8?: boolean;
}

function ns(s: string | null, opts: ImapStringOptions): string {
  return serializeNstring(s, { utf8: opts.utf8 ?? false });
}

function address(a: Address, opts: ImapStringOptions): string {
  if (a.group === 'start') return `(NIL NIL ${ns(a.mailbox ?? '', opts)} NIL)`;
  if (a.group === 'end') return '(NIL NIL NIL NIL)';
  return `(${ns(a.name, opts)} ${ns(a.adl, opts)} ${ns(a.mailbox ?? 'MISSING_MAILBOX', opts)} ${ns(a.host ?? 'MISSING_DOMAIN', opts)})`;
}

/** An address list, or NIL when absent or empty. */
export function serializeAddressList(list: Address[] | null, opts: ImapStringOptions = {}): string {
  if (list === null || list.length === 0) return 'NIL';
  return '(' + list.map((a) => address(a, opts)).join('') + ')';
}

/** RFC 9051 §7.5.2 envelope. */
export function serializeEnvelope(env: Envelope, opts: ImapStringOptions = {}): string {
  return (
    '(' +
    [
      ns(env.date, opts),
      ns(env.subject, opts),
      serializeAddressList(env.from, opts),
      serializeAddressList(env.sender ?? env.from, opts),
      serializeAddressList(env.replyTo ?? env.from, opts),
      serializeAddressList(env.to, opts),
      serializeAddressList(env.cc, opts),
      serializeAddressList(env.bcc, opts),
      ns(env.inReplyTo, opts),
      ns(env.messageId, opts),
    ].join(' ') +
    ')'
  );
}
