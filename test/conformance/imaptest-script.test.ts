// Tests for the imaptest script parser and matcher: the three command methods,
// connection prefixes, pipelined tags, untagged existence markers, `{{{`
// literals (and `~{{{` keeping the file's octets), !ifenv, the implicit
// LOGOUT, default list directives, variable binding and reverting, `$`,
// `$N` relative sequences after EXPUNGE, `$modseqN`, unordered/noextra/ignore
// matching, the mbox reader, and a property test: parseArgs and the matcher
// never throw on arbitrary text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FULL, Matcher, argsToString, parseArgs, parseMbox, parseScript, type Script } from './imaptest-script.ts';

function script(text: string, env?: Set<string>): Script {
  const r = parseScript('t', text, env);
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.script;
}

describe('imaptest script parser', () => {
  it('reads the header and method-1 commands with their untagged replies', () => {
    const s = script('capabilities: ESEARCH CONDSTORE\nmessages: all\nstate: auth\n\n# comment\nok select $mailbox\n* 2 exists\n! 3 exists\n? 1 recent\nno foo\n');
    assert.deepEqual(s.capabilities, ['ESEARCH', 'CONDSTORE']);
    assert.equal(s.messages, 'all');
    assert.equal(s.state, 'auth');
    assert.equal(s.groups.length, 3, 'two groups and the implicit logout');
    const g = s.groups[0]!;
    assert.equal(g.commands[0]!.text, 'select $mailbox');
    assert.deepEqual(g.commands[0]!.reply, [{ t: 'atom', v: 'ok' }]);
    assert.deepEqual(g.untagged.map((u) => u.existence), ['must', 'mustNot', 'may']);
    assert.equal(s.groups[2]!.commands[0]!.text, 'logout');
  });

  it('method 2 and method 3 (pipelined tags), connection prefixes', () => {
    const s = script('connections: 2\n\n1 select $mailbox\n* 2 exists\n1 ok [read-write]\n\n2 tag1 status a (messages)\n2 tag2 status b (messages)\n2 tag2 ok\n2 tag1 no\n');
    const [g1, g2] = s.groups;
    assert.deepEqual(g1!.commands[0]!.reply, [{ t: 'atom', v: 'ok' }, { t: 'atom', v: '[read-write]' }]);
    assert.equal(g2!.connection, 1);
    assert.deepEqual(g2!.commands.map((c) => [c.tag, c.text, c.reply?.[0]]), [
      [1, 'status a (messages)', { t: 'atom', v: 'no' }],
      [2, 'status b (messages)', { t: 'atom', v: 'ok' }],
    ]);
    assert.ok(!parseScript('t', 'connections: 2\n\nok noop\n').ok, 'missing client index');
    assert.ok(!parseScript('t', '\nselect x\n').ok, 'missing reply');
  });

  it('multi-line literals: text lines get CRLF, the last line end is dropped; ~{{{ keeps octets', () => {
    const s = script('\nok fetch 1 body[text]\n* 1 fetch (body[text] {{{\nbody1\n\n\n}}})\nok fetch 3 body[text]<5.3>\n* 3 fetch (body[text]<5> ~{{{\n3\r\n\n}}})\n');
    const lit = s.groups[0]!.untagged[0]!.args[2]!;
    assert.ok(lit.t === 'list');
    assert.deepEqual(lit.items.slice(1), [{ t: 'atom', v: 'body[text]' }, { t: 'literal', v: 'body1\r\n\r\n', binary: false }]);
    const l8 = s.groups[1]!.untagged[0]!.args[2]!;
    assert.ok(l8.t === 'list');
    assert.deepEqual(l8.items[2], { t: 'literal', v: '3\r\n', binary: true });
  });

  it('!ifenv / !ifnenv / !else / !endif', () => {
    const text = '\n!ifenv HAVE_X\nok a\n!else\nok b\n!endif\n!ifnenv HAVE_X\nok c\n!endif\n';
    assert.deepEqual(script(text).groups.map((g) => g.commands[0]!.text), ['b', 'c', 'logout']);
    assert.deepEqual(script(text, new Set(['HAVE_X'])).groups.map((g) => g.commands[0]!.text), ['a', 'logout']);
  });

  it('no implicit LOGOUT when the script logs out or expects BYE; a banner check', () => {
    assert.equal(script('state: nonauth\n\nok logout\n* bye\n').groups.length, 1);
    const b = script('state: nonauth\n\n* ok [capability $]\nok noop\n');
    assert.equal(b.bannerCheck, true);
    assert.equal(b.groups[0]!.commands.length, 0);
  });

  it('default directives for FETCH, FETCH FLAGS, LIST and STATUS', () => {
    const s = script('\nok x\n* 1 fetch (uid 5 flags (\\seen))\n* list () "/" a\n* status a (messages 1)\n* 1 fetch ($!ordered uid 5)\n');
    const [f, l, st, f2] = s.groups[0]!.untagged.map((u) => argsToString(u.args));
    assert.equal(f, '1 fetch ($!unordered=2 uid 5 flags ($!unordered $!noextra $!ignore=\\recent $!ignore=$HasAttachment $!ignore=$HasNoAttachment \\seen))');
    assert.equal(l, 'list ($!unordered) "/" a');
    assert.equal(st, 'status a ($!unordered=2 messages 1)');
    assert.equal(f2, '1 fetch ($!ordered uid 5)');
  });
});

describe('imaptest argument parser', () => {
  it('splits like Dovecot: atoms to space or ")" in a list, strings, literals, NIL', () => {
    assert.deepEqual(parseArgs('OK [READ-WRITE] done'), [{ t: 'atom', v: 'OK' }, { t: 'atom', v: '[READ-WRITE]' }, { t: 'atom', v: 'done' }]);
    assert.deepEqual(parseArgs('1 FETCH (BODY[HEADER.FIELDS (From)] {3}\r\nabc)'), [
      { t: 'atom', v: '1' }, { t: 'atom', v: 'FETCH' },
      { t: 'list', items: [{ t: 'atom', v: 'BODY[HEADER.FIELDS' }, { t: 'list', items: [{ t: 'atom', v: 'From' }] }, { t: 'atom', v: ']' }, { t: 'literal', v: 'abc', binary: false }] },
    ]);
    assert.deepEqual(parseArgs('LIST (\\Noselect) NIL "a \\"b\\""'), [{ t: 'atom', v: 'LIST' }, { t: 'list', items: [{ t: 'atom', v: '\\Noselect' }] }, { t: 'nil' }, { t: 'string', v: 'a "b"' }]);
    assert.deepEqual(parseArgs('x ~{2}\r\n\0y'), [{ t: 'atom', v: 'x' }, { t: 'literal', v: '\0y', binary: true }]);
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('(', ')', '"', '\\', '{', '}', '~', '1', '+', '\r', '\n', ' ', 'a', 'N', 'I', 'L', '$', '!', '[', ']'), maxLength: 60 }), (s) => {
        const a = parseArgs(s);
        const m = new Matcher();
        m.matchArgs(a, a);
        m.matchArgs(parseArgs('$ $x ($!unordered=2 $y $) ${case:z}'), a, FULL, true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('imaptest matcher properties', () => {
  it('a reply without "$" matches itself, exactly and as a prefix', () => {
    const unit = fc.constantFrom('(', ')', '"', '\\', 'a', 'B', '1', ' ', '[', ']', '\\Seen', 'NIL', 'fetch', 'flags', 'list');
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        const a = parseArgs(text);
        assert.equal(new Matcher().matchArgs(a, a), FULL, text);
        assert.equal(new Matcher().matchArgs(a, a, FULL, true), FULL, text);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('imaptest matcher', () => {
  const args = (s: string) => parseArgs(s);

  it('binds unknown variables from the reply and reuses them', () => {
    const m = new Matcher();
    assert.equal(m.matchArgs(args('1 fetch ($!unordered=2 uid $uid1)'), args('1 FETCH (FLAGS () UID 42)')), FULL);
    assert.equal(m.vars.get('uid1'), '42');
    assert.equal(m.matchArgs(args('esearch (tag $tag) uid all $uid1:$last'), args('ESEARCH (TAG "x") UID ALL 42:50')), FULL);
    assert.equal(m.vars.get('last'), '50');
    assert.deepEqual(m.expandCommand('uid fetch $uid1,$$x ${last}'), { ok: true, text: 'uid fetch 42,$x 50' });
    assert.deepEqual(m.expandCommand('fetch $nope'), { ok: false, error: 'uninitialized variable: nope' });
  });

  it('prefix matching for tagged replies and OK codes; case-insensitive unless ${case:}', () => {
    const m = new Matcher();
    assert.equal(m.matchArgs(args('ok [read-write]'), args('OK [READ-WRITE] SELECT completed'), FULL, true), FULL);
    assert.notEqual(m.matchArgs(args('ok [read-only]'), args('OK [READ-WRITE] SELECT completed'), FULL, true), FULL);
    assert.equal(m.matchArgs(args('ok [uidvalidity $v]'), args('OK [UIDVALIDITY 123] x'), FULL, true), FULL);
    assert.equal(m.vars.get('v'), '123');
    assert.equal(m.matchArgs(args('""'), args('NO whatever'), FULL, true), FULL);
    assert.equal(m.matchArgs(args('list () "/" ${case:INBOX}'), args('LIST () "/" INBOX')), FULL);
    assert.notEqual(m.matchArgs(args('list () "/" ${case:INBOX}'), args('LIST () "/" inbox')), FULL);
    assert.equal(m.matchArgs(args('search 1 2'), args('SEARCH 1 2')), FULL);
    assert.notEqual(m.matchArgs(args('search 1 2'), args('SEARCH 1 2 3')), FULL, 'extra args fail without prefix');
  });

  it('unordered lists, noextra with ignores, $ for lists', () => {
    const m = new Matcher();
    const flags = args('1 fetch ($!unordered=2 flags ($!unordered $!noextra $!ignore=\\recent \\seen \\answered))');
    assert.equal(m.matchArgs(flags, args('1 FETCH (FLAGS (\\Answered \\Recent \\Seen))')), FULL);
    assert.notEqual(m.matchArgs(flags, args('1 FETCH (FLAGS (\\Answered \\Seen \\Draft))')), FULL);
    assert.equal(m.matchArgs(args('list ($!unordered) "/" a'), args('LIST (\\HasNoChildren) "/" a')), FULL, 'extra attributes allowed');
    assert.equal(m.matchArgs(args('list ($!unordered $!ban=\\noselect) "/" a'), args('LIST (\\Noselect) "/" a')) === FULL, false);
    assert.equal(m.matchArgs(args('1 fetch ($!unordered=2 envelope $)'), args('1 FETCH (ENVELOPE (NIL "x"))')), FULL);
  });

  it('$N follows EXPUNGEs; $modseqN must grow with its index', () => {
    const m = new Matcher();
    m.resetSeqmap(5);
    m.expunge(2);
    assert.deepEqual(m.expandCommand('$1 $2 $3 $5 $9'), { ok: true, text: '1 <expunged> 2 4 <out of range>' });
    assert.equal(m.matchArgs(args('x $modseq2'), args('x 10')), FULL);
    assert.equal(m.matchArgs(args('x $modseq5'), args('x 13')), FULL);
    const m2 = new Matcher();
    assert.equal(m2.matchArgs(args('x $modseq2'), args('x 10')), FULL);
    assert.notEqual(m2.matchArgs(args('x $modseq5'), args('x 12')), FULL);
  });

  it('a failed match can revert the variables it bound', () => {
    const m = new Matcher();
    m.added = [];
    assert.notEqual(m.matchArgs(args('1 fetch ($!unordered=2 uid $u flags (\\x))'), args('1 FETCH (UID 3 FLAGS ())')), FULL);
    m.revertAdded();
    assert.equal(m.vars.has('u'), false);
  });
});

describe('mbox reader', () => {
  it('splits at From lines, CRLF line ends, the From date (with or without zone)', () => {
    const msgs = parseMbox('From user@domain  Fri Feb 22 17:06:23 2008\nFrom: a\n\nbody1\n\nFrom user@domain  Sat Mar 24 23:00:00 2007 +0200\nDate: x\n\nb\n');
    assert.deepEqual(msgs, [
      { content: 'From: a\r\n\r\nbody1\r\n\r\n', date: '22-Feb-2008 17:06:23 +0000' },
      { content: 'Date: x\r\n\r\nb\r\n', date: '24-Mar-2007 23:00:00 +0200' },
    ]);
  });
});
