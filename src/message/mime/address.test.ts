import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAddressList, decodedName, addressString, addressListText } from './address.ts';

const simple = (v: string) => parseAddressList(v).map((a) => (a.group ? `[${a.group}${a.mailbox ? ' ' + a.mailbox : ''}]` : `${a.name ?? ''}|${a.adl ?? ''}|${a.mailbox ?? ''}|${a.host ?? ''}`));

test('RFC 5322 Appendix A.1 examples', () => {
  assert.deepEqual(simple('John Doe <jdoe@machine.example>'), ['John Doe||jdoe|machine.example']);
  assert.deepEqual(simple('"Joe Q. Public" <john.q.public@example.com>'), ['Joe Q. Public||john.q.public|example.com']);
  assert.deepEqual(simple('Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>'), ['Mary Smith||mary|x.test', '||jdoe|example.org', 'Who?||one|y.test']);
  assert.deepEqual(simple('<boss@nil.test>, "Giant; \\"Big\\" Box" <sysservices@example.net>'), ['||boss|nil.test', 'Giant; "Big" Box||sysservices|example.net']);
  assert.deepEqual(simple('A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;'), ['[start A Group]', 'Ed Jones||c|a.test', '||joe|where.test', 'John||jdoe|one.test', '[end]']);
  assert.deepEqual(simple('Undisclosed recipients:;'), ['[start Undisclosed recipients]', '[end]']);
});

test('RFC 5322 A.5/A.6: comments, obsolete route, spaces around dots', () => {
  assert.deepEqual(simple('Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>'), ['Pete||pete|silly.test']);
  assert.deepEqual(simple('Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example'), ['Mary Smith|@node.test|mary|example.net', '||jdoe|test.example']);
  assert.deepEqual(simple('"Mary Smith: Personal Account" <smith@home.example >'), ['Mary Smith: Personal Account||smith|home.example']);
});

test('a comment is the name when there is no phrase (Dovecot convention)', () => {
  assert.deepEqual(simple('jdoe@example.org (John Doe)'), ['John Doe||jdoe|example.org']);
});

test('quoted local parts keep their quotes in the mailbox', () => {
  assert.deepEqual(simple('"john doe"@example.org'), ['||"john doe"|example.org']);
});

test('encoded-word display names decode for search, stay raw for ENVELOPE', () => {
  const [a] = parseAddressList('=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?= <keld@dkuug.dk>');
  assert.equal(a!.name, '=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?=');
  assert.equal(decodedName(a!), 'Keld Jørn Simonsen');
  assert.equal(addressString(a!), 'keld@dkuug.dk');
  assert.equal(addressListText(parseAddressList('"=?utf-8?q?a?= b" <x@y>, g: z@w;')), 'a b <x@y>, g:, z@w, ;');
});

test('malformed input: best effort, no exceptions', () => {
  assert.deepEqual(simple('Whomever'), ['||Whomever|']);
  assert.deepEqual(simple('<a@b'), ['||a|b']);
  assert.deepEqual(simple('a@b, , ,'), ['||a|b']);
  assert.deepEqual(simple(''), []);
  assert.deepEqual(simple('group: a@b'), ['[start group]', '||a|b', '[end]']);
});

test('property: never throws; bounded; groups are balanced', () => {
  const piece = fc.oneof(fc.constantFrom('<', '>', '@', ',', ';', ':', '"', '\\', '(', ')', '[', ']', ' ', '.', 'a', 'b.c', '=?utf-8?q?x?='), fc.string({ maxLength: 4 }));
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 50 }), (a) => {
      const list = parseAddressList(a.join(''), 20);
      let depth = 0;
      for (const x of list) {
        if (x.group === 'start') depth++;
        if (x.group === 'end') depth--;
        assert.ok(depth === 0 || depth === 1);
      }
      assert.equal(depth, 0);
      assert.ok(list.length <= 21);
    }),
    { numRuns: 3000 },
  );
});

test('property: generated name-addr lists parse back', () => {
  const atom = fc.stringMatching(/^[a-z0-9]{1,8}$/);
  const addr = fc.record({ name: fc.option(fc.stringMatching(/^[A-Za-z][A-Za-z ]{0,10}[A-Za-z]$/), { nil: null }), local: atom, host: fc.tuple(atom, atom).map(([a, b]) => `${a}.${b}`) });
  fc.assert(
    fc.property(fc.array(addr, { minLength: 1, maxLength: 5 }), (list) => {
      const text = list.map((a) => (a.name === null ? `${a.local}@${a.host}` : `"${a.name}" <${a.local}@${a.host}>`)).join(', ');
      const got = parseAddressList(text);
      assert.deepEqual(
        got.map((g) => [g.name, g.mailbox, g.host]),
        list.map((a) => [a.name, a.local, a.host]),
      );
    }),
    { numRuns: 500 },
  );
});
