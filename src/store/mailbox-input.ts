// Validation and normalization of mailbox-store input, shared by every
// backend so they agree on names, UID lists and flags: mailbox paths
// (RFC 9051 §5.1, `INBOX` case-insensitive), UID lists (deduplicated,
// ascending), and flags (RFC 9051 §2.3.2: system flags in canonical case,
// keywords compared case-insensitively with no duplicates, \Recent never
// stored because it is a session property).

import { StoreError } from './store.ts';
import { MAILBOX_SEPARATOR, type FlagOperation } from './mailbox-store.ts';
import { requireFlag } from './names.ts';

/** RFC 9051 §5.1: INBOX is case-insensitive; other names are exact. */
export function canonicalMailboxName(name: string): string {
  return name.toUpperCase() === 'INBOX' ? 'INBOX' : name;
}

/** A mailbox path: non-empty levels separated by `/`, no control characters. */
export function requireMailboxName(name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > 1000 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new StoreError('invalid', `invalid mailbox name: ${JSON.stringify(name)}`);
  }
  if (name.split(MAILBOX_SEPARATOR).some((level) => level === '')) {
    throw new StoreError('invalid', `invalid mailbox name (empty level): ${JSON.stringify(name)}`);
  }
  return canonicalMailboxName(name);
}

export function requireId(n: unknown, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new StoreError('invalid', `${what} must be an integer`);
  return n;
}

/** Positive integers, deduplicated, ascending. */
export function requireUids(uids: readonly number[]): number[] {
  if (!Array.isArray(uids) || !uids.every((u) => typeof u === 'number' && Number.isSafeInteger(u) && u > 0)) {
    throw new StoreError('invalid', 'uids must be positive integers');
  }
  return [...new Set(uids)].sort((a, b) => a - b);
}

/** RFC 9051 §2.3.2 system flags, in their canonical spelling. \Recent is
 * left out: it is per session and never stored. */
export const SYSTEM_FLAGS: readonly string[] = ['\\Seen', '\\Answered', '\\Flagged', '\\Deleted', '\\Draft'];
const SYSTEM_BY_LOWER = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

/** Validates flags and returns them canonical: system flags in canonical
 * case, keywords deduplicated case-insensitively (first spelling kept),
 * \Recent dropped. */
export function normalizeFlags(flags: readonly string[] | undefined): string[] {
  if (flags !== undefined && !Array.isArray(flags)) throw new StoreError('invalid', 'flags must be an array');
  const out: string[] = [];
  const seen = new Set<string>();
  for (const raw of flags ?? []) {
    if (typeof raw !== 'string') throw new StoreError('invalid', 'flags must be strings');
    const f = requireFlag(raw);
    const lower = f.toLowerCase();
    if (lower === '\\recent' || seen.has(lower)) continue;
    seen.add(lower);
    out.push(SYSTEM_BY_LOWER.get(lower) ?? f);
  }
  return out;
}

/** Flags after `op` (add/remove/replace) with `given` (already normalized). */
export function applyFlagOperation(current: readonly string[], op: FlagOperation, given: readonly string[]): string[] {
  if (op === 'replace') return [...given];
  const givenLower = new Set(given.map((f) => f.toLowerCase()));
  if (op === 'remove') return current.filter((f) => !givenLower.has(f.toLowerCase()));
  const have = new Set(current.map((f) => f.toLowerCase()));
  return [...current, ...given.filter((f) => !have.has(f.toLowerCase()))];
}

/** Same set of flags, compared case-insensitively. */
export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const la = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => la.has(f.toLowerCase()));
}

export function requireFlagOperation(op: unknown): FlagOperation {
  if (op !== 'add' && op !== 'remove' && op !== 'replace') {
    throw new StoreError('invalid', `invalid flag operation: ${JSON.stringify(op)}`);
  }
  return op;
}
