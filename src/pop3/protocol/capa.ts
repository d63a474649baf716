/**
 * The CAPA response body (RFC 2449 §5–§6), pure.
 *
 * Lists TOP, UIDL, RESP-CODES and PIPELINING (RFC 2449 §6), AUTH-RESP-CODE
 * (RFC 3206 §6), USER only when plaintext login is permitted now (§6.8),
 * SASL with the mechanisms offered now (RFC 5034 §6), STLS only before TLS
 * is active (RFC 2595 §4), and IMPLEMENTATION (§6.9).
 */

export interface CapaFlags {
  /** TLS already active on this connection. */
  tls: boolean;
  /** USER/PASS (and plaintext SASL) may be used in the current state. */
  plaintextAllowed: boolean;
  /** SASL mechanisms offered now, e.g. ['PLAIN']. */
  saslMechanisms: readonly string[];
  /** STLS available at all (a TLS context is configured). Default true. */
  stlsAvailable?: boolean;
  /** Whether the session is in TRANSACTION (login-only capabilities are left out). */
  authenticated?: boolean;
}

export function capabilities(flags: CapaFlags): string[] {
  const caps = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  if (!flags.authenticated) {
    if (flags.plaintextAllowed) caps.push('USER');
    const mechs = flags.saslMechanisms.map((m) => m.toUpperCase()).filter((m) => /^[A-Z0-9_-]{1,20}$/.test(m));
    if (mechs.length > 0) caps.push(`SASL ${mechs.join(' ')}`);
    if (!flags.tls && (flags.stlsAvailable ?? true)) caps.push('STLS');
  }
  caps.push('IMPLEMENTATION Mailroom');
  return caps;
}
