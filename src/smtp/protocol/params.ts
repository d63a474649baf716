// ESMTP parameters after MAIL FROM:<...> and RCPT TO:<...>: splits
// `keyword[=value]` tokens (RFC 5321 §4.1.2), refuses malformed or repeated
// ones, and interprets the parameters we implement: for MAIL, SIZE (RFC
// 1870), BODY (RFC 6152), SMTPUTF8 (RFC 6531), RET and ENVID (RFC 3461); for
// RCPT, NOTIFY and ORCPT (RFC 3461). Anything else is left for the session to
// accept or refuse.
import { R, type Reply } from './reply.ts';
import { parseEnvid, parseNotify, parseOrcpt, parseRet, type DsnNotify, type DsnRet } from './dsn-params.ts';

export interface MailParams {
  /** SIZE= declared by the client (RFC 1870 §6), or null. */
  size: number | null;
  body: '7BIT' | '8BITMIME' | null;
  smtputf8: boolean;
  /** RFC 3461 §4.3 RET, or null. */
  ret: DsnRet | null;
  /** RFC 3461 §4.4 ENVID as received (xtext), or null. */
  envid: string | null;
  /** Other parameters, keyword upper-cased; `true` for a keyword without value. */
  other: Record<string, string | true>;
}

export interface RcptParams {
  /** RFC 3461 §4.1 NOTIFY in canonical order, or null when not given. */
  notify: DsnNotify[] | null;
  /** RFC 3461 §4.2 ORCPT as received (`addr-type;xtext`), or null. */
  orcpt: string | null;
  /** Other parameters, keyword upper-cased; `true` for a keyword without value. */
  other: Record<string, string | true>;
}

export type ParamsResult = { ok: true; params: Record<string, string | true> } | { ok: false; reply: Reply };
export type MailParamsResult = { ok: true; params: MailParams } | { ok: false; reply: Reply };
export type RcptParamsResult = { ok: true; params: RcptParams } | { ok: false; reply: Reply };

// RFC 5321 §4.1.2: esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
const KEYWORD = /^[A-Za-z0-9][A-Za-z0-9-]*$/;
// RFC 5321 §4.1.2: esmtp-value = 1*(%d33-60 / %d62-126), plus UTF8-non-ascii (RFC 6531 §3.3).
const VALUE = /^[\x21-\x3c\x3e-\x7e\u00a0-\u{10ffff}]+$/u;
// RFC 1870 §3: size-value ::= 1*20DIGIT
const SIZE = /^\d{1,20}$/;

/** Parses the space-separated parameter text (may be empty). */
export function parseParams(text: string): ParamsResult {
  const params: Record<string, string | true> = {};
  if (text === '') return { ok: true, params };
  for (const tok of text.split(/ +/)) {
    if (tok === '') continue;
    const eq = tok.indexOf('=');
    const key = eq < 0 ? tok : tok.slice(0, eq);
    const value = eq < 0 ? true : tok.slice(eq + 1);
    if (!KEYWORD.test(key)) return { ok: false, reply: R.paramSyntax(`Bad parameter keyword: ${clip(key)}`) };
    if (value !== true && !VALUE.test(value)) return { ok: false, reply: R.paramSyntax(`Bad value for parameter ${clip(key)}`) };
    const k = key.toUpperCase();
    if (Object.hasOwn(params, k)) return { ok: false, reply: R.paramSyntax(`Duplicate parameter ${k}`) };
    params[k] = value;
  }
  return { ok: true, params };
}

/** Parses MAIL parameters and interprets SIZE, BODY, SMTPUTF8, RET and ENVID. */
export function parseMailParams(text: string): MailParamsResult {
  const p = parseParams(text);
  if (!p.ok) return p;
  const out: MailParams = { size: null, body: null, smtputf8: false, ret: null, envid: null, other: {} };
  for (const [k, v] of Object.entries(p.params)) {
    if (k === 'SIZE') {
      // RFC 1870 §3: SIZE=<decimal octets>, at most 20 digits.
      if (v === true || !SIZE.test(v)) return { ok: false, reply: R.paramSyntax('Syntax: SIZE=<octets>') };
      out.size = Number(v);
    } else if (k === 'BODY') {
      // RFC 6152 §2: BODY=7BIT / BODY=8BITMIME; RFC 3030 §3: BINARYMIME, which we do not offer.
      const b = v === true ? '' : v.toUpperCase();
      if (b === '7BIT' || b === '8BITMIME') out.body = b;
      else if (b === 'BINARYMIME') return { ok: false, reply: R.paramNotRecognized('BODY=BINARYMIME not supported') };
      else return { ok: false, reply: R.paramSyntax('Syntax: BODY=7BIT or BODY=8BITMIME') };
    } else if (k === 'SMTPUTF8') {
      // RFC 6531 §3.4: the parameter does not accept a value.
      if (v !== true) return { ok: false, reply: R.paramSyntax('SMTPUTF8 takes no value') };
      out.smtputf8 = true;
    } else if (k === 'RET') {
      const r = parseRet(v);
      if (!r.ok) return r;
      out.ret = r.value;
    } else if (k === 'ENVID') {
      const r = parseEnvid(v);
      if (!r.ok) return r;
      out.envid = r.value;
    } else {
      out.other[k] = v;
    }
  }
  return { ok: true, params: out };
}

/** Parses RCPT parameters and interprets NOTIFY and ORCPT (RFC 3461 §4.1, §4.2). */
export function parseRcptParams(text: string): RcptParamsResult {
  const p = parseParams(text);
  if (!p.ok) return p;
  const out: RcptParams = { notify: null, orcpt: null, other: {} };
  for (const [k, v] of Object.entries(p.params)) {
    if (k === 'NOTIFY') {
      const r = parseNotify(v);
      if (!r.ok) return r;
      out.notify = r.value;
    } else if (k === 'ORCPT') {
      const r = parseOrcpt(v);
      if (!r.ok) return r;
      out.orcpt = v as string;
    } else {
      out.other[k] = v;
    }
  }
  return { ok: true, params: out };
}

/** Keeps client-supplied text in a reply short. */
export function clip(s: string): string {
  return s.length > 40 ? s.slice(0, 40) + '...' : s;
}
