/**
 * The POP3 session state machine as a pure reducer (RFC 1939 §3–§6).
 *
 * A session starts in AUTHORIZATION (RFC 1939 §4), optionally remembering the
 * name from an accepted USER until PASS (§7, USER/PASS). A successful login
 * moves it to TRANSACTION (§5); QUIT from TRANSACTION enters UPDATE (§6),
 * where marked deletions are applied; QUIT from AUTHORIZATION ends the
 * session without UPDATE. `allowed` is the per-state command table, and the
 * deletion helpers give the §5 semantics: a deleted message may not be
 * referenced again ("-ERR message N already deleted") until RSET.
 */

import type { Verb } from './command.ts';

export type SessionState =
  | { kind: 'AUTHORIZATION'; pendingUser?: string; tls: boolean }
  | { kind: 'TRANSACTION'; user: string; tls: boolean }
  | { kind: 'UPDATE'; user: string }
  | { kind: 'CLOSED' };

export type StateKind = SessionState['kind'];

export type Event =
  | { type: 'user'; name: string }
  | { type: 'login'; user: string }
  | { type: 'loginFailed' }
  | { type: 'tls' }
  | { type: 'quit' };

const TABLE: Record<StateKind, ReadonlySet<Verb>> = {
  // RFC 1939 §4 (+ CAPA: RFC 2449 §5 "any state"; STLS: RFC 2595 §4; AUTH: RFC 5034 §4).
  AUTHORIZATION: new Set<Verb>(['USER', 'PASS', 'QUIT', 'CAPA', 'STLS', 'AUTH', 'NOOP']),
  // RFC 1939 §5.
  TRANSACTION: new Set<Verb>(['STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL', 'QUIT', 'CAPA']),
  UPDATE: new Set<Verb>(),
  CLOSED: new Set<Verb>(),
};

export function initialState(tls = false): SessionState {
  return { kind: 'AUTHORIZATION', tls };
}

/** Whether `verb` may be issued in `state` (a protocol check; policy such as "no USER without TLS" is separate). */
export function allowed(state: SessionState, verb: Verb): boolean {
  if (verb === 'PASS' && state.kind === 'AUTHORIZATION') return state.pendingUser !== undefined;
  if (verb === 'STLS' && state.kind === 'AUTHORIZATION') return !state.tls;
  return TABLE[state.kind].has(verb);
}

/** Pure transition function; events invalid for the state leave it unchanged. */
export function reduce(state: SessionState, event: Event): SessionState {
  switch (event.type) {
    case 'user':
      if (state.kind !== 'AUTHORIZATION') return state;
      return { kind: 'AUTHORIZATION', tls: state.tls, pendingUser: event.name };
    case 'loginFailed':
      if (state.kind !== 'AUTHORIZATION') return state;
      return { kind: 'AUTHORIZATION', tls: state.tls };
    case 'login':
      if (state.kind !== 'AUTHORIZATION') return state;
      return { kind: 'TRANSACTION', user: event.user, tls: state.tls };
    case 'tls':
      // RFC 2595 §4: after STLS the client starts over in AUTHORIZATION; forget any USER.
      if (state.kind !== 'AUTHORIZATION') return state;
      return { kind: 'AUTHORIZATION', tls: true };
    case 'quit':
      if (state.kind === 'TRANSACTION') return { kind: 'UPDATE', user: state.user };
      return { kind: 'CLOSED' };
  }
}

export type MarkResult = { ok: true; deleted: ReadonlySet<number> } | { ok: false; error: string };

/** Validate a message number against the maildrop size and deletions (RFC 1939 §5). */
export function checkMessage(deleted: ReadonlySet<number>, n: number, count: number): string | undefined {
  if (!Number.isInteger(n) || n < 1 || n > count) return 'no such message';
  if (deleted.has(n)) return `message ${n} already deleted`;
  return undefined;
}

/** DELE: mark message `n` deleted, returning a new set (the input is not modified). */
export function markDeleted(deleted: ReadonlySet<number>, n: number, count: number): MarkResult {
  const error = checkMessage(deleted, n, count);
  if (error !== undefined) return { ok: false, error };
  const next = new Set(deleted);
  next.add(n);
  return { ok: true, deleted: next };
}

/** RSET (RFC 1939 §5): unmark everything. */
export function resetDeleted(): ReadonlySet<number> {
  return new Set<number>();
}

/** Messages still visible: numbers 1..count not marked (for STAT, LIST and UIDL). */
export function visibleMessages(deleted: ReadonlySet<number>, count: number): number[] {
  const out: number[] = [];
  for (let i = 1; i <= count; i++) if (!deleted.has(i)) out.push(i);
  return out;
}
