// SMTP AUTH (RFC 4954): offered only on the submission roles and only over
// TLS (or plaintext from loopback when the operator allows it for testing).
// The SASL mechanisms live in auth/; this file carries their challenges and
// answers as `334 base64` lines and maps outcomes to reply codes.
import { R, reply } from '../protocol/reply.ts';
import type { SaslStep } from '../../auth/types.ts';
import type { SmtpSession } from './session.ts';

/** RFC 4954 §4: AUTH is offered only where this is true. */
export function authOffered(s: SmtpSession): boolean {
  return s.role !== 'smtp' && s.services.auth !== null && s.user === null && (s.tlsInfo !== null || plaintextAllowed(s));
}

function plaintextAllowed(s: SmtpSession): boolean {
  return s.config.auth.allow_plaintext_loopback && isLoopback(s.clientIp);
}

export function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.');
}

export async function startAuth(s: SmtpSession, mechanism: string, initial: string | null): Promise<void> {
  const auth = s.services.auth;
  if (s.role === 'smtp' || !auth) return void s.send(R.notImplemented('AUTH'));
  if (s.user) return void s.send(R.authAlready);
  // RFC 4954 §4 / RFC 3207: never let a password cross the wire in clear.
  if (s.tlsInfo === null && !plaintextAllowed(s)) return void s.send(R.authEncryptionRequired);
  const ctx = { clientIp: s.clientIp, protocol: s.role, sessionId: s.id };
  if (auth.isBlocked(ctx)) return s.close(R.authThrottled);
  const exchange = auth.start(mechanism.toUpperCase(), ctx);
  if (!exchange) return void s.send(R.authMechanismUnsupported);
  let response: Buffer | null = null;
  if (initial !== null) {
    // RFC 4954 §4: "=" is an empty initial response.
    const decoded = initial === '' ? Buffer.alloc(0) : decodeBase64(initial);
    if (!decoded) return void s.send(R.authBadBase64);
    response = decoded;
  }
  s.auth = { exchange, mechanism: mechanism.toUpperCase(), success: null };
  await apply(s, await exchange.step(response));
}

/** A line from the client while an exchange waits for it. */
export async function continueAuth(s: SmtpSession, line: Buffer): Promise<void> {
  const a = s.auth!;
  const text = line.toString('latin1');
  if (text === '*') {
    // RFC 4954 §4: the client cancels the exchange.
    s.auth = null;
    s.mode = 'command';
    return void s.send(R.authAborted);
  }
  if (a.success) {
    // The client acknowledged our final SCRAM message (RFC 4954 §4: empty line).
    s.mode = 'command';
    return succeed(s, a.success);
  }
  const decoded = decodeBase64(text);
  if (!decoded) {
    s.auth = null;
    s.mode = 'command';
    return void s.send(R.authBadBase64);
  }
  await apply(s, await a.exchange.step(decoded));
}

async function apply(s: SmtpSession, step: SaslStep): Promise<void> {
  const a = s.auth!;
  switch (step.kind) {
    case 'challenge':
      s.mode = 'auth';
      return void s.send(R.authChallenge(step.data.toString('base64')));
    case 'success':
      if (step.data && step.data.length > 0) {
        // RFC 4954 §4: additional data with success goes in a 334 the client answers empty.
        a.success = step.user;
        s.mode = 'auth';
        return void s.send(R.authChallenge(step.data.toString('base64')));
      }
      s.mode = 'command';
      return succeed(s, step.user);
    case 'failure':
      s.auth = null;
      s.mode = 'command';
      switch (step.reason) {
        case 'bad_credentials':
          return void s.send(R.authFailed);
        case 'malformed':
          return void s.send(reply(501, '5.5.2', step.message || 'Malformed authentication data'));
        case 'aborted':
          return void s.send(R.authAborted);
        case 'temporary':
          return void s.send(R.authTempFailure);
        case 'throttled':
          return s.close(R.authThrottled);
      }
  }
}

function succeed(s: SmtpSession, user: NonNullable<SmtpSession['user']>): void {
  const mechanism = s.auth?.mechanism;
  s.auth = null;
  s.user = user;
  s.log.info('authenticated', { user: user.address, mechanism, app_password: user.appPassword ?? undefined });
  s.send(R.authOk);
}

/** Strict base64 (RFC 4648 §4); null if the text is not base64. */
function decodeBase64(text: string): Buffer | null {
  const t = text.trim();
  if (t.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(t)) return null;
  return Buffer.from(t, 'base64');
}
