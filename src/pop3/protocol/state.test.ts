import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { allowed, initialState, reduce, markDeleted, checkMessage, resetDeleted, visibleMessages, type SessionState } from './state.ts';
import type { Verb } from './command.ts';

const ALL: Verb[] = ['USER', 'PASS', 'STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL', 'QUIT', 'CAPA', 'STLS', 'AUTH'];

describe('allowed: per-state command table', () => {
  it('AUTHORIZATION (RFC 1939 §4)', () => {
    const s = initialState();
    const yes = ALL.filter((v) => allowed(s, v));
    assert.deepEqual(yes.sort(), ['AUTH', 'CAPA', 'NOOP', 'QUIT', 'STLS', 'USER'].sort());
  });
  it('PASS only after USER', () => {
    const s = reduce(initialState(), { type: 'user', name: 'mrose' });
    assert.deepEqual(s, { kind: 'AUTHORIZATION', tls: false, pendingUser: 'mrose' });
    assert.ok(allowed(s, 'PASS'));
    assert.ok(!allowed(reduce(s, { type: 'loginFailed' }), 'PASS'));
  });
  it('STLS only before TLS (RFC 2595 §4)', () => {
    assert.ok(allowed(initialState(false), 'STLS'));
    assert.ok(!allowed(initialState(true), 'STLS'));
    const s = reduce(reduce(initialState(), { type: 'user', name: 'x' }), { type: 'tls' });
    assert.deepEqual(s, { kind: 'AUTHORIZATION', tls: true });
  });
  it('TRANSACTION (RFC 1939 §5)', () => {
    const s: SessionState = { kind: 'TRANSACTION', user: 'u', tls: true };
    const yes = ALL.filter((v) => allowed(s, v));
    assert.deepEqual(yes.sort(), ['CAPA', 'DELE', 'LIST', 'NOOP', 'QUIT', 'RETR', 'RSET', 'STAT', 'TOP', 'UIDL'].sort());
  });
  it('UPDATE and CLOSED allow nothing', () => {
    for (const s of [{ kind: 'UPDATE', user: 'u' }, { kind: 'CLOSED' }] as SessionState[]) {
      assert.deepEqual(ALL.filter((v) => allowed(s, v)), []);
    }
  });
});

describe('reduce', () => {
  it('login → TRANSACTION → QUIT → UPDATE', () => {
    let s = initialState(true);
    s = reduce(s, { type: 'user', name: 'mrose' });
    s = reduce(s, { type: 'login', user: 'mrose' });
    assert.deepEqual(s, { kind: 'TRANSACTION', user: 'mrose', tls: true });
    assert.equal(reduce(s, { type: 'user', name: 'x' }), s);
    assert.equal(reduce(s, { type: 'tls' }), s);
    s = reduce(s, { type: 'quit' });
    assert.deepEqual(s, { kind: 'UPDATE', user: 'mrose' });
  });
  it('QUIT in AUTHORIZATION closes without UPDATE (RFC 1939 §4)', () => {
    assert.deepEqual(reduce(initialState(), { type: 'quit' }), { kind: 'CLOSED' });
  });
  it('property: never throws; UPDATE only reached from TRANSACTION', () => {
    const ev = fc.oneof(
      fc.record({ type: fc.constant('user' as const), name: fc.string() }),
      fc.record({ type: fc.constant('login' as const), user: fc.string() }),
      fc.constant({ type: 'loginFailed' as const }),
      fc.constant({ type: 'tls' as const }),
      fc.constant({ type: 'quit' as const }),
    );
    fc.assert(fc.property(fc.array(ev), (events) => {
      let s = initialState();
      for (const e of events) {
        const next = reduce(s, e);
        if (next.kind === 'UPDATE' && s.kind !== 'UPDATE') assert.equal(s.kind, 'TRANSACTION');
        if (s.kind === 'TRANSACTION' && next.kind === 'AUTHORIZATION') assert.fail('went back to AUTHORIZATION');
        s = next;
      }
    }));
  });
});

describe('deletion helpers (RFC 1939 §5)', () => {
  it('DELE marks, twice is an error, unknown is an error', () => {
    const r = markDeleted(resetDeleted(), 1, 2);
    assert.ok(r.ok);
    assert.deepEqual([...r.deleted], [1]);
    assert.deepEqual(markDeleted(r.deleted, 1, 2), { ok: false, error: 'message 1 already deleted' });
    assert.deepEqual(markDeleted(r.deleted, 3, 2), { ok: false, error: 'no such message' });
    assert.deepEqual(markDeleted(r.deleted, 0, 2), { ok: false, error: 'no such message' });
    assert.equal(checkMessage(r.deleted, 2, 2), undefined);
    assert.equal(checkMessage(r.deleted, 1, 2), 'message 1 already deleted');
  });
  it('input set is not modified', () => {
    const before = new Set([2]);
    markDeleted(before, 1, 3);
    assert.deepEqual([...before], [2]);
  });
  it('visibleMessages and RSET', () => {
    assert.deepEqual(visibleMessages(new Set([2]), 3), [1, 3]);
    assert.deepEqual(visibleMessages(resetDeleted(), 2), [1, 2]);
  });
  it('property: marking is idempotent-refusing and counts add up', () => {
    fc.assert(fc.property(fc.nat(50), fc.array(fc.integer({ min: -2, max: 60 })), (count, ns) => {
      let del: ReadonlySet<number> = resetDeleted();
      for (const n of ns) {
        const r = markDeleted(del, n, count);
        if (r.ok) {
          assert.ok(!del.has(n) && n >= 1 && n <= count);
          del = r.deleted;
        } else {
          assert.ok(del.has(n) || n < 1 || n > count);
        }
      }
      assert.equal(visibleMessages(del, count).length + del.size, count);
    }));
  });
});
