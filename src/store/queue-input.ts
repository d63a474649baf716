// Validation and normal forms of what callers hand the outbound queue, shared
// by every backend so that they accept and refuse the same things: queue ids,
// envelope senders and recipients (the destination domain as a lower-case
// A-label), DSN parameters (RFC 3461), claim options and attempt outcomes.
// Invalid input throws StoreError('invalid').

import { parseDomain } from './names.ts';
import {
  StoreError,
  type AttemptOutcome,
  type ClaimOptions,
  type DsnNotify,
  type OutboundRequest,
} from './store.ts';

/** An outbound request in the form backends store. Times in ms. */
export interface NormalOutbound {
  queueId: string;
  sender: string;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  smtputf8: boolean;
  eightBit: boolean;
  notBefore: number;
  recipients: Array<{ address: string; domain: string; notify: DsnNotify[] | null; orcpt: string | null }>;
}

export interface NormalOutcome {
  recipientId: number;
  result: AttemptOutcome['result'];
  reply: string | null;
  status: string | null;
  host: string | null;
  at: number;
  /** Null unless deferred. */
  nextAttemptAt: number | null;
}

const NOTIFY_ORDER: readonly DsnNotify[] = ['SUCCESS', 'FAILURE', 'DELAY', 'NEVER'];
// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the brackets.
const MAX_PATH_OCTETS = 256;
const CONTROL = /[\u0000-\u001f\u007f]/;

function invalid(msg: string): never {
  throw new StoreError('invalid', msg);
}

/** Printable ASCII without spaces, as the SMTP session makes them. */
export function requireQueueId(id: unknown): string {
  if (typeof id !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(id)) invalid(`invalid queue id: ${JSON.stringify(id)}`);
  return id;
}

export function requireTime(d: unknown, what: string): number {
  const ms = d instanceof Date ? d.getTime() : NaN;
  if (!Number.isFinite(ms)) invalid(`${what} must be a valid Date`);
  return ms;
}

function optionalText(v: unknown, what: string, max = 1000): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > max || CONTROL.test(v)) invalid(`invalid ${what}: ${JSON.stringify(v)}`);
  return v;
}

/** Reply and error text may span lines (kept joined with \n) but no NULs. */
function replyText(v: unknown, what: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.includes('\u0000')) invalid(`invalid ${what}`);
  return v;
}

/** The destination of an address: the domain lower-cased as A-labels, or an
 * address literal (RFC 5321 §4.1.3) lower-cased with its brackets. */
export function recipientDomain(address: string): string {
  const at = address.lastIndexOf('@');
  const raw = at > 0 ? address.slice(at + 1) : '';
  if (/^\[[^\[\]\s]+\]$/.test(raw)) return raw.toLowerCase();
  const d = parseDomain(raw);
  if (d === null) invalid(`invalid recipient address: ${JSON.stringify(address)}`);
  return d;
}

function requireAddressText(a: unknown, what: string): string {
  if (typeof a !== 'string' || CONTROL.test(a) || /\s/.test(a) || Buffer.byteLength(a) > MAX_PATH_OCTETS - 2) {
    invalid(`invalid ${what}: ${JSON.stringify(a)}`);
  }
  return a;
}

/** RFC 3461 §4.1: a non-empty list; NEVER only on its own. Canonical order, no repeats. */
export function normalizeNotify(n: unknown): DsnNotify[] | null {
  if (n === undefined || n === null) return null;
  if (!Array.isArray(n) || n.length === 0) invalid('NOTIFY must be null or a non-empty list');
  for (const v of n) if (!NOTIFY_ORDER.includes(v as DsnNotify)) invalid(`invalid NOTIFY value: ${JSON.stringify(v)}`);
  const out = NOTIFY_ORDER.filter((v) => n.includes(v));
  if (out.includes('NEVER') && out.length > 1) invalid('NOTIFY=NEVER cannot be combined with other values');
  return out;
}

export function normalizeOutbound(o: OutboundRequest): NormalOutbound {
  if (typeof o !== 'object' || o === null) invalid('outbound must be an object');
  const queueId = requireQueueId(o.queueId);
  const sender = o.sender === '' ? '' : requireAddressText(o.sender, 'envelope sender');
  if (sender !== '' && !sender.includes('@')) invalid(`invalid envelope sender: ${JSON.stringify(sender)}`);
  if (o.ret !== undefined && o.ret !== null && o.ret !== 'FULL' && o.ret !== 'HDRS') invalid(`invalid RET: ${JSON.stringify(o.ret)}`);
  if (typeof o.smtputf8 !== 'boolean' || typeof o.eightBit !== 'boolean') invalid('smtputf8 and eightBit must be booleans');
  if (!Array.isArray(o.recipients) || o.recipients.length === 0) invalid('an outbound request needs recipients');
  const seen = new Set<string>();
  const recipients: NormalOutbound['recipients'] = [];
  for (const r of o.recipients) {
    const address = requireAddressText(r?.address, 'recipient address');
    // The same address twice in one transaction is one recipient.
    if (seen.has(address)) continue;
    seen.add(address);
    recipients.push({
      address,
      domain: recipientDomain(address),
      notify: normalizeNotify(r.notify),
      orcpt: optionalText(r.orcpt, 'ORCPT', 500),
    });
  }
  return {
    queueId,
    sender,
    envid: optionalText(o.envid, 'ENVID', 100),
    ret: o.ret ?? null,
    smtputf8: o.smtputf8,
    eightBit: o.eightBit,
    notBefore: requireTime(o.notBefore, 'notBefore'),
    recipients,
  };
}

export function normalizeClaim(o: ClaimOptions): {
  now: number;
  limit: number;
  leaseMs: number;
  owner: string;
  domain: string | null;
} {
  if (typeof o !== 'object' || o === null) invalid('claim options must be an object');
  if (!Number.isSafeInteger(o.limit) || o.limit < 1) invalid('limit must be a positive integer');
  if (!Number.isSafeInteger(o.leaseMs) || o.leaseMs < 1) invalid('leaseMs must be a positive integer');
  return {
    now: requireTime(o.now, 'now'),
    limit: o.limit,
    leaseMs: o.leaseMs,
    owner: requireOwner(o.owner),
    domain: o.domain === undefined || o.domain === null ? null : recipientDomain(`x@${o.domain}`),
  };
}

export function requireOwner(owner: unknown): string {
  if (typeof owner !== 'string' || owner.length === 0 || owner.length > 200 || CONTROL.test(owner)) {
    invalid(`invalid lease owner: ${JSON.stringify(owner)}`);
  }
  return owner;
}

export function requireIds(ids: unknown, what: string): number[] {
  if (!Array.isArray(ids) || !ids.every((i) => Number.isSafeInteger(i))) invalid(`${what} must be integer ids`);
  return [...new Set(ids as number[])];
}

export function normalizeOutcomes(outcomes: AttemptOutcome[]): NormalOutcome[] {
  if (!Array.isArray(outcomes)) invalid('outcomes must be an array');
  const seen = new Set<number>();
  return outcomes.map((o) => {
    if (typeof o !== 'object' || o === null || !Number.isSafeInteger(o.recipientId)) invalid('an outcome needs a recipientId');
    if (seen.has(o.recipientId)) invalid(`two outcomes for recipient ${o.recipientId}`);
    seen.add(o.recipientId);
    if (o.result !== 'delivered' && o.result !== 'failed' && o.result !== 'deferred') {
      invalid(`invalid outcome result: ${JSON.stringify(o.result)}`);
    }
    const next = o.result === 'deferred' ? requireTime(o.nextAttemptAt, 'nextAttemptAt of a deferred outcome') : null;
    return {
      recipientId: o.recipientId,
      result: o.result,
      reply: replyText(o.reply, 'reply'),
      status: optionalText(o.status, 'status', 20),
      host: optionalText(o.host, 'host', 300),
      at: requireTime(o.at, 'at'),
      nextAttemptAt: next,
    };
  });
}

export function requireReason(reply: unknown, status: unknown): { reply: string; status: string } {
  const r = replyText(reply, 'reply');
  const s = optionalText(status, 'status', 20);
  if (r === null || s === null) invalid('reply and status are required');
  return { reply: r, status: s };
}
