/**
 * POP3 command-line parser (pure; never throws).
 *
 * Parses one client line, without or with its trailing CRLF, into a typed
 * command. Grammar: RFC 1939 §3 (keywords are case-insensitive, arguments are
 * separated by a single space), the commands of RFC 1939 §§4–7, CAPA (RFC 2449
 * §5), STLS (RFC 2595 §4) and AUTH (RFC 5034 §4). RFC 2449 §4 bounds a command
 * line to 255 octets including the CRLF, and RFC 5034 §4 keeps that bound for
 * the AUTH command with its initial response (a longer one must be sent as a
 * continuation). The client's continuation lines during the SASL exchange get
 * their own server-chosen bound (`parseAuthResponse`, default 8192 octets).
 * Both limits are parameters. APOP (RFC 1939 §7) is recognised and refused.
 */

/** RFC 2449 §4: command lines are at most 255 octets, CRLF included. */
export const MAX_COMMAND_LINE = 255;
/** Bound for a SASL continuation line (base64), CRLF included; a server-chosen limit, not a figure from the RFC. */
export const MAX_AUTH_RESPONSE_LINE = 8192;

export type Command =
  | { verb: 'USER'; name: string }
  | { verb: 'PASS'; password: string }
  | { verb: 'STAT' }
  | { verb: 'LIST'; msg?: number }
  | { verb: 'RETR'; msg: number }
  | { verb: 'DELE'; msg: number }
  | { verb: 'NOOP' }
  | { verb: 'RSET' }
  | { verb: 'TOP'; msg: number; lines: number }
  | { verb: 'UIDL'; msg?: number }
  | { verb: 'QUIT' }
  | { verb: 'CAPA' }
  | { verb: 'STLS' }
  | { verb: 'AUTH'; mechanism?: string; initialResponse?: string };

export type Verb = Command['verb'];

export type ParseResult = { ok: true; command: Command } | { ok: false; error: string };

export interface ParseOptions {
  /** Maximum octets in a command line including CRLF (default 255). */
  maxLineLength?: number;
}

const fail = (error: string): ParseResult => ({ ok: false, error });
const done = (command: Command): ParseResult => ({ ok: true, command });

/** Octet length of a JS string as it would be on the wire (UTF-8). */
function octets(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Strip one trailing CRLF (or bare LF, tolerated) and report how many octets it was. */
function stripEol(line: string): { body: string; eol: number } {
  if (line.endsWith('\r\n')) return { body: line.slice(0, -2), eol: 2 };
  if (line.endsWith('\n')) return { body: line.slice(0, -1), eol: 1 };
  return { body: line, eol: 0 };
}

/** A message number or line count: 1–10 decimal digits, no sign (RFC 1939 §3 / §7 TOP). */
const DIGITS = /^[0-9]{1,10}$/;

export function parseNumber(arg: string, allowZero: boolean): number | undefined {
  if (!DIGITS.test(arg)) return undefined;
  const n = Number(arg);
  if (!Number.isSafeInteger(n)) return undefined;
  if (n === 0 && !allowZero) return undefined;
  return n;
}

const KNOWN = new Set<string>([
  'USER', 'PASS', 'APOP', 'STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'TOP', 'UIDL', 'QUIT', 'CAPA', 'STLS', 'AUTH',
]);

/** Parse one POP3 command line. */
export function parseCommand(line: string, options: ParseOptions = {}): ParseResult {
  if (typeof line !== 'string') return fail('line is not text');
  const max = options.maxLineLength ?? MAX_COMMAND_LINE;
  const { body } = stripEol(line);
  // Count as if the line had been sent with CRLF.
  if (octets(body) + 2 > max) return fail(`line too long (limit ${max} octets)`);
  if (/[\r\n\0]/.test(body)) return fail('line contains CR, LF or NUL');
  if (body.length === 0) return fail('empty command');

  const sp = body.indexOf(' ');
  const keyword = (sp === -1 ? body : body.slice(0, sp)).toUpperCase();
  const rest = sp === -1 ? undefined : body.slice(sp + 1);
  if (!/^[A-Z]{3,4}$/.test(keyword) || !KNOWN.has(keyword)) return fail('unknown command');

  // PASS takes the rest of the line verbatim: passwords may contain spaces (RFC 1939 §7).
  if (keyword === 'PASS') {
    if (rest === undefined || rest.length === 0) return fail('PASS needs a password');
    return done({ verb: 'PASS', password: rest });
  }

  const args = rest === undefined ? [] : rest.split(' ');
  if (args.some((a) => a.length === 0)) return fail('arguments must be separated by a single space');

  const noArgs = (verb: 'STAT' | 'NOOP' | 'RSET' | 'QUIT' | 'CAPA' | 'STLS'): ParseResult =>
    args.length === 0 ? done({ verb }) : fail(`${verb} takes no arguments`);

  switch (keyword) {
    case 'USER':
      if (args.length !== 1) return fail('USER needs exactly one name');
      return done({ verb: 'USER', name: args[0]! });
    case 'APOP':
      return fail('APOP is not supported');
    case 'STAT':
    case 'NOOP':
    case 'RSET':
    case 'QUIT':
    case 'CAPA':
    case 'STLS':
      return noArgs(keyword);
    case 'LIST':
    case 'UIDL': {
      if (args.length === 0) return done({ verb: keyword });
      if (args.length > 1) return fail(`${keyword} takes at most one message number`);
      const msg = parseNumber(args[0]!, false);
      if (msg === undefined) return fail('invalid message number');
      return done({ verb: keyword, msg });
    }
    case 'RETR':
    case 'DELE': {
      if (args.length !== 1) return fail(`${keyword} needs one message number`);
      const msg = parseNumber(args[0]!, false);
      if (msg === undefined) return fail('invalid message number');
      return done({ verb: keyword, msg });
    }
    case 'TOP': {
      if (args.length !== 2) return fail('TOP needs a message number and a line count');
      const msg = parseNumber(args[0]!, false);
      if (msg === undefined) return fail('invalid message number');
      const lines = parseNumber(args[1]!, true);
      if (lines === undefined) return fail('invalid line count');
      return done({ verb: 'TOP', msg, lines });
    }
    case 'AUTH': {
      // RFC 5034 §4: "AUTH" alone is allowed (some clients use it to list mechanisms).
      if (args.length === 0) return done({ verb: 'AUTH' });
      if (args.length > 2) return fail('AUTH takes a mechanism and an optional initial response');
      const mechanism = args[0]!.toUpperCase();
      // RFC 4422 §3.1 mechanism names: 1–20 of [A-Z0-9-_].
      if (!/^[A-Z0-9_-]{1,20}$/.test(mechanism)) return fail('invalid SASL mechanism name');
      if (args.length === 1) return done({ verb: 'AUTH', mechanism });
      const ir = args[1]!;
      if (ir !== '=' && !isBase64(ir)) return fail('initial response is not base64');
      return done({ verb: 'AUTH', mechanism, initialResponse: ir });
    }
  }
  return fail('unknown command');
}

/** Strict base64 (RFC 4648 §4) with padding; empty is not allowed here. */
export function isBase64(s: string): boolean {
  return s.length > 0 && s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

export type AuthResponse =
  | { ok: true; cancel: true }
  | { ok: true; cancel: false; data: Buffer }
  | { ok: false; error: string };

/**
 * Parse a client continuation line in a SASL exchange (RFC 5034 §4): a base64
 * string, an empty line (empty response), or "*" to cancel.
 */
export function parseAuthResponse(line: string, maxLineLength: number = MAX_AUTH_RESPONSE_LINE): AuthResponse {
  if (typeof line !== 'string') return { ok: false, error: 'line is not text' };
  const { body } = stripEol(line);
  if (octets(body) + 2 > maxLineLength) return { ok: false, error: `line too long (limit ${maxLineLength} octets)` };
  if (body === '*') return { ok: true, cancel: true };
  if (body === '') return { ok: true, cancel: false, data: Buffer.alloc(0) };
  if (!isBase64(body)) return { ok: false, error: 'response is not base64' };
  return { ok: true, cancel: false, data: Buffer.from(body, 'base64') };
}
