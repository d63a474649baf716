// Tests for IMAP response serialization: status responses with every response
// code, LIST/LSUB/STATUS/SEARCH/ESEARCH/FETCH/VANISHED/ENABLED/ID/NAMESPACE/
// QUOTA lines against RFC examples, and property tests: what we emit
// re-parses with the command reader (an untagged line read with a stand-in
// tag), names and byte data come back exactly, compact UID sets round-trip
// through the sequence-set parser, and INTERNALDATE round-trips.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommandReader, type Token } from './tokenizer.ts';
import { parseSequenceSet, expand } from './sequence-set.ts';
import { decodeMailboxName } from './mailbox-name.ts';
import { dateTimeOf } from './args.ts';
import {
  capabilityLine, compactSet, continuation, enabledLine, esearchLine, existsLine, expungeLine, fetchLine, flagsLine, formatInternalDate,
  idLine, listLine, namespaceLine, nstringBytes, quotaLine, quotaRootLine, recentLine, responseCode, searchLine, statusLine, tagged, untagged, vanishedLine,
  type ResponseCode,
} from './response.ts';

/** Re-read a response with the command reader: "* X" becomes "U X" (the reader wants a command tag). */
function reparse(line: string | Buffer): Token[] {
  const b = Buffer.isBuffer(line) ? line : Buffer.from(line, 'utf8');
  assert.ok(b.subarray(0, 2).toString() === '* ', 'untagged');
  const evs = new CommandReader({ nonSyncLiterals: 'plus' }).push(Buffer.concat([Buffer.from('U'), b.subarray(1)]));
  const cmds = evs.filter((e) => e.type === 'command');
  assert.equal(cmds.length, 1, `${b.toString('latin1')} → ${JSON.stringify(evs)}`);
  const e = cmds[0]!;
  return e.type === 'command' ? e.tokens : [];
}

/** Literals in responses are not followed by "+" continuations: the reader needs them marked non-synchronizing. */
function asNonSync(b: Buffer): Buffer {
  return Buffer.from(b.toString('latin1').replace(/\{(\d+)\}\r\n/g, '{$1+}\r\n'), 'latin1');
}

describe('IMAP responses', () => {
  it('tagged and untagged status responses with codes (RFC 9051 §7.1)', () => {
    assert.equal(tagged('a1', 'OK', 'LOGIN completed'), 'a1 OK LOGIN completed\r\n');
    assert.equal(tagged('a2', 'NO', 'no such mailbox', { name: 'TRYCREATE' }), 'a2 NO [TRYCREATE] no such mailbox\r\n');
    assert.equal(untagged('OK', 'Predicted next UID', { name: 'UIDNEXT', value: 4392 }), '* OK [UIDNEXT 4392] Predicted next UID\r\n');
    assert.equal(untagged('BYE', 'bye\r\nnow'), '* BYE bye now\r\n', 'CR/LF never split a response');
    assert.equal(tagged('a', 'OK', ''), 'a OK done\r\n', 'text is never empty');
    assert.equal(continuation(), '+ Ready\r\n');
    const codes: Array<[ResponseCode, string]> = [
      [{ name: 'ALERT' }, 'ALERT'],
      [{ name: 'CAPABILITY', capabilities: ['IMAP4rev2', 'IDLE'] }, 'CAPABILITY IMAP4rev2 IDLE'],
      [{ name: 'PERMANENTFLAGS', flags: ['\\Deleted', '\\Seen', '\\*'] }, 'PERMANENTFLAGS (\\Deleted \\Seen \\*)'],
      [{ name: 'UIDVALIDITY', value: 3857529045 }, 'UIDVALIDITY 3857529045'],
      [{ name: 'UNSEEN', value: 12 }, 'UNSEEN 12'],
      [{ name: 'HIGHESTMODSEQ', value: 715194045007 }, 'HIGHESTMODSEQ 715194045007'],
      [{ name: 'APPENDUID', uidValidity: 38505, uids: [3955] }, 'APPENDUID 38505 3955'],
      [{ name: 'COPYUID', uidValidity: 38505, sourceUids: [304, 319, 320, 321, 322], destUids: [3956, 3957, 3958, 3959, 3960] }, 'COPYUID 38505 304,319:322 3956:3960'],
      [{ name: 'COPYUID', uidValidity: 1, sourceUids: [5, 3], destUids: [10, 11] }, 'COPYUID 1 5,3 10:11'],
      [{ name: 'MODIFIED', set: [7, 9, 8, 12] }, 'MODIFIED 7:9,12'],
      [{ name: 'BADCHARSET', charsets: ['UTF-8', 'US-ASCII'] }, 'BADCHARSET (UTF-8 US-ASCII)'],
      [{ name: 'BADCHARSET' }, 'BADCHARSET'],
      [{ name: 'NOMODSEQ' }, 'NOMODSEQ'],
      [{ name: 'READ-WRITE' }, 'READ-WRITE'],
      [{ name: 'CLOSED' }, 'CLOSED'],
      [{ name: 'OVERQUOTA' }, 'OVERQUOTA'],
      [{ name: 'UNKNOWN-CTE' }, 'UNKNOWN-CTE'],
      [{ name: 'APPENDLIMIT', value: 1000 }, 'APPENDLIMIT 1000'],
    ];
    for (const [c, s] of codes) assert.equal(responseCode(c), s);
  });

  it('CAPABILITY, FLAGS, EXISTS, RECENT, EXPUNGE, ENABLED, VANISHED', () => {
    assert.equal(capabilityLine(['IMAP4rev2', 'STARTTLS']), '* CAPABILITY IMAP4rev2 STARTTLS\r\n');
    assert.equal(flagsLine(['\\Answered', '\\Seen']), '* FLAGS (\\Answered \\Seen)\r\n');
    assert.equal(existsLine(23), '* 23 EXISTS\r\n');
    assert.equal(recentLine(0), '* 0 RECENT\r\n');
    assert.equal(expungeLine(3), '* 3 EXPUNGE\r\n');
    assert.equal(enabledLine(['CONDSTORE', 'QRESYNC']), '* ENABLED CONDSTORE QRESYNC\r\n');
    assert.equal(enabledLine([]), '* ENABLED\r\n');
    assert.equal(vanishedLine([41, 43, 44, 45, 100], true), '* VANISHED (EARLIER) 41,43:45,100\r\n');
    assert.equal(vanishedLine([5], false), '* VANISHED 5\r\n');
    assert.equal(vanishedLine([], false), '');
  });

  it('LIST and LSUB lines: delimiter, mUTF-7 or UTF-8 names, CHILDINFO, OLDNAME (RFC 9051 §7.3.1, RFC 5258 §3.5)', () => {
    assert.equal(listLine({ attributes: ['\\HasNoChildren'], delimiter: '/', name: 'INBOX' }), '* LIST (\\HasNoChildren) "/" INBOX\r\n');
    assert.equal(listLine({ attributes: [], delimiter: '/', name: 'Entwürfe' }), '* LIST () "/" Entw&APw-rfe\r\n');
    assert.equal(listLine({ attributes: [], delimiter: '/', name: 'Entwürfe' }, { utf8: true }), '* LIST () "/" "Entwürfe"\r\n');
    assert.equal(listLine({ attributes: ['\\Noselect'], delimiter: null, name: 'a b' }), '* LIST (\\Noselect) NIL "a b"\r\n');
    assert.equal(
      listLine({ attributes: ['\\NonExistent'], delimiter: '/', name: 'Foo', childInfo: ['SUBSCRIBED'] }),
      '* LIST (\\NonExistent) "/" Foo ("CHILDINFO" ("SUBSCRIBED"))\r\n',
    );
    assert.equal(listLine({ attributes: [], delimiter: '/', name: 'New', oldName: 'Old' }), '* LIST () "/" New ("OLDNAME" (Old))\r\n');
    assert.equal(listLine({ kind: 'LSUB', attributes: [], delimiter: '.', name: 'x' }), '* LSUB () "." x\r\n');
    assert.equal(listLine({ attributes: [], delimiter: '\\', name: 'a"b' }), '* LIST () "\\\\" "a\\"b"\r\n');
  });

  it('STATUS, SEARCH (with MODSEQ), ESEARCH (RFC 4731 §3.1)', () => {
    assert.equal(statusLine('blurdybloop', [['MESSAGES', 231], ['UIDNEXT', 44292]]), '* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n');
    assert.equal(searchLine([2, 84, 882]), '* SEARCH 2 84 882\r\n');
    assert.equal(searchLine([]), '* SEARCH\r\n');
    assert.equal(searchLine([2, 5], 917162500), '* SEARCH 2 5 (MODSEQ 917162500)\r\n');
    assert.equal(searchLine([], 5), '* SEARCH\r\n', 'no MODSEQ without matches (RFC 7162 §3.1.5)');
    assert.equal(esearchLine({ tag: 'A282', uid: false, min: 2, count: 3 }), '* ESEARCH (TAG "A282") MIN 2 COUNT 3\r\n');
    assert.equal(esearchLine({ tag: 'A283', uid: true, all: [2, 10, 11, 12, 13, 14, 15] }), '* ESEARCH (TAG "A283") UID ALL 2,10:15\r\n');
    assert.equal(esearchLine({ tag: 'A284', uid: false, all: [], count: 0 }), '* ESEARCH (TAG "A284") COUNT 0\r\n');
    assert.equal(esearchLine({ uid: false, max: 9, modseq: 4 }), '* ESEARCH MAX 9 MODSEQ 4\r\n');
  });

  it('ID, NAMESPACE, QUOTA, QUOTAROOT (RFC 2971, RFC 9051 §7.3.3, RFC 9208)', () => {
    assert.equal(idLine([['name', 'Mailroom'], ['support-url', null]]), '* ID ("name" "Mailroom" "support-url" NIL)\r\n');
    assert.equal(idLine(null), '* ID NIL\r\n');
    assert.equal(namespaceLine({ personal: [{ prefix: '', delimiter: '/' }], other: [], shared: [] }), '* NAMESPACE (("" "/")) NIL NIL\r\n');
    assert.equal(quotaLine('', [{ name: 'STORAGE', usage: 10, limit: 512 }, { name: 'MESSAGE', usage: 3, limit: 1000 }]), '* QUOTA "" (STORAGE 10 512 MESSAGE 3 1000)\r\n');
    assert.equal(quotaRootLine('INBOX', ['']), '* QUOTAROOT INBOX ""\r\n');
    assert.equal(quotaRootLine('comp.mail.mime', []), '* QUOTAROOT comp.mail.mime\r\n');
  });

  it('FETCH lines: items in order, message data always as literals, literal8 for BINARY with NUL', () => {
    const line = fetchLine(12, [
      { item: 'UID', value: 5 },
      { item: 'FLAGS', flags: ['\\Seen'] },
      { item: 'INTERNALDATE', date: new Date('1996-07-17T09:44:25Z'), offsetMinutes: -420 },
      { item: 'RFC822.SIZE', value: 4286 },
      { item: 'MODSEQ', value: 624140003 },
      { item: 'BODY[]', name: 'BODY[HEADER.FIELDS (From)]<0>', data: Buffer.from('From: a\r\n\r\n') },
      { item: 'BODY[]', name: 'BODY[1]', data: Buffer.from('short') },
      { item: 'BODY[]', name: 'BODY[2]', data: null },
      { item: 'BINARY[]', name: 'BINARY[1]', data: Buffer.from([1, 0, 2]) },
      { item: 'BINARY.SIZE', name: 'BINARY.SIZE[1]', value: 3 },
      { item: 'ENVELOPE', raw: '(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)' },
      { item: 'RFC822.HEADER', data: Buffer.from('X: y') },
    ]);
    assert.equal(
      line.toString('latin1'),
      '* 12 FETCH (UID 5 FLAGS (\\Seen) INTERNALDATE "17-Jul-1996 02:44:25 -0700" RFC822.SIZE 4286 MODSEQ (624140003) ' +
        'BODY[HEADER.FIELDS (From)]<0> {11}\r\nFrom: a\r\n\r\n BODY[1] {5}\r\nshort BODY[2] NIL BINARY[1] ~{3}\r\n\x01\x00\x02 BINARY.SIZE[1] 3 ' +
        'ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) RFC822.HEADER {4}\r\nX: y)\r\n',
    );
    assert.equal(formatInternalDate(new Date('2024-03-05T01:02:03Z')), '" 5-Mar-2024 01:02:03 +0000"');
    assert.equal(nstringBytes(Buffer.from('a"b'), false, true).toString(), '"a\\"b"', 'quoted only when allowed');
    assert.equal(nstringBytes(Buffer.from('a\r\nb'), false, true).toString(), '{4}\r\na\r\nb');
    assert.equal(nstringBytes(null).toString(), 'NIL');
    assert.deepEqual(nstringBytes(Buffer.from([0x61, 0, 0x62])), Buffer.from([0x7b, 0x33, 0x7d, 13, 10, 0x61, 0x80, 0x62]), 'never NUL in a literal: 0x80 instead');
    assert.deepEqual(nstringBytes(Buffer.from([0x61, 0]), true), Buffer.from([0x7e, 0x7b, 0x32, 0x7d, 13, 10, 0x61, 0]), 'BINARY keeps NUL in a literal8');
  });

  it('compactSet merges runs, keeps order when asked', () => {
    assert.equal(compactSet([1, 2, 3, 4, 5, 7]), '1:5,7');
    assert.equal(compactSet([7, 5, 4, 3, 2, 1, 1]), '1:5,7');
    assert.equal(compactSet([]), '');
    assert.equal(compactSet([3, 4, 1, 2], false), '3:4,1:2');
  });
});

const nameArb = fc.string({ unit: fc.oneof(fc.constantFrom('a', 'Z', '&', '"', '\\', ' ', '%', '*', '/', ']', '(', 'ü', '日', '😀'), fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 12 });

describe('IMAP response properties', () => {
  it('LIST and STATUS lines re-parse, and the name decodes back, for rev1 (mUTF-7) and UTF-8 clients', () => {
    fc.assert(
      fc.property(nameArb, fc.boolean(), fc.constantFrom('/', '.', null), (name, utf8, delimiter) => {
        for (const line of [listLine({ attributes: ['\\HasChildren'], delimiter, name }, { utf8 }), statusLine(name, [['MESSAGES', 1]], { utf8 })]) {
          const t = reparse(asNonSync(Buffer.from(line, 'utf8')));
          const n = t[0]!.type === 'atom' && (t[0] as { value: string }).value === 'LIST' ? t[3]! : t[1]!;
          let wire: string;
          if (n.type === 'literal') wire = Buffer.from(n.value).toString('utf8');
          else if (n.type === 'atom' || n.type === 'quoted') wire = n.value;
          else if (n.type === 'number') wire = String(n.value);
          else if (n.type === 'nil') wire = 'NIL';
          else throw new Error(`unexpected ${JSON.stringify(n)}`);
          const back = utf8 ? wire : (decodeMailboxName(wire) as { value: string }).value;
          // A lone surrogate has no UTF-8 form: compare the well-formed version.
          assert.equal(back, utf8 ? name.toWellFormed() : name);
        }
      }),
      { numRuns: 1500 },
    );
  });

  it('FETCH lines re-parse and byte data comes back exactly', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }).map((a) => a.map((b) => (b === 0 ? 1 : b))),
        fc.uint8Array({ maxLength: 50 }),
        fc.array(fc.constantFrom('\\Seen', '\\Deleted', '$Junk', 'x'), { maxLength: 3 }),
        fc.integer({ min: 1, max: 2 ** 32 - 1 }),
        (body, binary, flags, uid) => {
          const line = fetchLine(1, [
            { item: 'UID', value: uid },
            { item: 'FLAGS', flags },
            { item: 'BODY[]', name: 'BODY[]<0>', data: body },
            { item: 'BINARY[]', name: 'BINARY[1]', data: binary },
          ]);
          const t = reparse(asNonSync(line));
          assert.equal(t.length, 3);
          const items = (t[2] as { items: Token[] }).items;
          assert.deepEqual(items[1], { type: 'number', value: uid });
          const data = (tok: Token): Buffer => (tok.type === 'literal' ? Buffer.from(tok.value) : tok.type === 'quoted' ? Buffer.from(tok.value, 'utf8') : Buffer.alloc(0));
          assert.deepEqual(data(items[5]!), Buffer.from(body));
          assert.deepEqual(data(items[7]!), Buffer.from(binary));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('ESEARCH, SEARCH, VANISHED, QUOTA, QUOTAROOT, NAMESPACE, ID and the other data lines re-parse', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 1e6 }), { maxLength: 30 }), fc.string({ maxLength: 10 }), (ns, text) => {
        reparse(esearchLine({ tag: 'a', uid: true, all: ns, count: ns.length, ...(ns.length > 0 ? { min: Math.min(...ns), max: Math.max(...ns) } : {}) }));
        reparse(searchLine(ns, 7));
        if (ns.length > 0) reparse(vanishedLine(ns, true));
        reparse(asNonSync(Buffer.from(idLine([['name', text]]))));
        reparse(asNonSync(Buffer.from(quotaLine(text, [{ name: 'STORAGE', usage: 1, limit: 2 }]))));
        reparse(asNonSync(Buffer.from(quotaRootLine(text || 'x', [text]))));
        reparse(asNonSync(Buffer.from(namespaceLine({ personal: [{ prefix: text, delimiter: '/' }], other: [], shared: [{ prefix: 'Shared/', delimiter: null }] }))));
        reparse(existsLine(ns.length));
        reparse(flagsLine(['\\Seen', '$Junk']));
        reparse(enabledLine(['CONDSTORE']));
        reparse(capabilityLine(['IMAP4rev2', 'AUTH=PLAIN']));
      }),
      { numRuns: 500 },
    );
  });

  it('compact sets round-trip through the sequence-set parser', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 5000 }), { minLength: 1, maxLength: 200 }), (ns) => {
        const s = compactSet(ns);
        const p = parseSequenceSet(s);
        assert.ok(p.ok && !p.set.saved);
        const e = expand(p.set.ranges, 5000, 10000);
        assert.ok(e.ok);
        assert.deepEqual(e.values, [...new Set(ns)].sort((a, b) => a - b));
      }),
    );
  });

  it('INTERNALDATE round-trips through the APPEND date-time parser', () => {
    fc.assert(
      fc.property(fc.date({ min: new Date('1970-01-02T00:00:00Z'), max: new Date('9999-12-30T00:00:00Z'), noInvalidDate: true }), fc.integer({ min: -720, max: 840 }), (d, off) => {
        const whole = new Date(Math.floor(d.getTime() / 1000) * 1000);
        const s = formatInternalDate(whole, off);
        const back = dateTimeOf({ type: 'quoted', value: s.slice(1, -1) });
        assert.equal(back.date.getTime(), whole.getTime());
        assert.equal(back.offsetMinutes, off);
      }),
    );
  });
});
