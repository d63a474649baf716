// Not-authenticated state (RFC 9051 §6.2): STARTTLS, LOGIN and AUTHENTICATE
// (PLAIN, LOGIN; SASL-IR per RFC 4959). Logins go through the shared
// Authenticator, so failures count towards the same brute-force limits as
// SMTP AUTH and POP3. Passwords never cross in clear: before TLS, LOGIN and
// AUTHENTICATE get NO [PRIVACYREQUIRED] (and CAPABILITY shows LOGINDISABLED)
// unless the operator allows plaintext from loopback.
import type { AuthContext, SaslStep } from '../../auth/types.ts';
import type { Args } from './args.ts';
import { ok, no, bad, type Done } from './commands.ts';
import { capabilityList, plaintextLoginAllowed, type ImapSession } from './session.ts';

export async function starttls(s: ImapSession, tag: string, a: Args): Promise<Done> {
  a.end();
  if (s.tls) return bad('STARTTLS: TLS is already active');
  if (!s.services.tls) return no('STARTTLS: TLS is not available on this server');
  // RFC 9051 §6.2.1: the tagged OK, then the handshake; the client must ask CAPABILITY again.
  s.tagged(tag, 'OK', 'Begin TLS negotiation now');
  await s.startTls();
  return null;
}

function ctx(s: ImapSession): AuthContext {
  return { clientIp: s.clientIp, protocol: 'imap', sessionId: s.id };
}

export async function login(s: ImapSession, tag: string, a: Args): Promise<Done> {
  const username = a.astring('user name');
  const password = a.astring('password');
  a.end();
  const auth = s.services.auth;
  if (!plaintextLoginAllowed(s)) return no('LOGIN: use STARTTLS first', 'PRIVACYREQUIRED');
  if (!auth) return no('LOGIN: logins are not available', 'UNAVAILABLE');
  if (auth.isBlocked(ctx(s))) return throttled(s, tag);
  return finish(s, tag, 'LOGIN', await auth.verifyPlain(username, password, ctx(s)));
}

export async function authenticate(s: ImapSession, tag: string, a: Args): Promise<Done> {
  const mechanism = a.atom('mechanism');
  const initial = a.done ? null : a.astring('initial response');
  a.end();
  const auth = s.services.auth;
  if (!plaintextLoginAllowed(s)) return no('AUTHENTICATE: use STARTTLS first', 'PRIVACYREQUIRED');
  if (!auth) return no('AUTHENTICATE: logins are not available', 'UNAVAILABLE');
  if (auth.isBlocked(ctx(s))) return throttled(s, tag);
  const exchange = auth.start(mechanism, ctx(s));
  if (!exchange) return no(`AUTHENTICATE: mechanism ${mechanism.slice(0, 30)} is not supported`, 'CANNOT');
  let response: Buffer | null = null;
  if (initial !== null) {
    // RFC 4959 §3: "=" is an empty initial response.
    const decoded = initial === '=' ? Buffer.alloc(0) : decodeBase64(initial);
    if (!decoded) return bad('AUTHENTICATE: initial response is not base64');
    response = decoded;
  }
  s.auth = { tag, exchange, mechanism };
  return apply(s, tag, await exchange.step(response));
}

/** A line answering our `+` challenge (RFC 9051 §6.2.2). */
export async function continueAuthenticate(s: ImapSession, line: Buffer): Promise<void> {
  const a = s.auth!;
  const text = line.toString('latin1');
  let done: Done;
  if (text === '*') {
    s.auth = null;
    s.mode = 'command';
    done = bad('AUTHENTICATE cancelled');
  } else {
    const decoded = decodeBase64(text);
    if (!decoded) {
      s.auth = null;
      s.mode = 'command';
      done = bad('AUTHENTICATE: answer is not base64');
    } else {
      done = await apply(s, a.tag, await a.exchange.step(decoded));
    }
  }
  if (done) s.tagged(a.tag, done.status, done.text, done.code);
}

async function apply(s: ImapSession, tag: string, step: SaslStep): Promise<Done> {
  if (step.kind === 'challenge' || (step.kind === 'success' && step.data && step.data.length > 0)) {
    // RFC 9051 §7.5: `+ base64`; a mechanism's final data (SCRAM) also goes as a
    // challenge the client answers with an empty line.
    const data = step.kind === 'challenge' ? step.data : step.data!;
    if (step.kind === 'success') {
      const user = step.user;
      s.auth = { tag, mechanism: s.auth!.mechanism, exchange: { step: async () => ({ kind: 'success', user, data: null }) } };
    }
    s.mode = 'auth';
    s.write(`+ ${data.toString('base64')}\r\n`);
    return null;
  }
  s.mode = 'command';
  s.auth = null;
  return finish(s, tag, 'AUTHENTICATE', step);
}

function finish(s: ImapSession, tag: string, name: string, step: SaslStep): Done {
  if (step.kind === 'success') {
    s.loggedIn(step.user);
    // RFC 9051 §6.2.3: the capabilities change after login; send them along.
    return ok(`${name} completed`, `CAPABILITY ${capabilityList(s)}`);
  }
  if (step.kind === 'challenge') return no(`${name} failed`);
  switch (step.reason) {
    case 'bad_credentials':
      return no(`${name}: invalid credentials`, 'AUTHENTICATIONFAILED');
    case 'malformed':
      return bad(`${name}: ${step.message || 'malformed authentication data'}`);
    case 'aborted':
      return bad(`${name} cancelled`);
    case 'temporary':
      return no(`${name}: authentication temporarily unavailable, try again later`, 'UNAVAILABLE');
    case 'throttled':
      return throttled(s, tag);
  }
}

function throttled(s: ImapSession, tag: string): Done {
  s.tagged(tag, 'NO', 'Too many failed logins, try again later', 'UNAVAILABLE');
  s.close('Too many failed logins');
  return null;
}

/** Strict base64 (RFC 4648 §4); an empty line is empty data. */
function decodeBase64(text: string): Buffer | null {
  const t = text.trim();
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return null;
  return Buffer.from(t, 'base64');
}
