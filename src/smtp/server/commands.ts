// The SMTP server state machine (RFC 5321 §4.1.4 ordering, RFC 3030 BDAT,
// RFC 2920 PIPELINING): which command each state allows and what each command
// does. The session (session.ts) owns the socket; this file only reads the
// parsed command, changes state and queues replies.
import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { parseCommand, type Command } from '../protocol/command.ts';
import { canonicalAddress, formatAddress, type MailAddress } from '../protocol/address.ts';
import { ContentChecker } from '../protocol/data-decoder.ts';
import { formatNotify } from '../protocol/dsn-params.ts';
import { R, type Reply } from '../protocol/reply.ts';
import { buildReceived } from '../../message/received.ts';
import { missingSubmissionHeaders } from '../../message/submission-fixups.ts';
import type { AcceptedRecipient, RecipientDecision, TransactionInfo } from './ports.ts';
import type { SmtpSession } from './session.ts';
import { ehloReply } from './ehlo.ts';
import { startAuth } from './auth.ts';
import { dataPolicy, mailPolicy, rcptPolicy } from './policy.ts';

/** fresh: before HELO/EHLO; greeted: no transaction; mail: after MAIL;
 * rcpt: at least one recipient accepted; bdat: BDAT chunks received, LAST pending. */
export type SessionState = 'fresh' | 'greeted' | 'mail' | 'rcpt' | 'bdat';

export interface Transaction {
  queueId: string;
  from: MailAddress | null;
  smtputf8: boolean;
  eightBit: boolean;
  declaredSize: number | null;
  /** RFC 3461 §4.3 RET and §4.4 ENVID from MAIL, or null. */
  ret: 'FULL' | 'HDRS' | null;
  envid: string | null;
  recipients: AcceptedRecipient[];
  /** Every RCPT with its reply code (and DSN parameters), for the transaction log line. */
  rcptLog: { to: string; reply: string; notify?: string; orcpt?: string }[];
  startedAt: number;
  bdat: { chunks: Buffer[]; size: number; tooLarge: boolean; checker: ContentChecker } | null;
}

type Verb = Command['verb'];

/** Per state, the commands it allows; anything else gets 503 5.5.1 (convention 1). */
const ALLOWED: Record<SessionState, ReadonlySet<Verb>> = {
  fresh: new Set<Verb>(['EHLO', 'HELO', 'NOOP', 'RSET', 'QUIT', 'VRFY', 'EXPN', 'HELP', 'STARTTLS', 'AUTH']),
  greeted: new Set<Verb>(['EHLO', 'HELO', 'MAIL', 'NOOP', 'RSET', 'QUIT', 'VRFY', 'EXPN', 'HELP', 'STARTTLS', 'AUTH']),
  mail: new Set<Verb>(['EHLO', 'HELO', 'RCPT', 'DATA', 'BDAT', 'NOOP', 'RSET', 'QUIT', 'VRFY', 'EXPN', 'HELP']),
  rcpt: new Set<Verb>(['EHLO', 'HELO', 'RCPT', 'DATA', 'BDAT', 'NOOP', 'RSET', 'QUIT', 'VRFY', 'EXPN', 'HELP']),
  bdat: new Set<Verb>(['BDAT', 'NOOP', 'RSET', 'QUIT']),
};

/** Commands that do not move mail; too many of them (or errors) end the session. */
const JUNK: ReadonlySet<Verb> = new Set<Verb>(['NOOP', 'VRFY', 'EXPN', 'HELP']);

export async function handleLine(s: SmtpSession, raw: Buffer): Promise<void> {
  if (!isUtf8(raw)) return junk(s, R.syntaxError('Command is not valid UTF-8'));
  const parsed = parseCommand(raw.toString('utf8'));
  if (!parsed.ok) return junk(s, parsed.reply);
  const cmd = parsed.command;
  if (!ALLOWED[s.state].has(cmd.verb)) return outOfSequence(s, cmd);
  if (JUNK.has(cmd.verb) && ++s.junkCount > s.config.limits.junk_commands) return s.close(R.tooManyJunkCommands);
  switch (cmd.verb) {
    case 'EHLO':
    case 'HELO':
      return hello(s, cmd.verb, cmd.domain);
    case 'MAIL':
      return mail(s, cmd);
    case 'RCPT':
      return rcpt(s, cmd);
    case 'DATA':
      return data(s);
    case 'BDAT':
      return bdat(s, cmd.size, cmd.last);
    case 'RSET':
      resetTransaction(s);
      return s.send(R.ok);
    case 'NOOP':
      return s.send(R.ok);
    case 'QUIT':
      return s.close(R.closing(s.config.hostname));
    case 'VRFY':
      // RFC 5321 §3.5.3: 252 when we will not confirm (no user enumeration).
      return s.send(R.vrfy);
    case 'EXPN':
      return s.send(R.notImplemented('EXPN'));
    case 'HELP':
      return s.send(R.help);
    case 'STARTTLS':
      return starttls(s);
    case 'AUTH':
      return startAuth(s, cmd.mechanism, cmd.initial);
  }
}

/** An error or a command that moves no mail; past the limit the session ends
 * with 421 instead of the reply (a client looping on errors is cut off). */
function junk(s: SmtpSession, r: Reply): void {
  if (++s.junkCount > s.config.limits.junk_commands) return s.close(R.tooManyJunkCommands);
  s.send(r);
}

function outOfSequence(s: SmtpSession, cmd: Command): void {
  if (cmd.verb === 'BDAT') {
    // The chunk follows the command whatever we answer: read and drop it.
    const r = s.state === 'fresh' ? R.badSequence('Send EHLO or HELO first') : R.badSequence('Need MAIL before BDAT');
    s.junkCount++;
    return s.beginBdat(cmd.size, cmd.last, r);
  }
  let text: string;
  if (s.state === 'fresh' && (cmd.verb === 'MAIL' || cmd.verb === 'RCPT' || cmd.verb === 'DATA')) text = 'Send EHLO or HELO first';
  else if (s.state === 'bdat') text = `${cmd.verb} not allowed during a BDAT transfer (RFC 3030 §2)`;
  else if (cmd.verb === 'MAIL') text = 'Nested MAIL command';
  else if (cmd.verb === 'RCPT') text = 'Need MAIL before RCPT';
  else if (cmd.verb === 'DATA') text = 'Need MAIL before DATA';
  else if (cmd.verb === 'STARTTLS' || cmd.verb === 'AUTH') text = `${cmd.verb} not allowed during a mail transaction`;
  else text = 'Bad sequence of commands';
  junk(s, R.badSequence(text));
}

/** RFC 5321 §4.1.4: EHLO/HELO may be repeated and resets any transaction. */
function hello(s: SmtpSession, verb: 'EHLO' | 'HELO', domain: string): void {
  resetTransaction(s);
  s.helo = domain;
  s.esmtp = verb === 'EHLO';
  s.state = 'greeted';
  s.send(verb === 'EHLO' ? ehloReply(s, domain) : R.helo(s.config.hostname));
}

/** RFC 3207: upgrade to TLS, then start over. */
async function starttls(s: SmtpSession): Promise<void> {
  if (s.tlsInfo) return void s.send(R.tlsAlreadyActive);
  if (!s.services.tls) return void s.send(R.tlsNotAvailable);
  await s.startTls();
}

async function mail(s: SmtpSession, cmd: Extract<Command, { verb: 'MAIL' }>): Promise<void> {
  const limits = s.config.limits;
  // RFC 6409 §4.3 / RFC 4954: submission takes mail only from a logged-in user.
  if (s.role !== 'smtp' && !s.user) return void s.send(R.authRequired);
  // RFC 4954 §5: AUTH= is allowed (and ignored: we trust our own login, not the client's claim) where AUTH is offered.
  const unknown = Object.keys(cmd.params.other).filter((k) => !(k === 'AUTH' && s.role !== 'smtp'));
  if (unknown.length > 0) return junk(s, R.paramNotRecognized(`MAIL parameter ${unknown[0]} not recognized`));
  // RFC 6531 §3.5: a non-ASCII address needs the SMTPUTF8 parameter (550 5.6.7 for MAIL, 553 5.6.7 for RCPT).
  if (cmd.utf8 && !cmd.params.smtputf8) return void s.send(R.smtputf8Required);
  // RFC 1870 §6.1: a declared size over our fixed limit is refused up front.
  if (cmd.params.size !== null && cmd.params.size > limits.message_size) return void s.send(R.messageTooLarge);
  if (s.user && s.services.senderPolicy) {
    const from = cmd.from ? canonicalAddress(cmd.from) : null;
    if (!(await s.services.senderPolicy.canSendAs(s.user, from))) {
      s.log.info('sender refused: not owned by user', { user: s.user.address, from: from ?? '<>' });
      return void s.send(R.senderNotOwned);
    }
  }
  const tx: Transaction = {
    queueId: newQueueId(),
    from: cmd.from,
    smtputf8: cmd.params.smtputf8,
    eightBit: cmd.params.body === '8BITMIME',
    declaredSize: cmd.params.size,
    ret: cmd.params.ret,
    envid: cmd.params.envid,
    recipients: [],
    rcptLog: [],
    startedAt: Date.now(),
    bdat: null,
  };
  // Policy hooks (src/policy/) may refuse the sender; the session sends their reply.
  const refused = await mailPolicy(s, tx);
  if (refused) return void s.send(refused);
  s.tx = tx;
  s.state = 'mail';
  s.send(R.senderOk);
}

async function rcpt(s: SmtpSession, cmd: Extract<Command, { verb: 'RCPT' }>): Promise<void> {
  const tx = s.tx!;
  const to = formatAddress(cmd.to);
  const { notify, orcpt } = cmd.params;
  const answer = (r: Reply) => {
    tx.rcptLog.push({
      to,
      reply: `${r.code} ${r.enhanced ?? ''}`.trim(),
      ...(notify ? { notify: formatNotify(notify) } : {}),
      ...(orcpt ? { orcpt } : {}),
    });
    s.send(r);
  };
  // RFC 3461 §4.1, §4.2: NOTIFY and ORCPT are ours (parsed by the protocol layer); anything else is 555.
  const unknown = Object.keys(cmd.params.other);
  if (unknown.length > 0) return answer(R.paramNotRecognized(`RCPT parameter ${unknown[0]} not recognized`));
  if (cmd.utf8 && !tx.smtputf8) return answer(R.badEncodingNeeded);
  // RFC 5321 §4.5.3.1.8: 452 (not 5xx) so the client sends the rest later.
  if (tx.recipients.length >= s.config.limits.recipients) return answer(R.tooManyRecipients);
  let decision: RecipientDecision;
  try {
    decision = await s.backend.checkRecipient(cmd.to, transactionInfo(s, tx));
  } catch (err) {
    // A lookup failure is this server's problem: the client may retry later.
    s.log.error('recipient lookup failed', { rcpt: to, error: err });
    decision = { accept: false, reply: R.tempFailure };
  }
  if (s.tx !== tx) return; // session reset or closed meanwhile
  if (!decision.accept) return answer(decision.reply);
  const refused = await rcptPolicy(s, tx, cmd.to);
  if (s.tx !== tx) return;
  if (refused) return answer(refused);
  tx.recipients.push({ address: cmd.to, target: decision.target, notify, orcpt });
  s.state = 'rcpt';
  answer(R.recipientOk);
}

function data(s: SmtpSession): void {
  // RFC 2920 §3.1: with every RCPT refused, DATA is refused (503/554).
  if (s.state !== 'rcpt') return void s.send(R.noValidRecipients);
  s.send(R.startData);
  s.flush();
  s.beginData();
}

function bdat(s: SmtpSession, size: number, last: boolean): void {
  const tx = s.tx!;
  if (s.state === 'mail') return s.beginBdat(size, last, R.noValidRecipients);
  if (!tx.bdat) tx.bdat = { chunks: [], size: 0, tooLarge: false, checker: new ContentChecker(s.config.limits.text_line) };
  s.state = 'bdat';
  s.beginBdat(size, last, null);
}

/** After a BDAT chunk has been read in full (session.ts). */
export async function finishBdatChunk(s: SmtpSession, last: boolean, error: Reply | null): Promise<void> {
  if (error) return void s.send(error);
  const bd = s.tx?.bdat;
  if (!bd) return void s.send(R.badSequence('No transaction'));
  if (bd.tooLarge) {
    // RFC 3030 §2: refuse now and drop the transaction; later chunks get 503.
    logTransaction(s, 'rejected', R.messageTooLarge, bd.size);
    resetTransaction(s);
    return void s.send(R.messageTooLarge);
  }
  if (!last) return void s.send(R.bdatOk(bd.size));
  bd.checker.finish();
  await finishMessage(s, { chunks: bd.chunks, size: bd.size, tooLarge: false, bareNewline: bd.checker.bareNewline, lineTooLong: bd.checker.lineTooLong });
}

export interface ReceivedContent {
  chunks: Buffer[];
  size: number;
  tooLarge: boolean;
  bareNewline: boolean;
  lineTooLong: boolean;
}

/** End of DATA or BDAT LAST: refuse bad content, else hand the message to the
 * backend, which answers only once it is durably stored (convention 5). */
export async function finishMessage(s: SmtpSession, c: ReceivedContent): Promise<void> {
  const tx = s.tx!;
  let r: Reply;
  let policyLog: Record<string, unknown> = {};
  if (c.tooLarge) r = R.messageTooLarge;
  else if (c.bareNewline) r = R.bareNewline;
  else if (c.lineTooLong) r = R.dataLineTooLong;
  else {
    const receivedAt = s.now();
    let traceHeader = buildReceived({
      helo: s.helo,
      clientIp: s.clientIp,
      by: s.config.hostname,
      protocol: protocolName(s, tx),
      id: tx.queueId,
      recipient: tx.recipients.length === 1 ? formatAddress(tx.recipients[0].address) : null,
      date: receivedAt,
      tls: s.tlsInfo,
    });
    if (s.role !== 'smtp') traceHeader += missingSubmissionHeaders(c.chunks, { hostname: s.config.hostname, now: receivedAt });
    // Policy hooks (src/policy/): refuse, or add header fields on top, remove
    // forged ones, and choose a mailbox per recipient.
    const pol = await dataPolicy(s, tx, c.chunks, c.size);
    policyLog = pol.log;
    if (pol.reply) r = pol.reply;
    else try {
      r = await s.backend.accept({
        ...transactionInfo(s, tx),
        queueId: tx.queueId,
        smtputf8: tx.smtputf8,
        eightBit: tx.eightBit,
        ret: tx.ret,
        envid: tx.envid,
        recipients: tx.recipients.map((x, i) => (pol.folders[i] ? { ...x, mailbox: pol.folders[i]! } : x)),
        traceHeader: pol.headers + traceHeader,
        content: pol.content,
        size: c.size,
        receivedAt,
      });
    } catch (err) {
      s.log.error('storing the message failed', { queue: tx.queueId, error: err });
      r = R.tempFailure;
    }
  }
  logTransaction(s, r.code < 300 ? 'accepted' : 'rejected', r, c.size, policyLog);
  if (r.code < 300) s.junkCount = 0;
  resetTransaction(s);
  s.send(r);
}

function logTransaction(s: SmtpSession, outcome: string, r: Reply, size: number, extra: Record<string, unknown> = {}): void {
  const tx = s.tx;
  if (!tx) return;
  s.log.info(outcome === 'accepted' ? 'message accepted' : 'message rejected', {
    queue: tx.queueId,
    role: s.role,
    helo: s.helo,
    user: s.user?.address,
    tls: s.tlsInfo?.version,
    from: tx.from ? formatAddress(tx.from) : '<>',
    ...(tx.ret ? { ret: tx.ret } : {}),
    ...(tx.envid ? { envid: tx.envid } : {}),
    rcpts: tx.rcptLog,
    size,
    reply: `${r.code} ${r.enhanced ?? ''} ${r.lines[0] ?? ''}`.trim(),
    ms: Date.now() - tx.startedAt,
    ...extra,
  });
}

/** What the backend may base its decisions on; relay is allowed for logged-in users and trusted networks. */
function transactionInfo(s: SmtpSession, tx: Transaction): TransactionInfo {
  return {
    sessionId: s.id,
    clientIp: s.clientIp,
    helo: s.helo,
    from: tx.from,
    declaredSize: tx.declaredSize,
    user: s.user,
    relayAllowed: s.user !== null || s.services.isTrustedNetwork(s.clientIp),
  };
}

export function resetTransaction(s: SmtpSession): void {
  s.tx = null;
  if (s.state !== 'fresh') s.state = 'greeted';
}

/** Short, unique, sortable enough for logs: time in base 36 and 5 random bytes. */
export function newQueueId(): string {
  return Date.now().toString(36).toUpperCase() + randomBytes(5).toString('hex').toUpperCase();
}

/** RFC 3848 / RFC 6531 §3.7.3: ESMTP plus S (TLS) and A (authenticated). */
function protocolName(s: SmtpSession, tx: Transaction): string {
  const base = tx.smtputf8 ? 'UTF8SMTP' : s.esmtp ? 'ESMTP' : 'SMTP';
  if (base === 'SMTP') return 'SMTP';
  return base + (s.tlsInfo ? 'S' : '') + (s.user ? 'A' : '');
}
