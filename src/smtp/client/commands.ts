// The envelope commands the client sends (RFC 5321 §4.1.1.2–3) with the ESMTP
// parameters the server advertised: SIZE (RFC 1870), BODY=8BITMIME (RFC
// 6152), SMTPUTF8 (RFC 6531), and the DSN parameters RET, ENVID, NOTIFY, ORCPT
// (RFC 3461) — DSN parameters only when DSN is advertised. Addresses that
// could break the command line are refused here (injection guard). Pure.

import type { Capabilities } from './ehlo.ts';
import { utf8AddrXtext, xtextEncode as xtext } from '../protocol/dsn-params.ts';

export type DsnNotify = 'NEVER' | 'SUCCESS' | 'FAILURE' | 'DELAY';

export interface OutboundRecipient {
  /** "local@domain" as it goes between < and > (quoted local part if needed). */
  address: string;
  dsn?: {
    /** RFC 3461 §4.1: NEVER alone, or any of SUCCESS, FAILURE, DELAY. */
    notify?: readonly DsnNotify[];
    /** RFC 3461 §4.2: "rfc822;user@example.org" (addr-type;address, not yet encoded). */
    orcpt?: string;
  };
}

export interface OutboundEnvelope {
  /** Reverse path without brackets; '' is the null sender <>. */
  from: string;
  recipients: readonly OutboundRecipient[];
  /** Declared size; by default the content's size after CRLF normalization. */
  size?: number;
  /** The message needs SMTPUTF8 (UTF-8 headers or addresses). Non-ASCII addresses imply it. */
  smtputf8: boolean;
  /** The message was received as 8BITMIME; 8-bit content is also detected from the bytes. */
  eightBit: boolean;
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string };
}

const NON_ASCII = /[^\x00-\x7f]/;

/** False for an address that could end or split the command line or close the
 * path early: control characters anywhere; space, "<" or ">" outside a quoted local part. */
export function isSafePath(address: string, allowEmpty: boolean): boolean {
  if (address === '') return allowEmpty;
  if (/[\x00-\x1f\x7f]/.test(address)) return false;
  const rest = address.startsWith('"') ? address.replace(/^"(?:[^"\\]|\\.)*"/, '') : address;
  return !/[\s<>]/.test(rest);
}

export function needsSmtpUtf8(env: OutboundEnvelope): boolean {
  return env.smtputf8 || NON_ASCII.test(env.from) || env.recipients.some((r) => NON_ASCII.test(r.address));
}

export function mailCommand(env: OutboundEnvelope, caps: Capabilities, body: { size: number; eightBit: boolean }): string {
  let cmd = `MAIL FROM:<${env.from}>`;
  if (caps.size !== null) cmd += ` SIZE=${body.size}`; // RFC 1870 §6
  if ((body.eightBit || env.eightBit) && caps.eightBitMime) cmd += ' BODY=8BITMIME'; // RFC 6152 §3
  if (needsSmtpUtf8(env) && caps.smtpUtf8) cmd += ' SMTPUTF8'; // RFC 6531 §3.4
  if (caps.dsn && env.dsn) {
    if (env.dsn.ret) cmd += ` RET=${env.dsn.ret}`; // RFC 3461 §4.3
    if (env.dsn.envid) cmd += ` ENVID=${xtext(env.dsn.envid)}`; // RFC 3461 §4.4
  }
  return cmd + '\r\n';
}

export function rcptCommand(r: OutboundRecipient, caps: Capabilities): string {
  let cmd = `RCPT TO:<${r.address}>`;
  if (caps.dsn && r.dsn) {
    if (r.dsn.notify && r.dsn.notify.length > 0) {
      // RFC 3461 §4.1: NEVER excludes the others.
      const n = r.dsn.notify.includes('NEVER') ? ['NEVER'] : [...new Set(r.dsn.notify)];
      cmd += ` NOTIFY=${n.join(',')}`;
    }
    if (r.dsn.orcpt) cmd += ` ORCPT=${orcpt(r.dsn.orcpt)}`;
  }
  return cmd + '\r\n';
}

/** "rfc822;bob@example.org" → "rfc822;bob@example.org" xtext-encoded; a UTF-8 address uses the "utf-8" type (RFC 6533 §4). */
function orcpt(value: string): string {
  const semi = value.indexOf(';');
  const type = semi < 0 ? 'rfc822' : value.slice(0, semi);
  const addr = semi < 0 ? value : value.slice(semi + 1);
  if (NON_ASCII.test(addr) || type.toLowerCase() === 'utf-8') return `utf-8;${utf8AddrXtext(addr)}`;
  return `${xtext(type)};${xtext(addr)}`;
}
