// Tests for the command parser: every verb, case-insensitivity, MAIL/RCPT
// paths and ESMTP parameters (SIZE, BODY, SMTPUTF8, others), BDAT and AUTH
// arguments, and each refusal code (500, 501 5.5.2/5.5.4/5.1.3/5.1.7, 502,
// 555). Property test: arbitrary lines never make the parser throw.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseCommand, type Command } from './command.ts';
import { serializeReply } from './reply.ts';

function cmd(line: string): Command {
  const r = parseCommand(line);
  assert.ok(r.ok, `expected ${JSON.stringify(line)} to parse, got ${!r.ok ? serializeReply(r.reply) : ''}`);
  return r.command;
}
function refused(line: string, code: number, enhanced: string, text?: RegExp): void {
  const r = parseCommand(line);
  assert.equal(r.ok, false, `expected ${JSON.stringify(line)} to be refused`);
  if (r.ok) return;
  assert.equal(r.reply.code, code, `${line}: ${serializeReply(r.reply)}`);
  assert.equal(r.reply.enhanced, enhanced, `${line}: ${serializeReply(r.reply)}`);
  if (text) assert.match(r.reply.lines.join(' '), text);
}
const noParams = { size: null, body: null, smtputf8: false, ret: null, envid: null, other: {} };
const noRcptParams = { notify: null, orcpt: null, other: {} };

describe('parseCommand: verbs', () => {
  it('parses HELO and EHLO (RFC 5321 §4.1.1.1)', () => {
    assert.deepEqual(cmd('HELO mx.example.org'), { verb: 'HELO', domain: 'mx.example.org' });
    assert.deepEqual(cmd('EHLO client.example.com'), { verb: 'EHLO', domain: 'client.example.com' });
    assert.deepEqual(cmd('ehlo [192.0.2.1]'), { verb: 'EHLO', domain: '[192.0.2.1]' });
    assert.deepEqual(cmd('EHLO [IPv6:2001:db8::1]'), { verb: 'EHLO', domain: '[IPv6:2001:db8::1]' });
    assert.deepEqual(cmd('EHLO  spaced.example '), { verb: 'EHLO', domain: 'spaced.example' });
  });

  it('refuses HELO/EHLO without exactly one argument', () => {
    refused('HELO', 501, '5.5.2', /HELO hostname/);
    refused('EHLO', 501, '5.5.2', /EHLO hostname/);
    refused('EHLO   ', 501, '5.5.2');
    refused('EHLO a b', 501, '5.5.2');
  });

  it('is case-insensitive in verbs (RFC 5321 §2.4)', () => {
    assert.equal(cmd('quit').verb, 'QUIT');
    assert.equal(cmd('QuIt').verb, 'QUIT');
    assert.equal(cmd('data').verb, 'DATA');
    assert.equal(cmd('rset').verb, 'RSET');
    assert.equal(cmd('StartTLS').verb, 'STARTTLS');
  });

  it('refuses arguments to DATA, RSET, QUIT, STARTTLS with 501 5.5.4', () => {
    for (const v of ['DATA', 'RSET', 'QUIT', 'STARTTLS']) refused(`${v} now`, 501, '5.5.4', /takes no arguments/);
  });

  it('tolerates trailing spaces', () => {
    assert.deepEqual(cmd('QUIT '), { verb: 'QUIT' });
    assert.deepEqual(cmd('DATA   '), { verb: 'DATA' });
  });

  it('parses NOOP and HELP with optional arguments', () => {
    assert.deepEqual(cmd('NOOP'), { verb: 'NOOP', arg: '' });
    assert.deepEqual(cmd('NOOP hello there'), { verb: 'NOOP', arg: 'hello there' });
    assert.deepEqual(cmd('HELP'), { verb: 'HELP', arg: '' });
    assert.deepEqual(cmd('help MAIL'), { verb: 'HELP', arg: 'MAIL' });
  });

  it('parses VRFY and EXPN, which need an argument', () => {
    assert.deepEqual(cmd('VRFY Smith'), { verb: 'VRFY', arg: 'Smith' });
    assert.deepEqual(cmd('EXPN Example-People'), { verb: 'EXPN', arg: 'Example-People' });
    refused('VRFY', 501, '5.5.2');
    refused('EXPN', 501, '5.5.2');
  });

  it('answers 500 5.5.1 to unknown verbs and empty lines', () => {
    refused('FOO', 500, '5.5.1');
    refused('GET / HTTP/1.1', 500, '5.5.1');
    refused('', 500, '5.5.1');
    refused(' HELO x', 500, '5.5.1');
    refused('MAIL:FROM', 500, '5.5.1');
    refused('ſtarttls', 500, '5.5.1'); // long s upper-cases to S: verbs are ASCII only
    refused('ÉHLO x', 500, '5.5.1');
  });

  it('answers 502 5.5.1 to known but unimplemented verbs', () => {
    for (const v of ['TURN', 'ETRN example.org', 'SEND FROM:<a@b>', 'SOML', 'SAML', 'ATRN', 'BURL x']) {
      refused(v, 502, '5.5.1', /not implemented/);
    }
  });

  it('refuses control characters with 501', () => {
    refused('NOOP a\0b', 501, '5.5.2', /control/);
    refused('HELO\tx', 501, '5.5.2');
    refused('MAIL FROM:<a@b.c>\r', 501, '5.5.2');
    refused('RCPT TO:<a@b.c>\x7f', 501, '5.5.2');
    refused('QUIT\n', 501, '5.5.2');
  });
});

describe('parseCommand: MAIL', () => {
  it('parses MAIL FROM (RFC 5321 §4.1.1.2)', () => {
    assert.deepEqual(cmd('MAIL FROM:<Smith@bar.com>'), {
      verb: 'MAIL',
      from: { local: 'Smith', domain: 'bar.com' },
      utf8: false,
      params: noParams,
    });
  });

  it('accepts the null reverse-path', () => {
    assert.deepEqual(cmd('MAIL FROM:<>'), { verb: 'MAIL', from: null, utf8: false, params: noParams });
    const c = cmd('MAIL FROM:<> SIZE=10');
    assert.ok(c.verb === 'MAIL');
    assert.deepEqual(c.params, { ...noParams, size: 10 });
  });

  it('is case-insensitive and tolerates a space after the colon', () => {
    for (const l of ['mail from:<a@b.org>', 'MaIl FrOm:<a@b.org>', 'MAIL FROM: <a@b.org>', 'MAIL FROM:  <a@b.org>', 'MAIL  FROM:<a@b.org>']) {
      const c = cmd(l);
      assert.equal(c.verb, 'MAIL');
      if (c.verb === 'MAIL') assert.deepEqual(c.from, { local: 'a', domain: 'b.org' });
    }
  });

  it('refuses malformed MAIL with 501 5.5.2 and a usage hint', () => {
    refused('MAIL', 501, '5.5.2', /Syntax: MAIL FROM:<address>/);
    refused('MAIL FROM', 501, '5.5.2');
    refused('MAIL TO:<a@b.org>', 501, '5.5.2');
    refused('MAIL FROM:a@b.org', 501, '5.5.2');
    refused('MAIL FROM:<a@b.org', 501, '5.5.2');
    refused('MAIL FROM:<a@b.org>SIZE=1', 501, '5.5.2');
    refused('MAIL FROM :<a@b.org>', 501, '5.5.2');
  });

  it('refuses a bad sender address with 501 5.1.7', () => {
    refused('MAIL FROM:<a@-b.org>', 501, '5.1.7', /bad domain/);
    refused('MAIL FROM:<a..b@b.org>', 501, '5.1.7');
    refused('MAIL FROM:<user>', 501, '5.1.7', /missing domain/);
    refused('MAIL FROM:<postmaster>', 501, '5.1.7', /missing domain/); // the domain-less form is for RCPT only
  });

  it('handles quoted local parts, including ">" inside quotes', () => {
    const c = cmd('MAIL FROM:<"john doe>x"@example.com> SIZE=5');
    assert.ok(c.verb === 'MAIL');
    assert.deepEqual(c.from, { local: 'john doe>x', domain: 'example.com' });
    assert.equal(c.params.size, 5);
    const e = cmd('MAIL FROM:<"a\\"b"@x.org>');
    assert.ok(e.verb === 'MAIL');
    assert.deepEqual(e.from, { local: 'a"b', domain: 'x.org' });
  });

  it('accepts source routes', () => {
    const c = cmd('MAIL FROM:<@a.example,@b.example:u@c.example>');
    assert.ok(c.verb === 'MAIL');
    assert.deepEqual(c.from, { local: 'u', domain: 'c.example' });
  });

  it('flags UTF-8 addresses (RFC 6531) without deciding', () => {
    const c = cmd('MAIL FROM:<用户@例子.广告> SMTPUTF8');
    assert.ok(c.verb === 'MAIL');
    assert.equal(c.utf8, true);
    assert.equal(c.params.smtputf8, true);
    const d = cmd('MAIL FROM:<jörg@example.com>');
    assert.ok(d.verb === 'MAIL');
    assert.equal(d.utf8, true);
    assert.equal(d.params.smtputf8, false);
  });

  it('parses SIZE (RFC 1870)', () => {
    const c = cmd('MAIL FROM:<a@b.org> SIZE=12345');
    assert.ok(c.verb === 'MAIL');
    assert.equal(c.params.size, 12345);
    assert.ok(cmd(`MAIL FROM:<a@b.org> SIZE=${'9'.repeat(20)}`));
    assert.ok(cmd('MAIL FROM:<a@b.org> size=0'));
    refused(`MAIL FROM:<a@b.org> SIZE=${'9'.repeat(21)}`, 501, '5.5.4', /SIZE/);
    refused('MAIL FROM:<a@b.org> SIZE=12k', 501, '5.5.4');
    refused('MAIL FROM:<a@b.org> SIZE=-1', 501, '5.5.4');
    refused('MAIL FROM:<a@b.org> SIZE', 501, '5.5.4');
    refused('MAIL FROM:<a@b.org> SIZE=', 501, '5.5.4');
  });

  it('parses BODY (RFC 6152) and refuses BINARYMIME with 555', () => {
    const a = cmd('MAIL FROM:<a@b.org> BODY=8BITMIME');
    assert.ok(a.verb === 'MAIL');
    assert.equal(a.params.body, '8BITMIME');
    const b = cmd('MAIL FROM:<a@b.org> body=7bit');
    assert.ok(b.verb === 'MAIL');
    assert.equal(b.params.body, '7BIT');
    refused('MAIL FROM:<a@b.org> BODY=BINARYMIME', 555, '5.5.4', /BINARYMIME/);
    refused('MAIL FROM:<a@b.org> BODY=8BIT', 501, '5.5.4');
    refused('MAIL FROM:<a@b.org> BODY', 501, '5.5.4');
  });

  it('parses SMTPUTF8 without a value (RFC 6531 §3.4)', () => {
    const a = cmd('MAIL FROM:<a@b.org> smtputf8');
    assert.ok(a.verb === 'MAIL');
    assert.equal(a.params.smtputf8, true);
    refused('MAIL FROM:<a@b.org> SMTPUTF8=yes', 501, '5.5.4');
  });

  it('puts other parameters in `other`, keywords upper-cased', () => {
    const a = cmd('MAIL FROM:<a@b.org> AUTH=<> ret=HDRS ENVID=QQ314159 SIZE=1 BODY=8BITMIME SMTPUTF8 X-FOO');
    assert.ok(a.verb === 'MAIL');
    assert.deepEqual(a.params, {
      size: 1,
      body: '8BITMIME',
      smtputf8: true,
      ret: 'HDRS',
      envid: 'QQ314159',
      other: { AUTH: '<>', 'X-FOO': true },
    });
  });

  it('tolerates several spaces between parameters', () => {
    const a = cmd('MAIL FROM:<a@b.org>   SIZE=1    BODY=7BIT');
    assert.ok(a.verb === 'MAIL');
    assert.deepEqual(a.params, { ...noParams, size: 1, body: '7BIT' });
  });

  it('refuses duplicate and malformed parameters with 501 5.5.4', () => {
    refused('MAIL FROM:<a@b.org> SIZE=1 size=2', 501, '5.5.4', /Duplicate/);
    refused('MAIL FROM:<a@b.org> RET=FULL RET=HDRS', 501, '5.5.4', /Duplicate/);
    refused('MAIL FROM:<a@b.org> SMTPUTF8 SMTPUTF8', 501, '5.5.4');
    refused('MAIL FROM:<a@b.org> -X=1', 501, '5.5.4', /keyword/);
    refused('MAIL FROM:<a@b.org> X_Y=1', 501, '5.5.4');
    refused('MAIL FROM:<a@b.org> =1', 501, '5.5.4');
    refused('MAIL FROM:<a@b.org> X=a=b', 501, '5.5.4', /value/);
    refused('MAIL FROM:<a@b.org> X=', 501, '5.5.4');
  });

  it('flags UTF-8 in parameter values (RFC 6531 §3.3 esmtp-value)', () => {
    const a = cmd('MAIL FROM:<a@b.org> X-NAME=jörg');
    assert.ok(a.verb === 'MAIL');
    assert.equal(a.utf8, true);
    // RFC 3461 §4.4: an ENVID is xtext, never raw UTF-8.
    refused('MAIL FROM:<a@b.org> ENVID=jörg', 501, '5.5.4', /xtext/);
  });
});

describe('parseCommand: RCPT', () => {
  it('parses RCPT TO (RFC 5321 §4.1.1.3)', () => {
    assert.deepEqual(cmd('RCPT TO:<Jones@XYZ.COM>'), {
      verb: 'RCPT',
      to: { local: 'Jones', domain: 'XYZ.COM' },
      utf8: false,
      params: noRcptParams,
    });
    assert.deepEqual(cmd('rcpt to: <jones@xyz.com>'), {
      verb: 'RCPT',
      to: { local: 'jones', domain: 'xyz.com' },
      utf8: false,
      params: noRcptParams,
    });
  });

  it('accepts <Postmaster> without domain', () => {
    const c = cmd('RCPT TO:<Postmaster>');
    assert.ok(c.verb === 'RCPT');
    assert.deepEqual(c.to, { local: 'postmaster', domain: '' });
  });

  it('accepts address literals and UTF-8', () => {
    const c = cmd('RCPT TO:<user@[192.0.2.1]>');
    assert.ok(c.verb === 'RCPT');
    assert.equal(c.to.domain, '[192.0.2.1]');
    const u = cmd('RCPT TO:<用户@例子.广告>');
    assert.ok(u.verb === 'RCPT');
    assert.equal(u.utf8, true);
    assert.deepEqual(u.to, { local: '用户', domain: '例子.广告' });
  });

  it('collects parameters (RFC 3461 NOTIFY/ORCPT)', () => {
    const c = cmd('RCPT TO:<a@b.org> NOTIFY=failure,SUCCESS ORCPT=rfc822;a+2Bx@b.org X-FOO=1');
    assert.ok(c.verb === 'RCPT');
    assert.deepEqual(c.params, { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;a+2Bx@b.org', other: { 'X-FOO': '1' } });
    refused('RCPT TO:<a@b.org> NOTIFY=NEVER notify=NEVER', 501, '5.5.4', /Duplicate/);
    refused('RCPT TO:<a@b.org> NOTIFY=NEVER,DELAY', 501, '5.5.4', /NEVER/);
    refused('RCPT TO:<a@b.org> NOTIFY=SOMETIMES', 501, '5.5.4', /NOTIFY/);
    refused('RCPT TO:<a@b.org> ORCPT=a@b.org', 501, '5.5.4', /ORCPT/);
    refused('RCPT TO:<a@b.org> ORCPT=rfc822;a+2bx@b.org', 501, '5.5.4', /xtext/);
    // RFC 6533: the utf-8 type may carry UTF-8 (the session then requires SMTPUTF8).
    const u = cmd('RCPT TO:<a@b.org> ORCPT=utf-8;j\\x{F6}rg@b.org');
    assert.ok(u.verb === 'RCPT');
    assert.equal(u.params.orcpt, 'utf-8;j\\x{F6}rg@b.org');
    const v = cmd('RCPT TO:<a@b.org> ORCPT=utf-8;jörg@b.org');
    assert.ok(v.verb === 'RCPT');
    assert.equal(v.utf8, true);
  });

  it('refuses malformed RCPT', () => {
    refused('RCPT', 501, '5.5.2', /Syntax: RCPT TO:<address>/);
    refused('RCPT TO:', 501, '5.5.2');
    refused('RCPT TO:<>', 501, '5.5.2');
    refused('RCPT FROM:<a@b.org>', 501, '5.5.2');
    refused('RCPT TO:a@b.org', 501, '5.5.2');
    refused('RCPT TO:<a@b.org>x', 501, '5.5.2');
  });

  it('refuses a bad recipient address with 501 5.1.3', () => {
    refused('RCPT TO:<a@b..org>', 501, '5.1.3', /bad domain/);
    refused('RCPT TO:<user>', 501, '5.1.3', /missing domain/);
    refused(`RCPT TO:<${'a'.repeat(65)}@b.org>`, 501, '5.1.3', /local part too long/);
    refused('RCPT TO:<a@[300.1.1.1]>', 501, '5.1.3', /literal/);
  });
});

describe('parseCommand: BDAT (RFC 3030 §2)', () => {
  it('parses size and LAST', () => {
    assert.deepEqual(cmd('BDAT 86'), { verb: 'BDAT', size: 86, last: false });
    assert.deepEqual(cmd('BDAT 0 LAST'), { verb: 'BDAT', size: 0, last: true });
    assert.deepEqual(cmd('bdat 1000 last'), { verb: 'BDAT', size: 1000, last: true });
    assert.deepEqual(cmd(`BDAT ${'9'.repeat(15)}`), { verb: 'BDAT', size: 999999999999999, last: false });
  });

  it('refuses a bad size or marker with 501', () => {
    for (const l of ['BDAT', 'BDAT x', 'BDAT -1', 'BDAT 1.5', `BDAT ${'9'.repeat(16)}`, 'BDAT 10 FIRST', 'BDAT 10 LAST x', 'BDAT LAST']) {
      refused(l, 501, '5.5.4', /BDAT <size>/);
    }
  });
});

describe('parseCommand: AUTH (RFC 4954 §4)', () => {
  it('parses the mechanism and optional initial response', () => {
    assert.deepEqual(cmd('AUTH PLAIN'), { verb: 'AUTH', mechanism: 'PLAIN', initial: null });
    assert.deepEqual(cmd('auth plain AGZvbwBiYXI='), { verb: 'AUTH', mechanism: 'PLAIN', initial: 'AGZvbwBiYXI=' });
    assert.deepEqual(cmd('AUTH SCRAM-SHA-256 biwsbj11c2VyLHI9cm9tZW8='), {
      verb: 'AUTH',
      mechanism: 'SCRAM-SHA-256',
      initial: 'biwsbj11c2VyLHI9cm9tZW8=',
    });
  });

  it('returns "" for the empty initial response "="', () => {
    assert.deepEqual(cmd('AUTH EXTERNAL ='), { verb: 'AUTH', mechanism: 'EXTERNAL', initial: '' });
  });

  it('refuses bad syntax and bad base64', () => {
    refused('AUTH', 501, '5.5.2', /AUTH mechanism/);
    refused('AUTH PL@IN', 501, '5.5.2');
    refused(`AUTH ${'A'.repeat(21)}`, 501, '5.5.2');
    refused('AUTH PLAIN a b', 501, '5.5.2');
    refused('AUTH PLAIN abc', 501, '5.5.2', /decode/);
    refused('AUTH PLAIN ab!=', 501, '5.5.2', /decode/);
  });
});

describe('parseCommand properties', () => {
  const fragments = fc.constantFrom(
    'MAIL', 'RCPT', 'FROM:', 'TO:', 'EHLO', 'BDAT', 'AUTH', 'DATA', ' ', '<', '>', '@', '"', '\\', '=', 'SIZE', 'BODY',
    'SMTPUTF8', 'LAST', '8BITMIME', 'a', '1', '.', ':', '[', ']', 'IPv6:', 'é', '用', '\0', '\r', '\t', '😀', '\ud800',
  );
  const line = fc.oneof(
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.string({ unit: 'grapheme', maxLength: 100 }),
    fc.array(fragments, { maxLength: 30 }).map((a) => a.join('')),
  );

  it('never throws, and refusals are well-formed 5xx replies', () => {
    fc.assert(
      fc.property(line, (l) => {
        const r = parseCommand(l);
        if (!r.ok) {
          assert.ok(r.reply.code >= 500 && r.reply.code <= 555, String(r.reply.code));
          assert.match(serializeReply(r.reply), /^(\d{3}[- ].*\r\n)+$/);
        } else {
          assert.equal(typeof r.command.verb, 'string');
        }
      }),
      { numRuns: 3000 },
    );
  });
});
