// Parses one SMTP command line (its CRLF already removed) into a Command, or
// into the reply that refuses it: 500 for an unknown verb, 502 for a known
// but unimplemented one, 501 for a known verb with bad arguments, 555 for a
// parameter we do not implement (RFC 5321 §4.2.2, §4.2.4). Whether the
// command is allowed now is the session's business, not this parser's.
import { parsePath, type MailAddress } from './address.ts';
import { parseMailParams, parseRcptParams, type MailParams, type RcptParams } from './params.ts';
import { R, type Reply } from './reply.ts';

export type { MailParams, RcptParams } from './params.ts';

export type Command =
  | { verb: 'HELO' | 'EHLO'; domain: string }
  | { verb: 'MAIL'; from: MailAddress | null; utf8: boolean; params: MailParams }
  | { verb: 'RCPT'; to: MailAddress; utf8: boolean; params: RcptParams }
  | { verb: 'DATA' }
  | { verb: 'RSET' }
  | { verb: 'QUIT' }
  | { verb: 'STARTTLS' }
  | { verb: 'NOOP'; arg: string }
  | { verb: 'HELP'; arg: string }
  | { verb: 'VRFY'; arg: string }
  | { verb: 'EXPN'; arg: string }
  | { verb: 'BDAT'; size: number; last: boolean }
  | { verb: 'AUTH'; mechanism: string; initial: string | null };

export type ParseResult = { ok: true; command: Command } | { ok: false; reply: Reply };

// Control characters (NUL, HT, bare CR/LF, DEL) never belong in a command.
const CONTROL = /[\x00-\x1f\x7f]/;
const NON_ASCII = /[^\x00-\x7f]/;
const VERB = /^[A-Za-z]{1,16}$/;
// RFC 5321 §4.1.5, §F; RFC 1985 (ETRN); RFC 2645 (ATRN); RFC 4468 (BURL); RFC 2033 (LHLO).
const UNIMPLEMENTED = new Set(['SEND', 'SOML', 'SAML', 'TURN', 'ETRN', 'ATRN', 'BURL', 'LHLO']);
// RFC 3030 §2: chunk-size ::= 1*DIGIT; we bound it to 15 digits (safe integer).
const BDAT_SIZE = /^\d{1,15}$/;
// RFC 4954 §4 / RFC 4422 §3.1: SASL mechanism names are 1–20 of [A-Z0-9-_].
const SASL_MECH = /^[A-Za-z0-9_-]{1,20}$/;
// RFC 4954 §4: initial-response = base64 / "=" (the empty response).
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function ok(command: Command): ParseResult {
  return { ok: true, command };
}
function no(reply: Reply): ParseResult {
  return { ok: false, reply };
}

export function parseCommand(line: string): ParseResult {
  if (CONTROL.test(line)) return no(R.syntaxError('Syntax error: control character in command'));
  // Trailing spaces are tolerated ("QUIT "): many clients send them.
  // (A loop, not / +$/, which is quadratic on long runs of inner spaces.)
  let end = line.length;
  while (end > 0 && line.charCodeAt(end - 1) === 32) end--;
  const t = line.slice(0, end);
  const sp = t.indexOf(' ');
  const word = sp < 0 ? t : t.slice(0, sp);
  // RFC 5321 §2.4: verbs are case-insensitive (ASCII only).
  if (!VERB.test(word)) return no(R.commandUnrecognized);
  const verb = word.toUpperCase();
  const arg = sp < 0 ? '' : t.slice(sp + 1).replace(/^ +/, '');

  switch (verb) {
    case 'HELO':
    case 'EHLO':
      // RFC 5321 §4.1.1.1: ehlo = "EHLO" SP ( Domain / address-literal ).
      // The argument's syntax is the session's (lenient) concern; we require one token.
      if (arg === '' || arg.includes(' ')) return no(R.syntaxError(`Syntax: ${verb} hostname`));
      return ok({ verb, domain: arg });
    case 'MAIL':
      return parseMail(arg);
    case 'RCPT':
      return parseRcpt(arg);
    case 'DATA':
    case 'RSET':
    case 'QUIT':
    case 'STARTTLS':
      // RFC 5321 §4.1.1.4, §4.1.1.5, §4.1.1.10; RFC 3207 §4: no parameters.
      if (arg !== '') return no(R.paramSyntax(`Syntax: ${verb} takes no arguments`));
      return ok({ verb });
    case 'NOOP':
    case 'HELP':
      // RFC 5321 §4.1.1.8, §4.1.1.9: an optional string, ignored.
      return ok({ verb, arg });
    case 'VRFY':
    case 'EXPN':
      // RFC 5321 §4.1.1.6, §4.1.1.7: vrfy = "VRFY" SP String.
      if (arg === '') return no(R.syntaxError(`Syntax: ${verb} <address>`));
      return ok({ verb, arg });
    case 'BDAT':
      return parseBdat(arg);
    case 'AUTH':
      return parseAuth(arg);
    default:
      return no(UNIMPLEMENTED.has(verb) ? R.notImplemented(verb) : R.commandUnrecognized);
  }
}

/** Splits "<path> params" after "FROM:" / "TO:"; the path ends at the first
 * ">" outside a quoted string. A single (or more) space after the colon is
 * tolerated: many clients send "MAIL FROM: <a@b>". */
function splitPath(s: string): { path: string; rest: string } | null {
  let i = 0;
  while (s[i] === ' ') i++;
  if (s[i] !== '<') return null;
  let quoted = false;
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j];
    if (quoted) {
      if (c === '\\') j++;
      else if (c === '"') quoted = false;
    } else if (c === '"') {
      quoted = true;
    } else if (c === '>') {
      const rest = s.slice(j + 1);
      if (rest !== '' && rest[0] !== ' ') return null;
      return { path: s.slice(i, j + 1), rest: rest.trim() };
    }
  }
  return null;
}

// RFC 5321 §4.1.1.2: mail = "MAIL FROM:" Reverse-path [SP Mail-parameters]
function parseMail(arg: string): ParseResult {
  const usage = 'Syntax: MAIL FROM:<address>';
  if (!/^from:/i.test(arg)) return no(R.syntaxError(usage));
  const sp = splitPath(arg.slice(5));
  if (sp === null) return no(R.syntaxError(usage));
  const mp = parseMailParams(sp.rest);
  if (!mp.ok) return no(mp.reply);
  const paramsUtf8 = NON_ASCII.test(sp.rest);
  // RFC 5321 §4.5.5: the null reverse-path "<>".
  if (sp.path === '<>') return ok({ verb: 'MAIL', from: null, utf8: paramsUtf8, params: mp.params });
  const p = parsePath(sp.path);
  if (!p.ok) return no(R.badSenderSyntax(`Bad sender address syntax: ${p.error}`));
  // RFC 5321 §4.1.1.3: the domain-less <Postmaster> is a recipient form only.
  if (p.address.domain === '') return no(R.badSenderSyntax('Bad sender address syntax: missing domain'));
  return ok({ verb: 'MAIL', from: p.address, utf8: p.utf8 || paramsUtf8, params: mp.params });
}

// RFC 5321 §4.1.1.3: rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" / "<Postmaster>" / Forward-path ) [SP Rcpt-parameters]
function parseRcpt(arg: string): ParseResult {
  const usage = 'Syntax: RCPT TO:<address>';
  if (!/^to:/i.test(arg)) return no(R.syntaxError(usage));
  const sp = splitPath(arg.slice(3));
  if (sp === null || sp.path === '<>') return no(R.syntaxError(usage));
  const pp = parseRcptParams(sp.rest);
  if (!pp.ok) return no(pp.reply);
  const p = parsePath(sp.path);
  if (!p.ok) return no(R.badRecipientSyntax(`Bad recipient address syntax: ${p.error}`));
  return ok({ verb: 'RCPT', to: p.address, utf8: p.utf8 || NON_ASCII.test(sp.rest), params: pp.params });
}

// RFC 3030 §2: bdat-cmd ::= "BDAT" SP chunk-size [ SP end-marker ]; end-marker ::= "LAST"
function parseBdat(arg: string): ParseResult {
  const parts = arg === '' ? [] : arg.split(/ +/);
  const usage = 'Syntax: BDAT <size> [LAST]';
  if (parts.length < 1 || parts.length > 2 || !BDAT_SIZE.test(parts[0])) return no(R.paramSyntax(usage));
  if (parts.length === 2 && parts[1].toUpperCase() !== 'LAST') return no(R.paramSyntax(usage));
  return ok({ verb: 'BDAT', size: Number(parts[0]), last: parts.length === 2 });
}

/** RFC 4954 §4: AUTH mechanism [initial-response]. The mechanism is
 * upper-cased; an initial response "=" (empty) is returned as "". */
function parseAuth(arg: string): ParseResult {
  const parts = arg === '' ? [] : arg.split(/ +/);
  if (parts.length < 1 || parts.length > 2 || !SASL_MECH.test(parts[0])) {
    return no(R.syntaxError('Syntax: AUTH mechanism [initial-response]'));
  }
  const mechanism = parts[0].toUpperCase();
  if (parts.length === 1) return ok({ verb: 'AUTH', mechanism, initial: null });
  const ir = parts[1];
  if (ir === '=') return ok({ verb: 'AUTH', mechanism, initial: '' });
  // RFC 4954 §4: a response that is not valid base64 is answered 501 5.5.2.
  if (!BASE64.test(ir)) return no(R.authBadBase64);
  return ok({ verb: 'AUTH', mechanism, initial: ir });
}
