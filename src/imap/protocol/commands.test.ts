// Tests for the IMAP command grammar: every command of issue 5 with the RFC
// examples (RFC 9051 §6, RFC 7162, RFC 5258, RFC 5819, RFC 6154, RFC 4731,
// RFC 2971, RFC 4959, RFC 3516, RFC 6855, RFC 9208), mailbox-name decoding
// per client mode, errors with their status and text, FETCH items and
// sections, and property tests: arbitrary token lists and arbitrary command
// lines never throw, and every failure is a BAD/NO with a non-empty text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CommandReader, type Token } from './tokenizer.ts';
import { parseCommand, type Command, type ParseOptions, type ParseCommandResult } from './commands.ts';
import { fetchAttResponseName, setsSeen, type FetchAtt } from './fetch-items.ts';

function tokens(line: string): Token[] {
  const evs = new CommandReader().push(Buffer.from(`t ${line}\r\n`));
  const e = evs.find((x) => x.type === 'command');
  assert.ok(e && e.type === 'command', `tokenizer refused ${JSON.stringify(line)}: ${JSON.stringify(evs)}`);
  return e.tokens;
}
function parse(line: string, opts?: ParseOptions): ParseCommandResult {
  return parseCommand(tokens(line), opts);
}
function ok(line: string, opts?: ParseOptions): Command {
  const r = parse(line, opts);
  assert.ok(r.ok, `${line}: ${JSON.stringify(r)}`);
  return r.command;
}
function bad(line: string, re?: RegExp, opts?: ParseOptions): void {
  const r = parse(line, opts);
  assert.ok(!r.ok, `${line} should fail: ${JSON.stringify(r)}`);
  assert.equal(r.error.status, 'BAD', line);
  if (re) assert.match(r.error.text, re, line);
}

describe('IMAP command grammar', () => {
  it('commands without arguments, case-insensitive; arguments after them are BAD', () => {
    for (const n of ['CAPABILITY', 'NOOP', 'LOGOUT', 'STARTTLS', 'CHECK', 'CLOSE', 'UNSELECT', 'IDLE', 'NAMESPACE']) {
      assert.deepEqual(ok(n.toLowerCase()), { name: n });
      bad(`${n} x`, /unexpected/);
    }
    assert.deepEqual(ok('EXPUNGE'), { name: 'EXPUNGE', uid: false });
  });

  it('unknown commands, DONE and non-atoms are BAD with a clear text', () => {
    bad('FROB', /unknown command "FROB"/);
    bad('DONE', /only valid to end IDLE/);
    bad('"LOGIN" a b', /expected a command name/);
    bad('UID FROB 1', /unknown UID command/);
  });

  it('LOGIN takes two astrings (atom, quoted, literal) — RFC 9051 §6.2.3', () => {
    assert.deepEqual(ok('LOGIN SMITH SESAME'), { name: 'LOGIN', username: 'SMITH', password: 'SESAME' });
    assert.deepEqual(ok('LOGIN "fr\\"ed" {4+}\r\np ss'), { name: 'LOGIN', username: 'fr"ed', password: 'p ss' });
    assert.deepEqual(ok('LOGIN 123 NIL'), { name: 'LOGIN', username: '123', password: 'NIL' });
    bad('LOGIN onlyuser', /missing password/);
    bad('LOGIN a b c', /unexpected/);
    bad('LOGIN (a) b', /user name: expected a string/);
  });

  it('AUTHENTICATE with and without SASL-IR (RFC 4959)', () => {
    assert.deepEqual(ok('AUTHENTICATE plain'), { name: 'AUTHENTICATE', mechanism: 'PLAIN' });
    assert.deepEqual(ok('AUTHENTICATE PLAIN AHVzZXIAcGFzcw=='), { name: 'AUTHENTICATE', mechanism: 'PLAIN', initialResponse: 'AHVzZXIAcGFzcw==' });
    assert.deepEqual(ok('AUTHENTICATE EXTERNAL ='), { name: 'AUTHENTICATE', mechanism: 'EXTERNAL', initialResponse: '' });
    bad('AUTHENTICATE PLAIN abc', /not valid base64/);
    bad('AUTHENTICATE', /missing SASL mechanism/);
  });

  it('ENABLE and ID (RFC 5161, RFC 2971)', () => {
    assert.deepEqual(ok('ENABLE condstore UTF8=ACCEPT'), { name: 'ENABLE', capabilities: ['CONDSTORE', 'UTF8=ACCEPT'] });
    bad('ENABLE', /at least one/);
    assert.deepEqual(ok('ID NIL'), { name: 'ID', params: null });
    assert.deepEqual(ok('ID ("name" "sodr" "version" "19.34" "x" NIL)'), {
      name: 'ID',
      params: [['name', 'sodr'], ['version', '19.34'], ['x', null]],
    });
    assert.deepEqual(ok('ID ()'), { name: 'ID', params: [] });
    bad('ID ("name")', /pairs/);
    bad('ID ("' + 'k'.repeat(31) + '" "v")', /longer than 30/);
    bad('ID foo', /list or NIL/);
  });

  it('SELECT/EXAMINE with CONDSTORE and QRESYNC (RFC 7162 §3.2.5 example)', () => {
    assert.deepEqual(ok('SELECT inbox'), { name: 'SELECT', mailbox: 'INBOX', condstore: false });
    assert.deepEqual(ok('EXAMINE Sent (CONDSTORE)'), { name: 'EXAMINE', mailbox: 'Sent', condstore: true });
    const q = ok('SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))');
    assert.equal(q.name, 'SELECT');
    if (q.name !== 'SELECT') return;
    assert.equal(q.qresync?.uidValidity, 67890007);
    assert.equal(q.qresync?.modseq, Number.MAX_SAFE_INTEGER, 'a modseq beyond 2^53 is clamped');
    assert.deepEqual(q.qresync?.knownUids, [{ start: 41, end: 41 }, { start: 43, end: 211 }, { start: 214, end: 541 }]);
    const q2 = ok('SELECT INBOX (QRESYNC (67890007 90060115194045000 1:29997 (5000,7500,9000,9990:9999 15000,22500,27000,29970,29973,29976,29979,29982,29985,29988,29991,29994,29997)))');
    assert.ok(q2.name === 'SELECT' && q2.qresync?.seqMatch?.seqs.length === 4);
    const q3 = ok('SELECT INBOX (QRESYNC (1 5 (1:2 3:4)))');
    assert.ok(q3.name === 'SELECT' && q3.qresync?.seqMatch && !q3.qresync.knownUids);
    bad('SELECT INBOX (QRESYNC (1 5 1:*))', /"\*" is not allowed/);
    bad('SELECT INBOX (QRESYNC (1 0))', /must not be 0/);
    bad('SELECT INBOX (QRESYNC (1 5 1:3 (1:2 3:5)))', /differ in size/);
    bad('SELECT INBOX (FOO)', /unknown SELECT parameter/);
    bad('SELECT', /missing mailbox/);
  });

  it('mailbox names: modified UTF-7 for rev1 clients, UTF-8 with UTF8=ACCEPT (RFC 3501 §5.1.3, RFC 6855)', () => {
    assert.deepEqual(ok('CREATE ~peter/mail/&U,BTFw-/&ZeVnLIqe-'), { name: 'CREATE', mailbox: '~peter/mail/台北/日本語', specialUse: [] });
    assert.deepEqual(ok('CREATE "&ZeVnLIqe-"', { utf8: true }), { name: 'CREATE', mailbox: '&ZeVnLIqe-', specialUse: [] });
    assert.deepEqual(ok('DELETE "日本語"', { utf8: true }), { name: 'DELETE', mailbox: '日本語' });
    const u7 = parse('DELETE "&Jjo!"');
    assert.ok(!u7.ok && u7.error.status === 'NO' && u7.error.code?.name === 'CANNOT' && /invalid modified UTF-7/.test(u7.error.text));
    assert.deepEqual(ok('RENAME inbox Old'), { name: 'RENAME', from: 'INBOX', to: 'Old' });
    assert.deepEqual(ok('SUBSCRIBE {5+}\r\nInBoX'), { name: 'SUBSCRIBE', mailbox: 'INBOX' });
    assert.deepEqual(ok('UNSUBSCRIBE NIL'), { name: 'UNSUBSCRIBE', mailbox: 'NIL' });
  });

  it('CREATE with USE (RFC 6154 §3)', () => {
    assert.deepEqual(ok('CREATE MySpecialArchive (USE (\\Archive))'), { name: 'CREATE', mailbox: 'MySpecialArchive', specialUse: ['\\Archive'] });
    assert.deepEqual(ok('CREATE x (USE ())'), { name: 'CREATE', mailbox: 'x', specialUse: [] });
    bad('CREATE x (FOO (\\Archive))', /unknown CREATE parameter/);
    bad('CREATE x (USE (Archive))', /backslash/);
  });

  it('LIST basic and LIST-EXTENDED / LIST-STATUS (RFC 5258, RFC 5819)', () => {
    assert.deepEqual(ok('LIST "" *'), {
      name: 'LIST', reference: '', patterns: ['*'], extended: false,
      selection: { subscribed: false, remote: false, recursiveMatch: false, specialUse: false },
      returns: { children: false, subscribed: false, specialUse: false },
    });
    const l = ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" ("%" "Other/%") RETURN (CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))');
    assert.ok(l.name === 'LIST');
    if (l.name !== 'LIST') return;
    assert.equal(l.extended, true);
    assert.deepEqual(l.patterns, ['%', 'Other/%']);
    assert.deepEqual(l.selection, { subscribed: true, remote: false, recursiveMatch: true, specialUse: false });
    assert.deepEqual(l.returns, { children: true, subscribed: false, specialUse: true, status: ['MESSAGES', 'UNSEEN'] });
    assert.ok((ok('LIST "" % RETURN ()') as { extended: boolean }).extended);
    assert.deepEqual((ok('LIST "" "&ZeVnLIqe-*"') as { patterns: string[] }).patterns, ['日本語*']);
    bad('LIST (RECURSIVEMATCH) "" %', /RECURSIVEMATCH needs/);
    bad('LIST (FOO) "" %', /unknown LIST selection option/);
    bad('LIST "" % RETURN (FOO)', /unknown LIST return option/);
    bad('LIST "" % FOO ()', /unexpected/);
    bad('LIST ""', /missing mailbox pattern/);
    assert.deepEqual(ok('LSUB "#news." "comp.mail.*"'), { name: 'LSUB', reference: '#news.', pattern: 'comp.mail.*' });
  });

  it('STATUS items (RFC 9051 §6.3.11, STATUS=SIZE, CONDSTORE, APPENDLIMIT)', () => {
    assert.deepEqual(ok('STATUS blurdybloop (UIDNEXT MESSAGES size highestmodseq recent deleted unseen uidvalidity appendlimit)'), {
      name: 'STATUS', mailbox: 'blurdybloop',
      items: ['UIDNEXT', 'MESSAGES', 'SIZE', 'HIGHESTMODSEQ', 'RECENT', 'DELETED', 'UNSEEN', 'UIDVALIDITY', 'APPENDLIMIT'],
    });
    bad('STATUS x ()', /at least one/);
    bad('STATUS x (FOO)', /unknown STATUS item "FOO"/);
    bad('STATUS x MESSAGES', /parenthesized list/);
  });

  it('APPEND: flags, date-time, literal, literal8, UTF8 (~{n}), MULTIAPPEND', () => {
    const a = ok('APPEND saved-messages (\\Seen $Forwarded) " 7-Feb-1994 21:52:25 -0800" {5+}\r\nhello');
    assert.ok(a.name === 'APPEND');
    if (a.name !== 'APPEND') return;
    const m = a.messages[0]!;
    assert.deepEqual(m.flags, ['\\Seen', '$Forwarded']);
    assert.equal(m.date?.date.toISOString(), '1994-02-08T05:52:25.000Z');
    assert.equal(m.date?.offsetMinutes, -480);
    assert.equal(Buffer.from(m.content).toString(), 'hello');
    assert.equal(m.binary, false);
    const b = ok('APPEND x ~{3+}\r\na\0b');
    assert.ok(b.name === 'APPEND' && b.messages[0]!.binary && b.messages[0]!.content.length === 3);
    const u = ok('APPEND x UTF8 (~{2+}\r\nhi)');
    assert.ok(u.name === 'APPEND' && u.messages[0]!.utf8 && u.messages[0]!.binary);
    const multi = ok('APPEND x {1+}\r\na (\\Flagged) {1+}\r\nb');
    assert.ok(multi.name === 'APPEND' && multi.messages.length === 2 && multi.messages[1]!.flags[0] === '\\Flagged');
    bad('APPEND x', /missing message literal/);
    bad('APPEND x "hello"', /date-time/);
    bad('APPEND x "31-Feb-1994 21:52:25 -0800" {1+}\r\na', /no such date-time/);
    bad('APPEND x (\\Seen) hello', /expected the message as a literal/);
    bad('APPEND x UTF8 ({1+}\r\na)', /literal8/);
    bad('APPEND x (\\Seen "x") {1+}\r\na', /expected a flag/);
  });

  it('FETCH items, macros, sections, partials and modifiers (RFC 9051 §6.4.5, RFC 3516, RFC 7162)', () => {
    const f = ok('FETCH 2:4 (FLAGS BODY[HEADER.FIELDS (DATE FROM)])');
    assert.deepEqual(f, {
      name: 'FETCH', uid: false, vanished: false,
      set: { saved: false, ranges: [{ start: 2, end: 4 }] },
      items: [{ name: 'FLAGS' }, { name: 'BODY[]', peek: false, section: { part: [], text: 'HEADER.FIELDS', fields: ['DATE', 'FROM'] } }],
    });
    assert.deepEqual((ok('FETCH 1 all') as { items: unknown }).items, [{ name: 'FLAGS' }, { name: 'INTERNALDATE' }, { name: 'RFC822.SIZE' }, { name: 'ENVELOPE' }]);
    assert.equal((ok('FETCH 1 FULL') as { items: unknown[] }).items.length, 5);
    assert.equal((ok('FETCH 1 fast') as { items: unknown[] }).items.length, 3);
    const p = ok('UID FETCH $ (BODY.PEEK[1.2.MIME] BODY[]<0.100> BINARY.PEEK[1]<5.10> BINARY.SIZE[2] rfc822.size modseq) (CHANGEDSINCE 12345 VANISHED)');
    assert.ok(p.name === 'FETCH');
    if (p.name !== 'FETCH') return;
    assert.deepEqual(p.set, { saved: true });
    assert.equal(p.changedSince, 12345);
    assert.equal(p.vanished, true);
    assert.deepEqual(p.items.map(fetchAttResponseName), ['BODY[1.2.MIME]', 'BODY[]<0>', 'BINARY[1]<5>', 'BINARY.SIZE[2]', 'RFC822.SIZE', 'MODSEQ']);
    assert.deepEqual(p.items.map(setsSeen), [false, true, false, false, false, false]);
    assert.equal(fetchAttResponseName((ok('FETCH 1 BODY[3.HEADER.FIELDS.NOT (Received X-Y)]') as unknown as { items: FetchAtt[] }).items[0]!), 'BODY[3.HEADER.FIELDS.NOT (Received X-Y)]');
    assert.deepEqual((ok('FETCH 1 BODY.PEEK[2]') as { items: unknown[] }).items[0], { name: 'BODY[]', peek: true, section: { part: [2], text: null } });
    bad('FETCH 1 (FLAGS ALL)', /macro cannot be inside a list/);
    bad('FETCH 1 FOO', /unknown FETCH item "FOO"/);
    bad('FETCH 1 BODY[MIME]', /MIME needs a part number/);
    bad('FETCH 1 BODY[1.FOO]', /unknown section text/);
    bad('FETCH 1 BODY[HEADER.FIELDS]', /field list/);
    bad('FETCH 1 BODY[HEADER.FIELDS ()]', /at least one field/);
    bad('FETCH 1 BODY[0]', /invalid part number/);
    bad('FETCH 1 BODY[]<5>', /offset and a length/);
    bad('FETCH 1 BODY[]<5.0>', /must not be 0/);
    bad('FETCH 1 BINARY[HEADER]', /invalid part number/);
    bad('FETCH 1 BINARY.SIZE[1]<0.5>', /no partial/);
    bad('FETCH 1 ()', /empty FETCH item list/);
    bad('FETCH 1 (FLAGS) (VANISHED)', /only allowed in UID FETCH/);
    bad('UID FETCH 1 (FLAGS) (VANISHED)', /needs CHANGEDSINCE/);
    bad('FETCH 1 (FLAGS) (FOO 1)', /unknown FETCH modifier/);
    bad('FETCH 0 FLAGS', /invalid sequence number/);
    bad('FETCH x FLAGS', /invalid sequence number/);
    bad('FETCH', /missing sequence set/);
  });

  it('STORE: modes, .SILENT, flag lists or bare flags, UNCHANGEDSINCE (RFC 9051 §6.4.6, RFC 7162 §3.1.3)', () => {
    assert.deepEqual(ok('STORE 2:4 +FLAGS (\\Deleted)'), {
      name: 'STORE', uid: false, set: { saved: false, ranges: [{ start: 2, end: 4 }] }, mode: 'add', silent: false, flags: ['\\Deleted'],
    });
    const s = ok('UID STORE 1,3 (UNCHANGEDSINCE 200) -flags.silent \\seen $Junk');
    assert.deepEqual(s, {
      name: 'STORE', uid: true, set: { saved: false, ranges: [{ start: 1, end: 1 }, { start: 3, end: 3 }] }, mode: 'remove', silent: true, flags: ['\\Seen', '$Junk'], unchangedSince: 200,
    });
    assert.deepEqual((ok('STORE 1 FLAGS ()') as { flags: string[]; mode: string }).flags, []);
    bad('STORE 1 +FLAGS', /needs flags/);
    bad('STORE 1 LABELS (x)', /unknown STORE data item/);
    bad('STORE 1 (FOO 1) FLAGS (x)', /unknown STORE modifier/);
    bad('STORE 1 FLAGS (\\Seen) x', /unexpected/);
    bad('STORE 1 FLAGS (a]b)', /invalid keyword/);
  });

  it('COPY, MOVE, UID EXPUNGE and sequence sets with * and $', () => {
    assert.deepEqual(ok('COPY 2:4 MEETING'), { name: 'COPY', uid: false, set: { saved: false, ranges: [{ start: 2, end: 4 }] }, mailbox: 'MEETING' });
    assert.deepEqual(ok('UID MOVE 42:* Trash'), { name: 'MOVE', uid: true, set: { saved: false, ranges: [{ start: 42, end: '*' }] }, mailbox: 'Trash' });
    assert.deepEqual(ok('MOVE $ Junk'), { name: 'MOVE', uid: false, set: { saved: true }, mailbox: 'Junk' });
    assert.deepEqual(ok('UID EXPUNGE 3000:3002'), { name: 'EXPUNGE', uid: true, set: { saved: false, ranges: [{ start: 3000, end: 3002 }] } });
    bad('COPY 1', /missing mailbox/);
    bad('UID EXPUNGE', /missing UID set/);
  });

  it('SEARCH: RETURN options, CHARSET, BADCHARSET as NO (RFC 9051 §6.4.4, RFC 4731)', () => {
    const s = ok('SEARCH FLAGGED SINCE 1-Feb-1994 NOT FROM "Smith"');
    assert.deepEqual(s, {
      name: 'SEARCH', uid: false, returns: null,
      key: { type: 'and', keys: [
        { type: 'flag', flag: '\\Flagged', set: true },
        { type: 'date', field: 'internal', op: 'since', day: 8797 },
        { type: 'not', key: { type: 'header', field: 'from', value: 'Smith' } },
      ] },
    });
    const e = ok('UID SEARCH RETURN (MIN MAX COUNT SAVE) CHARSET utf-8 ALL');
    assert.deepEqual(e, { name: 'SEARCH', uid: true, charset: 'UTF-8', returns: { min: true, max: true, all: false, count: true, save: true }, key: { type: 'all' } });
    assert.deepEqual((ok('SEARCH RETURN () ALL') as { returns: unknown }).returns, { min: false, max: false, all: true, count: false, save: false });
    const r = parse('SEARCH CHARSET ISO-8859-1 TEXT x');
    assert.ok(!r.ok);
    assert.deepEqual(r.error, { status: 'NO', text: 'charset "ISO-8859-1" is not supported', code: { name: 'BADCHARSET', charsets: ['UTF-8', 'US-ASCII'] } });
    bad('SEARCH', /missing search criteria/);
    bad('SEARCH RETURN (FOO) ALL', /unknown SEARCH RETURN option/);
    bad('SEARCH FOO', /unknown search key "FOO"/);
    bad('SEARCH SINCE 31-Feb-2020', /no such date/);
    bad('SEARCH SINCE yesterday', /1-Feb-1994/);
    bad('SEARCH OR ALL', /missing search key/);
    bad('SEARCH ()', /empty parenthesized/);
  });

  it('QUOTA commands (RFC 9208)', () => {
    assert.deepEqual(ok('GETQUOTA ""'), { name: 'GETQUOTA', root: '' });
    assert.deepEqual(ok('GETQUOTAROOT INBOX'), { name: 'GETQUOTAROOT', mailbox: 'INBOX' });
    assert.deepEqual(ok('SETQUOTA "" (STORAGE 512 message 1000)'), { name: 'SETQUOTA', root: '', limits: [['STORAGE', 512], ['MESSAGE', 1000]] });
    bad('SETQUOTA "" (STORAGE)', /missing resource limit/);
  });
});

// Arbitrary tokens, including deep nesting, sections and literals.
const tokenArb: fc.Arbitrary<Token> = fc.letrec<{ token: Token }>((tie) => ({
  token: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...'FETCH STORE SEARCH UID LIST SELECT APPEND OR NOT ALL FLAGS BODY RETURN CHARSET UTF8 QRESYNC USE CHANGEDSINCE VANISHED +FLAGS.SILENT 1:* $ * 1,2:3 \\Seen MODSEQ HEADER SINCE 1-Feb-1994 priv'.split(' ')).map((value): Token => ({ type: 'atom', value })),
    fc.string({ maxLength: 12 }).map((value): Token => ({ type: 'atom', value })),
    fc.nat().map((value): Token => ({ type: 'number', value })),
    fc.constant<Token>({ type: 'nil' }),
    fc.string({ maxLength: 12 }).map((value): Token => ({ type: 'quoted', value })),
    fc.tuple(fc.uint8Array({ maxLength: 8 }), fc.boolean()).map(([value, binary]): Token => ({ type: 'literal', value, binary })),
    fc.array(tie('token'), { maxLength: 4 }).map((items): Token => ({ type: 'list', items })),
    fc.tuple(fc.constantFrom('BODY', 'BODY.PEEK', 'BINARY', 'BINARY.SIZE', 'X'), fc.array(tie('token'), { maxLength: 3 }), fc.option(fc.record({ offset: fc.nat(), length: fc.option(fc.nat(), { nil: undefined }) }), { nil: undefined }))
      .map(([name, section, partial]): Token => (partial ? { type: 'section', name, section, partial: partial.length === undefined ? { offset: partial.offset } : { offset: partial.offset, length: partial.length } } : { type: 'section', name, section })),
  ),
})).token;

describe('IMAP command grammar properties', () => {
  it('arbitrary token lists never throw, and failures carry a status and a text', () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { maxLength: 8 }), fc.boolean(), (ts, utf8) => {
        const r = parseCommand(ts, { utf8 });
        if (!r.ok) {
          assert.ok(r.error.status === 'BAD' || r.error.status === 'NO');
          assert.ok(r.error.text.length > 0);
          // The catch-all for internal exceptions must never be reached: every failure is a typed ArgError.
          assert.notEqual(r.error.text, 'could not parse the command', JSON.stringify(ts));
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary command lines through the tokenizer never throw', () => {
    const words = fc.constantFrom('FETCH', 'UID', 'SEARCH', 'STORE', 'LIST', '(', ')', '"x"', '1:*', 'BODY[', ']', '<0.5>', 'OR', 'NOT', 'RETURN', 'SELECT', 'INBOX', 'APPEND', '{1+}\r\na', '\\Seen', 'HEADER.FIELDS', 'CHARSET', 'UTF-8', 'MODSEQ');
    fc.assert(
      fc.property(fc.array(fc.oneof(words, fc.string({ maxLength: 6 })), { minLength: 1, maxLength: 10 }), (ws) => {
        for (const e of new CommandReader().push(Buffer.from(`t ${ws.join(' ')}\r\n`))) {
          if (e.type === 'command') {
            const r = parseCommand(e.tokens);
            if (!r.ok) assert.notEqual(r.error.text, 'could not parse the command');
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('arbitrary bytes through the reader and the grammar never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, utf8) => {
        const reader = new CommandReader({ maxLiteralSize: 64 });
        for (const e of reader.push(Buffer.concat([Buffer.from('t '), bytes, Buffer.from('\r\n')]))) {
          if (e.type !== 'command') continue;
          const r = parseCommand(e.tokens, { utf8 });
          if (!r.ok) assert.notEqual(r.error.text, 'could not parse the command');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parsing is deterministic and options only matter for names', () => {
    fc.assert(
      fc.property(fc.array(tokenArb, { maxLength: 6 }), (ts) => {
        assert.deepEqual(parseCommand(ts), parseCommand(ts));
      }),
      { numRuns: 500 },
    );
  });
});
