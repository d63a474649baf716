// The POP3 state machine's commands (RFC 1939 §§4–7): each line is parsed
// (protocol/command.ts), checked against the state's command table
// (protocol/state.ts `allowed`), and handled here. AUTHORIZATION: CAPA (RFC
// 2449), STLS (RFC 2595), USER/PASS, AUTH (RFC 5034) with the Authenticator's
// mechanisms; TRANSACTION: STAT, LIST, RETR, TOP, DELE, NOOP, RSET, UIDL;
// QUIT enters UPDATE, where the marked messages are expunged durably before
// "+OK". Store failures answer
// "-ERR [SYS/TEMP]"; the session never throws for a client's mistake.
import { parseCommand, parseAuthResponse, type Command } from '../protocol/command.ts';
import { allowed, reduce, checkMessage, markDeleted, resetDeleted, visibleMessages } from '../protocol/state.ts';
import { byteStuff, challenge, multiline, topLines } from '../protocol/reply.ts';
import { capabilities } from '../protocol/capa.ts';
import type { AuthUser, SaslStep } from '../../auth/types.ts';
import { P } from './replies.ts';
import { isLoopback, type Pop3Session } from './session.ts';

/** Messages up to this size are sent with their status line in one write. */
const COALESCE_MAX = 256 * 1024;

/** Plaintext credentials may cross this connection now. */
export function plaintextAllowed(s: Pop3Session): boolean {
  return s.tls || (s.config.auth.allow_plaintext_loopback && isLoopback(s.clientIp));
}

export async function handleLine(s: Pop3Session, line: string): Promise<void> {
  const parsed = parseCommand(line, { maxLineLength: s.config.pop3.max_line });
  if (!parsed.ok) {
    s.errors++;
    return void s.write(P.badCommand(parsed.error));
  }
  const cmd = parsed.command;
  if (!allowed(s.state, cmd.verb)) {
    s.errors++;
    // STLS when TLS is on, PASS without USER: say why rather than "wrong state".
    if (cmd.verb === 'STLS' && s.tls) return void s.write(P.stlsActive);
    if (cmd.verb === 'PASS' && s.state.kind === 'AUTHORIZATION') return void s.write(P.badCommand('send USER first'));
    return void s.write(P.wrongState(cmd.verb));
  }
  s.errors = 0;
  await run(s, cmd);
}

async function run(s: Pop3Session, cmd: Command): Promise<void> {
  switch (cmd.verb) {
    case 'CAPA': {
      const caps = capabilities({
        tls: s.tls,
        plaintextAllowed: plaintextAllowed(s) && s.services.auth !== null,
        saslMechanisms: plaintextAllowed(s) && s.services.auth ? s.services.auth.mechanisms() : [],
        stlsAvailable: s.services.tls !== null,
        authenticated: s.state.kind !== 'AUTHORIZATION',
      });
      return void s.write(P.capa + multiline(caps));
    }
    case 'STLS':
      if (!s.services.tls) return void s.write(P.stlsUnavailable);
      await s.startTls();
      s.state = reduce(s.state, { type: 'tls' });
      return;
    case 'NOOP':
      return void s.write(P.noop);
    case 'USER':
      if (!s.services.auth) return void s.write(P.noAuth);
      if (!plaintextAllowed(s)) return void s.write(P.plaintextRefused);
      s.state = reduce(s.state, { type: 'user', name: cmd.name });
      return void s.write(P.user);
    case 'PASS':
      return pass(s, cmd.password);
    case 'AUTH':
      return startAuth(s, cmd.mechanism, cmd.initialResponse);
    case 'QUIT':
      return quit(s);
    case 'STAT': {
      const { count, octets } = totals(s);
      return void s.write(P.stat(count, octets));
    }
    case 'LIST':
      return list(s, cmd.msg);
    case 'UIDL':
      return uidl(s, cmd.msg);
    case 'RETR':
      return retr(s, cmd.msg, null);
    case 'TOP':
      return retr(s, cmd.msg, cmd.lines);
    case 'DELE': {
      const md = s.maildrop!;
      const r = markDeleted(s.deleted, cmd.msg, md.messages.length);
      if (!r.ok) return void s.write(P.noMessage(r.error));
      s.deleted = r.deleted;
      return void s.write(P.dele(cmd.msg));
    }
    case 'RSET': {
      s.deleted = resetDeleted();
      const { count, octets } = totals(s);
      return void s.write(P.rset(count, octets));
    }
  }
}

function totals(s: Pop3Session): { count: number; octets: number } {
  const md = s.maildrop!;
  const visible = visibleMessages(s.deleted, md.messages.length);
  return { count: visible.length, octets: visible.reduce((n, i) => n + md.messages[i - 1]!.size, 0) };
}

/** UIDL (RFC 1939 §7): stable across sessions and shared with IMAP, since
 * UIDVALIDITY.UID names one message for good (RFC 9051 §2.3.1.1). */
function uniqueId(s: Pop3Session, n: number): string {
  const md = s.maildrop!;
  return `${md.uidValidity}.${md.messages[n - 1]!.uid}`;
}

function list(s: Pop3Session, n: number | undefined): void {
  const md = s.maildrop!;
  if (n !== undefined) {
    const e = checkMessage(s.deleted, n, md.messages.length);
    if (e) return void s.write(P.noMessage(e));
    return void s.write(P.listOne(n, md.messages[n - 1]!.size));
  }
  const visible = visibleMessages(s.deleted, md.messages.length);
  const { count, octets } = totals(s);
  s.write(P.listAll(count, octets) + multiline(visible.map((i) => `${i} ${md.messages[i - 1]!.size}`)));
}

function uidl(s: Pop3Session, n: number | undefined): void {
  const md = s.maildrop!;
  if (n !== undefined) {
    const e = checkMessage(s.deleted, n, md.messages.length);
    if (e) return void s.write(P.noMessage(e));
    return void s.write(P.uidlOne(n, uniqueId(s, n)));
  }
  const visible = visibleMessages(s.deleted, md.messages.length);
  s.write(P.uidlAll + multiline(visible.map((i) => `${i} ${uniqueId(s, i)}`)));
}

/** RETR (lines = null) and TOP: the message exactly as stored (CRLF),
 * byte-stuffed (RFC 1939 §3). */
async function retr(s: Pop3Session, n: number, lines: number | null): Promise<void> {
  const md = s.maildrop!;
  const e = checkMessage(s.deleted, n, md.messages.length);
  if (e) return void s.write(P.noMessage(e));
  const m = md.messages[n - 1]!;
  let content: Buffer;
  try {
    content = await s.services.store.readBlob(m.blobId);
  } catch (err) {
    s.log.error('reading a message failed', { uid: m.uid, error: err });
    return void s.write(P.readTemp);
  }
  const body = lines === null ? content : topLines(content, lines);
  const pieces = [Buffer.from(lines === null ? P.retr(m.size) : P.top), ...byteStuff(body)];
  // Small messages go out in one write (one TCP segment / TLS record run);
  // large ones piece by piece without copying, waiting for the socket to drain.
  if (body.length <= COALESCE_MAX) await s.writeAll([Buffer.concat(pieces)]);
  else await s.writeAll(pieces);
}

async function quit(s: Pop3Session): Promise<void> {
  const wasTransaction = s.state.kind === 'TRANSACTION';
  s.state = reduce(s.state, { type: 'quit' });
  if (!wasTransaction) return s.close(P.bye);
  // RFC 1939 §6: UPDATE. The deletions are durable before "+OK".
  const md = s.maildrop!;
  const uids = [...s.deleted].sort((a, b) => a - b).map((i) => md.messages[i - 1]!.uid);
  let reply: string = P.bye;
  if (uids.length > 0) {
    try {
      const removed = await s.services.store.expunge(md.mailboxId, { uids, onlyDeleted: false });
      reply = P.byeUpdated(removed.length);
      s.log.info('pop3 update', { user: s.user?.address, deleted: removed.length });
    } catch (err) {
      s.log.error('expunge in UPDATE failed', { error: err });
      reply = P.updateFailed;
    }
  }
  await s.unlock();
  s.close(reply);
}

// --- Authentication: USER/PASS and AUTH (RFC 5034: PLAIN, LOGIN, SCRAM-SHA-256), through the shared
// Authenticator so failures count toward the same throttling as SMTP and IMAP.

function authContext(s: Pop3Session) {
  return { clientIp: s.clientIp, protocol: s.role, sessionId: s.id };
}

async function pass(s: Pop3Session, password: string): Promise<void> {
  const auth = s.services.auth;
  const name = s.state.kind === 'AUTHORIZATION' ? s.state.pendingUser : undefined;
  if (!auth || name === undefined) return void s.write(P.noAuth);
  if (!plaintextAllowed(s)) return void s.write(P.plaintextRefused);
  const ctx = authContext(s);
  if (auth.isBlocked(ctx)) return s.close(P.throttled);
  const step = await auth.verifyPlain(name, password, ctx);
  await finishAuth(s, step, 'USER');
}

async function startAuth(s: Pop3Session, mechanism: string | undefined, initial: string | undefined): Promise<void> {
  const auth = s.services.auth;
  if (!auth) return void s.write(P.noAuth);
  if (!plaintextAllowed(s)) return void s.write(P.plaintextRefused);
  // The Authenticator's mechanisms (PLAIN, LOGIN, SCRAM-SHA-256), as CAPA's SASL line lists them; "AUTH" alone lists them too.
  const mechs = auth.mechanisms();
  if (mechanism === undefined) return void s.write(P.authMechanisms + multiline(mechs));
  if (!mechs.includes(mechanism)) return void s.write(P.authUnsupported);
  const ctx = authContext(s);
  if (auth.isBlocked(ctx)) return s.close(P.throttled);
  const exchange = auth.start(mechanism, ctx);
  if (!exchange) return void s.write(P.authUnsupported);
  s.auth = { exchange, mechanism, success: null };
  // RFC 5034 §4: "=" is an empty initial response.
  const response = initial === undefined ? null : initial === '=' ? Buffer.alloc(0) : Buffer.from(initial, 'base64');
  await applyStep(s, await exchange.step(response));
}

/** A line from the client while an exchange waits for it (RFC 5034 §4). */
export async function continueAuth(s: Pop3Session, line: string): Promise<void> {
  const a = s.auth!;
  const r = parseAuthResponse(line);
  if (!r.ok) {
    s.auth = null;
    s.errors++;
    return void s.write(P.authMalformed(r.error));
  }
  if (r.cancel) {
    s.auth = null;
    return void s.write(P.authAborted);
  }
  if (a.success) return login(s, a.success, a.mechanism);
  await applyStep(s, await a.exchange.step(r.data));
}

async function applyStep(s: Pop3Session, step: SaslStep): Promise<void> {
  const a = s.auth!;
  if (step.kind === 'challenge') return void s.write(challenge(step.data.toString('base64')));
  if (step.kind === 'success' && step.data && step.data.length > 0) {
    // Additional data with success goes in a challenge the client answers empty.
    a.success = step.user;
    return void s.write(challenge(step.data.toString('base64')));
  }
  await finishAuth(s, step, a.mechanism);
}

async function finishAuth(s: Pop3Session, step: SaslStep, mechanism: string): Promise<void> {
  s.auth = null;
  if (step.kind === 'success') return login(s, step.user, mechanism);
  if (step.kind === 'challenge') return void s.write(P.authMalformed('unexpected challenge'));
  s.state = reduce(s.state, { type: 'loginFailed' });
  switch (step.reason) {
    case 'bad_credentials':
      return void s.write(P.authFailed);
    case 'malformed':
      return void s.write(P.authMalformed(step.message || 'malformed data'));
    case 'aborted':
      return void s.write(P.authAborted);
    case 'temporary':
      return void s.write(P.authTemp);
    case 'throttled':
      return s.close(P.throttled);
  }
}

/** Credentials are good: lock the maildrop (RFC 1939 §8, [IN-USE]) and take
 * the snapshot that numbers the messages for the session. */
async function login(s: Pop3Session, user: AuthUser, mechanism: string): Promise<void> {
  s.auth = null;
  const store = s.services.store;
  let mailbox;
  try {
    mailbox = await store.getMailbox(user.accountId, 'INBOX');
  } catch (err) {
    s.log.error('opening the maildrop failed', { user: user.address, error: err });
    s.state = reduce(s.state, { type: 'loginFailed' });
    return void s.write(P.maildropTemp);
  }
  if (!mailbox) {
    s.state = reduce(s.state, { type: 'loginFailed' });
    return void s.write(P.maildropTemp);
  }
  if (!(await s.lock(mailbox.id))) {
    s.log.info('maildrop in use', { user: user.address });
    s.state = reduce(s.state, { type: 'loginFailed' });
    return void s.write(P.inUse);
  }
  if (s.closed) return;
  try {
    const messages = await store.listMessages(mailbox.id);
    s.maildrop = { mailboxId: mailbox.id, uidValidity: mailbox.uidValidity, messages };
  } catch (err) {
    s.log.error('reading the maildrop failed', { user: user.address, error: err });
    await s.unlock();
    s.state = reduce(s.state, { type: 'loginFailed' });
    return void s.write(P.maildropTemp);
  }
  s.user = user;
  s.deleted = new Set();
  s.state = reduce(s.state, { type: 'login', user: user.address });
  s.log.info('authenticated', { user: user.address, mechanism, app_password: user.appPassword ?? undefined, messages: s.maildrop.messages.length });
  const { count, octets } = totals(s);
  s.write(P.loggedIn(count, octets));
}
