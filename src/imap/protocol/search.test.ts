// Tests for SEARCH: parsing every RFC 9051 §6.4.4 key (plus NEW/OLD/RECENT,
// MODSEQ, OLDER/YOUNGER), evaluation against a fake message view
// (case-insensitive substring on decoded text, dates disregarding time and
// zone, sets with "*" and "$", NOT/OR nesting), searchNeeds laziness, and
// property tests: the evaluator never throws and agrees with De Morgan.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommandReader } from './tokenizer.ts';
import { parseCommand } from './commands.ts';
import { matches, searchNeeds, usesModseq, type MessageView, type SearchContext, type SearchKey } from './search.ts';

function key(criteria: string): SearchKey {
  const evs = new CommandReader().push(Buffer.from(`t SEARCH ${criteria}\r\n`));
  const e = evs[0];
  assert.ok(e && e.type === 'command', JSON.stringify(evs));
  const r = parseCommand(e.tokens);
  assert.ok(r.ok, `${criteria}: ${JSON.stringify(r)}`);
  assert.ok(r.command.name === 'SEARCH');
  return r.command.key;
}

type Msg = {
  seq: number;
  uid: number;
  flags?: string[];
  recent?: boolean;
  size?: number;
  internal?: string;
  offset?: number;
  modseq?: number;
  headers?: Record<string, string[]>;
  sent?: { date: string; offsetMinutes: number } | null;
  body?: string;
};

function view(m: Msg, reads?: string[]): MessageView {
  const headers = m.headers ?? {};
  return {
    seq: m.seq,
    uid: m.uid,
    flags: m.flags ?? [],
    recent: m.recent ?? false,
    size: m.size ?? 100,
    internalDate: new Date(m.internal ?? '2024-03-10T12:00:00Z'),
    internalDateOffset: m.offset ?? 0,
    modseq: m.modseq ?? 1,
    sentDate: () => {
      reads?.push('sentDate');
      return m.sent ? { date: new Date(m.sent.date), offsetMinutes: m.sent.offsetMinutes } : null;
    },
    header: (name) => {
      reads?.push(`header:${name}`);
      const k = Object.keys(headers).find((h) => h.toLowerCase() === name.toLowerCase());
      return k ? headers[k]! : [];
    },
    headerText: () => {
      reads?.push('headerText');
      return Object.entries(headers).map(([k, vs]) => vs.map((v) => `${k}: ${v}`).join('\r\n')).join('\r\n');
    },
    bodyText: () => {
      reads?.push('bodyText');
      return m.body ?? '';
    },
  };
}

const ctx: SearchContext = { maxSeq: 10, maxUid: 500, savedUids: new Set([7, 9]), now: new Date('2024-03-10T13:00:00Z') };
const test = (criteria: string, m: Msg): boolean => matches(key(criteria), view(m), ctx);

describe('SEARCH keys', () => {
  it('flags and their negations, KEYWORD/UNKEYWORD case-insensitively', () => {
    const m: Msg = { seq: 1, uid: 1, flags: ['\\Seen', '\\Flagged', '$Label1'] };
    for (const [k, want] of [
      ['ALL', true], ['SEEN', true], ['UNSEEN', false], ['FLAGGED', true], ['UNFLAGGED', false],
      ['ANSWERED', false], ['UNANSWERED', true], ['DELETED', false], ['UNDELETED', true], ['DRAFT', false], ['UNDRAFT', true],
      ['KEYWORD $label1', true], ['UNKEYWORD $Label1', false], ['KEYWORD other', false],
    ] as const) assert.equal(test(k, m), want, k);
  });

  it('RFC 3501 NEW, OLD, RECENT', () => {
    assert.equal(test('NEW', { seq: 1, uid: 1, recent: true }), true);
    assert.equal(test('NEW', { seq: 1, uid: 1, recent: true, flags: ['\\Seen'] }), false);
    assert.equal(test('OLD', { seq: 1, uid: 1, recent: true }), false);
    assert.equal(test('RECENT', { seq: 1, uid: 1, recent: true }), true);
  });

  it('address and text keys: case-insensitive substring of decoded values', () => {
    const m: Msg = {
      seq: 1, uid: 1,
      headers: { From: ['Jöran Smith <JS@Example.org>'], To: ['a@b.c'], Cc: [], Subject: ['Grüße aus Köln'], 'X-Spam': ['yes'] },
      body: 'The quick brown FOX',
    };
    assert.equal(test('FROM smith', m), true);
    assert.equal(test('FROM "jöran"', m), true);
    assert.equal(test('FROM example.ORG', m), true);
    assert.equal(test('TO b.c', m), true);
    assert.equal(test('CC x', m), false);
    assert.equal(test('BCC ""', m), false, 'no Bcc field');
    assert.equal(test('SUBJECT "GRÜSSE"', m), false, 'no ß→SS expansion; simple folding');
    assert.equal(test('SUBJECT {5+}\r\nköln', m), true);
    assert.equal(test('HEADER X-SPAM ""', m), true, 'HEADER with empty string: the field exists');
    assert.equal(test('HEADER X-Other ""', m), false);
    assert.equal(test('HEADER x-spam YES', m), true);
    assert.equal(test('BODY fox', m), true);
    assert.equal(test('BODY smith', m), false, 'BODY does not look in headers');
    assert.equal(test('TEXT smith', m), true);
    assert.equal(test('TEXT "quick brown"', m), true);
  });

  it('internal dates disregard time and zone; SENT* use the Date header in its own zone', () => {
    // 2024-03-10 23:30 at -0500 is 2024-03-11 04:30 UTC, but the date is the 10th.
    const m: Msg = { seq: 1, uid: 1, internal: '2024-03-11T04:30:00Z', offset: -300, sent: { date: '2024-03-01T23:30:00Z', offsetMinutes: 120 } };
    assert.equal(test('ON 10-Mar-2024', m), true);
    assert.equal(test('ON 11-Mar-2024', m), false);
    assert.equal(test('BEFORE 10-Mar-2024', m), false);
    assert.equal(test('BEFORE 11-Mar-2024', m), true);
    assert.equal(test('SINCE 10-Mar-2024', m), true);
    assert.equal(test('SINCE 11-Mar-2024', m), false);
    assert.equal(test('SENTON 2-Mar-2024', m), true, 'sent 01:30 on the 2nd at +0200');
    assert.equal(test('SENTBEFORE 2-Mar-2024', m), false);
    assert.equal(test('SENTSINCE "2-Mar-2024"', m), true);
    assert.equal(test('SENTON 10-Mar-2024', { seq: 1, uid: 1, internal: '2024-03-10T10:00:00Z', sent: null }), true, 'no Date header: internal date');
  });

  it('sizes, OLDER/YOUNGER with the injected clock, MODSEQ', () => {
    const m: Msg = { seq: 1, uid: 1, size: 500, internal: '2024-03-10T12:00:00Z', modseq: 42 };
    assert.equal(test('LARGER 499', m), true);
    assert.equal(test('LARGER 500', m), false);
    assert.equal(test('SMALLER 501', m), true);
    assert.equal(test('SMALLER 500', m), false);
    assert.equal(test('OLDER 3600', m), true);
    assert.equal(test('OLDER 3601', m), false);
    assert.equal(test('YOUNGER 3600', m), true);
    assert.equal(test('MODSEQ 42', m), true);
    assert.equal(test('MODSEQ 43', m), false);
    assert.equal(test('MODSEQ "/flags/\\\\draft" all 40', m), true);
  });

  it('message and UID sets with "*" and "$" (RFC 5182)', () => {
    const m: Msg = { seq: 10, uid: 9 };
    assert.equal(test('1:5', m), false);
    assert.equal(test('5:*', m), true, '* is the last sequence number');
    assert.equal(test('*', m), true);
    assert.equal(test('UID 1:8', m), false);
    assert.equal(test('UID 400:*', m), false);
    assert.equal(test('UID 9', m), true);
    assert.equal(test('$', m), true, '$ holds UIDs 7 and 9');
    assert.equal(test('UID $', m), true);
    assert.equal(matches(key('$'), view(m), { maxSeq: 10, maxUid: 10 }), false, 'no saved result: empty');
  });

  it('NOT, OR, parenthesized lists and implicit AND', () => {
    const m: Msg = { seq: 1, uid: 1, flags: ['\\Seen'], size: 50 };
    assert.equal(test('NOT SEEN', m), false);
    assert.equal(test('OR DELETED SEEN', m), true);
    assert.equal(test('OR DELETED (SEEN LARGER 100)', m), false);
    assert.equal(test('(SEEN SMALLER 100) NOT DELETED', m), true);
    assert.equal(test('NOT NOT NOT SEEN', m), false);
    assert.equal(test('OR OR DELETED DRAFT OR FLAGGED SEEN', m), true);
  });

  it('searchNeeds names only what a key reads; the evaluator reads lazily', () => {
    assert.deepEqual(searchNeeds(key('SEEN UID 1:5 LARGER 3')), { headers: new Set(), headerText: false, bodyText: false, sentDate: false });
    assert.deepEqual(searchNeeds(key('OR FROM a NOT SUBJECT b')), { headers: new Set(['from', 'subject']), headerText: false, bodyText: false, sentDate: false });
    assert.deepEqual(searchNeeds(key('HEADER X-Foo a BODY b SENTON 1-Jan-2020')), { headers: new Set(['x-foo']), headerText: false, bodyText: true, sentDate: true });
    assert.deepEqual(searchNeeds(key('TEXT a')), { headers: new Set(), headerText: true, bodyText: true, sentDate: false });
    const reads: string[] = [];
    matches(key('DELETED BODY x'), view({ seq: 1, uid: 1 }, reads), ctx);
    assert.deepEqual(reads, [], 'AND stops at the first false key');
    assert.equal(usesModseq(key('OR SEEN NOT MODSEQ 5')), true);
    assert.equal(usesModseq(key('SEEN')), false);
  });

  it('nesting is bounded (no stack exhaustion)', () => {
    const evs = new CommandReader({ maxDepth: 200 }).push(Buffer.from(`t SEARCH ${'NOT '.repeat(100)}SEEN\r\n`));
    const e = evs[0]!;
    assert.ok(e.type === 'command');
    const r = parseCommand(e.tokens);
    assert.ok(!r.ok && /nested too deeply/.test(r.error.text));
  });
});

const leaf: fc.Arbitrary<SearchKey> = fc.oneof(
  fc.constant<SearchKey>({ type: 'all' }),
  fc.tuple(fc.constantFrom('\\Seen', '\\Deleted', 'k'), fc.boolean()).map(([flag, set]): SearchKey => ({ type: 'flag', flag, set })),
  fc.tuple(fc.constantFrom('from', 'subject'), fc.string({ maxLength: 3 })).map(([field, value]): SearchKey => ({ type: 'header', field, value })),
  fc.string({ maxLength: 3 }).map((value): SearchKey => ({ type: 'body', value })),
  fc.tuple(fc.constantFrom('larger', 'smaller') as fc.Arbitrary<'larger' | 'smaller'>, fc.nat(200)).map(([op, size]): SearchKey => ({ type: 'size', op, size })),
  fc.tuple(fc.nat(20), fc.nat(20)).map(([a, b]): SearchKey => ({ type: 'uid', set: { saved: false, ranges: [{ start: a + 1, end: b === 0 ? '*' : b }] } })),
);
const keyArb: fc.Arbitrary<SearchKey> = fc.letrec<{ k: SearchKey }>((tie) => ({
  k: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    tie('k').map((k): SearchKey => ({ type: 'not', key: k })),
    fc.tuple(tie('k'), tie('k')).map(([a, b]): SearchKey => ({ type: 'or', a, b })),
    fc.array(tie('k'), { minLength: 1, maxLength: 3 }).map((keys): SearchKey => ({ type: 'and', keys })),
  ),
})).k;
const msgArb = fc.record({
  seq: fc.integer({ min: 1, max: 10 }),
  uid: fc.integer({ min: 1, max: 30 }),
  flags: fc.subarray(['\\Seen', '\\Deleted', 'K']),
  size: fc.nat(300),
  headers: fc.record({ From: fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }), Subject: fc.array(fc.string({ maxLength: 6 }), { maxLength: 1 }) }),
  body: fc.string({ maxLength: 10 }),
});

describe('SEARCH properties', () => {
  it('text matching equals a case-insensitive substring test, regex characters included', () => {
    const unit = fc.constantFrom('a', 'B', 'c', 'ä', 'Ä', 'é', 'É', ' ', '.', '*', '+', '?', '(', ')', '[', ']', '{', '}', '|', '^', '$', '\\', '/', '-');
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 12 }), fc.string({ unit, maxLength: 4 }), (body, needle) => {
        const want = body.toLowerCase().includes(needle.toLowerCase());
        assert.equal(matches({ type: 'body', value: needle }, view({ seq: 1, uid: 1, body }), ctx), want, JSON.stringify([body, needle]));
      }),
      { numRuns: 3000 },
    );
    assert.equal(test('BODY "café"', { seq: 1, uid: 1, body: 'CAFE\u0301 au lait' }), true, 'decomposed text matches its composed form');
  });

  it('never throws; NOT negates; OR is the disjunction (De Morgan)', () => {
    fc.assert(
      fc.property(keyArb, keyArb, msgArb, (a, b, m) => {
        const v = view(m);
        const ra = matches(a, v, ctx);
        const rb = matches(b, v, ctx);
        assert.equal(matches({ type: 'not', key: a }, v, ctx), !ra);
        assert.equal(matches({ type: 'or', a, b }, v, ctx), ra || rb);
        assert.equal(matches({ type: 'not', key: { type: 'and', keys: [a, b] } }, v, ctx), matches({ type: 'or', a: { type: 'not', key: a }, b: { type: 'not', key: b } }, v, ctx));
      }),
      { numRuns: 2000 },
    );
  });
});
