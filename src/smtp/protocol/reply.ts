// SMTP replies: the Reply value, its wire serialization, the temporary versus
// permanent decision (made here and nowhere else), and `R`, the catalogue of
// every reply the server sends (DESIGN convention 3). Serialization is
// defensive: whatever text a caller passes, the output is well-formed
// (`code[- ]text CRLF` lines, no bare CR or LF, at most 512 octets per line).

export interface Reply {
  code: number;
  /** RFC 3463 enhanced status code ("2.1.5"), or null where none is sent. */
  enhanced: string | null;
  lines: string[];
}

// RFC 3463 §2: class "." subject "." detail, subject and detail 1–3 digits.
const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}$/;

/** Builds a reply. Throws on a malformed code: that is a programming error,
 * never something a client can cause. */
export function reply(code: number, enhanced: string | null, text: string | string[]): Reply {
  // RFC 5321 §4.2: a reply code is three digits, the first 2–5.
  if (!Number.isInteger(code) || code < 200 || code > 599) throw new RangeError(`bad SMTP reply code ${code}`);
  if (enhanced !== null) {
    // RFC 3463 §2: the class digit matches the reply's first digit.
    if (!ENHANCED.test(enhanced) || enhanced[0] !== String(code)[0]) {
      throw new RangeError(`bad enhanced status code ${enhanced} for ${code}`);
    }
  }
  const lines = typeof text === 'string' ? [text] : text.length === 0 ? [''] : text.slice();
  return { code, enhanced, lines };
}

export function isTransient(r: Reply): boolean {
  return r.code >= 400 && r.code < 500; // RFC 5321 §4.2.1: 4yz transient negative completion
}

export function isPermanent(r: Reply): boolean {
  return r.code >= 500 && r.code < 600; // RFC 5321 §4.2.1: 5yz permanent negative completion
}

// RFC 5321 §4.2: textstring is HT and printable characters; a CR or LF in the
// text would let it forge a reply line, so every control character becomes a
// space (a CRLF pair becomes one space).
const CONTROL = /\r\n|[\x00-\x08\x0a-\x1f\x7f]/g;
// RFC 5321 §4.5.3.1.5: a reply line is at most 512 octets including CRLF.
const MAX_LINE = 510;

/** "250-2.0.0 a\r\n250 2.0.0 b\r\n". */
export function serializeReply(r: Reply): string {
  const code = String(r.code);
  // RFC 2034 §3: the enhanced code starts the text of every line.
  const enh = r.enhanced === null ? '' : r.enhanced + ' ';
  const lines = r.lines.length === 0 ? [''] : r.lines;
  let out = '';
  for (let i = 0; i < lines.length; i++) {
    // RFC 5321 §4.2.1: "code-" on every line but the last, "code " on the last.
    const sep = i === lines.length - 1 ? ' ' : '-';
    out += truncate(code + sep + enh + clean(lines[i])) + '\r\n';
  }
  return out;
}

function clean(text: string): string {
  const t = text.replace(CONTROL, ' ');
  return t.isWellFormed() ? t : t.toWellFormed();
}

/** Cuts `s` to at most MAX_LINE UTF-8 octets without splitting a character. */
function truncate(s: string): string {
  if (s.length * 3 <= MAX_LINE || Buffer.byteLength(s) <= MAX_LINE) return s;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + n > MAX_LINE) break;
    bytes += n;
    end += ch.length;
  }
  return s.slice(0, end);
}

/** A constant reply, frozen so no caller can change it for everyone. */
function fixed(code: number, enhanced: string | null, text: string | string[]): Reply {
  const r = reply(code, enhanced, text);
  Object.freeze(r.lines);
  return Object.freeze(r);
}

/**
 * The reply catalogue. Constants are frozen Replies; factories take the
 * variable part. Texts never reveal configuration, paths or whether a user
 * exists beyond what RCPT must say.
 */
export const R = {
  // RFC 5321 §4.3.2 / RFC 2034 §3: greeting and EHLO/HELO replies carry no enhanced code.
  greeting: (hostname: string): Reply => reply(220, null, `${hostname} ESMTP Mailroom`),
  /** RFC 5321 §4.1.1.1: HELO reply. */
  helo: (hostname: string): Reply => reply(250, null, hostname),
  /** RFC 5321 §4.1.1.1: EHLO reply, one extension keyword (with its parameters) per line. */
  ehlo: (hostname: string, client: string, extensions: string[]): Reply =>
    reply(250, null, [`${hostname} Hello ${client}`, ...extensions]),
  closing: (_hostname: string): Reply => reply(221, '2.0.0', 'Bye'),

  ok: fixed(250, '2.0.0', 'OK'),
  senderOk: fixed(250, '2.1.0', 'Sender OK'),
  recipientOk: fixed(250, '2.1.5', 'Recipient OK'),
  resetOk: fixed(250, '2.0.0', 'Reset OK'),
  /** RFC 5321 §4.1.1.4: the intermediate reply to DATA. */
  startData: fixed(354, null, 'End data with <CR><LF>.<CR><LF>'),
  queued: (id: string): Reply => reply(250, '2.0.0', `OK: queued as ${id}`),
  /** RFC 3030 §2: a non-final BDAT chunk was received. */
  bdatOk: (octets: number): Reply => reply(250, '2.0.0', `${octets} octets received`),
  // RFC 5321 §3.5.3 / §7.3: 252 answers VRFY without confirming whether the user exists.
  vrfy: fixed(252, '2.5.0', 'Cannot VRFY user, but will accept message and attempt delivery'),
  // RFC 5321 §3.5.2 / §7.3: EXPN may be refused; we never expand lists.
  expnDisabled: fixed(502, '5.5.1', 'EXPN not available'),
  help: fixed(214, '2.0.0', [
    'Mailroom SMTP. Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS AUTH',
    'See RFC 5321',
  ]),

  // RFC 3207 §4: STARTTLS.
  tlsReady: fixed(220, '2.0.0', 'Ready to start TLS'),
  tlsNotAvailable: fixed(454, '4.7.0', 'TLS not available due to temporary reason'),
  tlsAlreadyActive: fixed(503, '5.5.1', 'TLS already active'),
  // RFC 3207 §4: a server requiring TLS answers other commands 530 5.7.0.
  tlsRequired: fixed(530, '5.7.0', 'Must issue a STARTTLS command first'),

  // RFC 4954 §4 and §6: AUTH.
  authChallenge: (base64: string): Reply => reply(334, null, base64),
  authOk: fixed(235, '2.7.0', 'Authentication successful'),
  authRequired: fixed(530, '5.7.0', 'Authentication required'),
  authFailed: fixed(535, '5.7.8', 'Authentication credentials invalid'),
  authAborted: fixed(501, '5.0.0', 'Authentication aborted'),
  authAlready: fixed(503, '5.5.1', 'Already authenticated'),
  authMechanismUnsupported: fixed(504, '5.5.4', 'Unrecognized authentication type'),
  authEncryptionRequired: fixed(538, '5.7.11', 'Encryption required for requested authentication mechanism'),
  authTempFailure: fixed(454, '4.7.0', 'Temporary authentication failure'),
  authBadBase64: fixed(501, '5.5.2', 'Cannot decode response'),
  /** Brute-force protection: the client is disconnected for a cool-down. */
  authThrottled: fixed(421, '4.7.0', 'Too many authentication failures, try again later'),
  /** RFC 4954 §6: the sender is not allowed to use that envelope address. */
  senderNotOwned: fixed(553, '5.7.1', 'Sender address not owned by user'),

  // Service availability: 421 closes the connection (RFC 5321 §3.8).
  shuttingDown: fixed(421, '4.3.2', 'Service shutting down'),
  tooManyConnections: fixed(421, '4.7.0', 'Too many connections'),
  timeout: fixed(421, '4.4.2', 'Timeout, closing connection'),
  internalError: fixed(421, '4.3.0', 'Internal error, closing connection'),
  tooManyJunkCommands: fixed(421, '4.7.0', 'Too many errors, closing connection'),
  rateLimited: fixed(421, '4.7.0', 'Too many messages, try again later'),
  /** Abuse defences (issue 8): a client IP opening connections too fast. */
  connectionRateExceeded: fixed(421, '4.7.0', 'Too many connections from your address, try again later'),
  /** A DNS blocklist lists the client (RFC 5782 §2.1); `text` is the list's TXT reason. */
  dnsblListed: (text: string): Reply => reply(554, '5.7.1', text),

  // Transient failures of one command or transaction.
  tempFailure: fixed(451, '4.3.0', 'Temporary failure, please try again later'),
  greylisted: fixed(451, '4.7.1', 'Greylisted, please try again later'),
  /** RFC 6647 §2.1: greylisting defers an unknown (network, sender, recipient) triplet at RCPT. */
  greylistTryLater: fixed(450, '4.7.1', 'Try again later'),
  /** A sending rate limit (per account or per client IP) was reached; mail already accepted is kept. */
  slowDown: fixed(450, '4.7.1', 'Too many messages, slow down'),
  diskFull: fixed(452, '4.3.1', 'Insufficient system storage'),
  // RFC 5321 §4.5.3.1.10: too many recipients is 452, the client retries the rest.
  tooManyRecipients: fixed(452, '4.5.3', 'Too many recipients'),

  // Permanent failures about addresses and content.
  unknownUser: fixed(550, '5.1.1', 'No such user here'),
  relayDenied: fixed(554, '5.7.1', 'Relay access denied'),
  senderRejected: fixed(550, '5.7.1', 'Sender rejected'),
  /** The spam score reached spam.reject_threshold at the end of DATA; nothing was stored. */
  spamRejected: fixed(550, '5.7.1', 'Message rejected as spam'),
  overQuota: fixed(552, '5.2.2', 'Mailbox full'),
  // RFC 1870 §6: the declared or actual size exceeds the fixed limit.
  messageTooLarge: fixed(552, '5.3.4', 'Message size exceeds fixed limit'),
  // RFC 5321 §3.3: DATA with no accepted recipient may be answered 554.
  noValidRecipients: fixed(554, '5.5.1', 'No valid recipients'),
  // RFC 5321 §4.1.4 and DESIGN convention 6.
  bareNewline: fixed(550, '5.5.2', 'Message rejected: bare <CR> or <LF> in message (SMTP smuggling protection)'),
  dataLineTooLong: fixed(550, '5.5.2', 'Message rejected: a line is longer than the limit (RFC 5321 §4.5.3.1.6)'),

  // RFC 6531 §3.5: non-ASCII address without SMTPUTF8: 553 for RCPT, 550 for MAIL, X.6.7.
  badEncodingNeeded: fixed(553, '5.6.7', 'Non-ASCII addresses require the SMTPUTF8 parameter'),
  smtputf8Required: fixed(550, '5.6.7', 'Non-ASCII sender address requires the SMTPUTF8 parameter'),
  // RFC 6531 §3.5: a UTF-8 header message cannot be delivered.
  utf8HeadersNotDeliverable: fixed(554, '5.6.9', 'UTF-8 header message cannot be transferred to one or more recipients'),
  // RFC 6152 §3: 8-bit content requires BODY=8BITMIME.
  eightBitNotDeclared: fixed(554, '5.6.0', 'Message contains 8-bit data but BODY=8BITMIME was not given'),

  // Command syntax and sequence (RFC 5321 §4.2.2, RFC 3463 X.5.x).
  commandUnrecognized: fixed(500, '5.5.1', 'Command unrecognized'),
  // RFC 5321 §4.5.3.1.4: command line ≤ 512 octets.
  lineTooLong: fixed(500, '5.5.6', 'Line too long'),
  syntaxError: (text: string): Reply => reply(501, '5.5.2', text),
  /** Syntactically invalid parameters (RFC 3463 X.5.4 "invalid command arguments"). */
  paramSyntax: (text: string): Reply => reply(501, '5.5.4', text),
  /** Bad sender address syntax (RFC 3463 X.1.7). */
  badSenderSyntax: (text: string): Reply => reply(501, '5.1.7', text),
  /** Bad recipient address syntax (RFC 3463 X.1.3). */
  badRecipientSyntax: (text: string): Reply => reply(501, '5.1.3', text),
  notImplemented: (verb: string): Reply => reply(502, '5.5.1', `${verb} not implemented`),
  badSequence: (text: string): Reply => reply(503, '5.5.1', text),
  needHelo: fixed(503, '5.5.1', 'Send HELO/EHLO first'),
  needMail: fixed(503, '5.5.1', 'Need MAIL command first'),
  needRcpt: fixed(503, '5.5.1', 'Need RCPT command first'),
  nestedMail: fixed(503, '5.5.1', 'Sender already specified'),
  // RFC 5321 §4.1.1.11 / §4.2.2: 555 MAIL FROM/RCPT TO parameters not recognized or not implemented.
  paramNotRecognized: (text = 'Parameter not recognized or not implemented'): Reply => reply(555, '5.5.4', text),
} as const;
