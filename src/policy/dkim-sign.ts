// Outbound DKIM signing: which messages are signed, with which keys. The
// router calls `sign()` for a message submitted by a logged-in user before
// storing it (queue and local copies alike), and prepends what it returns.
//
// - The signing domain is the domain of the From: address (DMARC alignment,
//   RFC 7489 §3.1.1). It is signed only if it is the domain of the envelope
//   sender or of the logged-in account (both vetted by the sender policy), so
//   a user of one hosted domain cannot get mail signed for another.
// - Every key of that domain that is `active` now signs: one RSA and one
//   Ed25519 key give two signatures (RFC 8463 §6 dual signing).
// - Keys are read from the store and kept for `cacheMs`, so a rotation made
//   with the CLI beside a running server takes effect within that time;
//   state (pending/active/retiring) is evaluated at each message with the
//   injected clock.
// - A failure to sign is logged and the message goes out unsigned: signing
//   is never a reason to refuse mail.

import { createPrivateKey, type KeyObject } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { DkimKey, DkimKeyStore } from '../store/dkim-keys.ts';
import { dkimKeyState } from '../store/dkim-keys.ts';
import { parseDomain } from '../store/names.ts';
import { dkimSign, parseHeaderFields, splitMessage, type DkimSigningKey } from '../message/dkim-sign.ts';

export interface DkimSignerOptions {
  store: Pick<DkimKeyStore, 'listDkimKeys'>;
  now: () => Date;
  log: Logger;
  /** How long a domain's keys are kept before they are read again (ms). */
  cacheMs?: number;
}

/** What the signer needs to know about a message. */
export interface MessageToSign {
  queueId: string;
  /** The header lines added by this server (Received, Date, Message-ID), CRLF-terminated. */
  traceHeader: string;
  content: Buffer[];
  /** The envelope sender's domain (MAIL FROM), null for <>. */
  envelopeDomain: string | null;
  /** The logged-in account's address. */
  user: string | null;
}

export class DkimSigner {
  readonly #store: DkimSignerOptions['store'];
  readonly #now: () => Date;
  readonly #log: Logger;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, { until: number; keys: Promise<DkimKey[]> }>();
  readonly #parsed = new Map<string, KeyObject>();

  constructor(o: DkimSignerOptions) {
    this.#store = o.store;
    this.#now = o.now;
    this.#log = o.log;
    this.#cacheMs = o.cacheMs ?? 60_000;
  }

  /** The DKIM-Signature fields to prepend (CRLF-terminated), or '' when the
   * message is not ours to sign. Never throws. */
  async sign(msg: MessageToSign): Promise<string> {
    try {
      const pieces = [Buffer.from(msg.traceHeader, 'utf8'), ...msg.content];
      const domain = fromDomain(pieces);
      if (domain === null) return '';
      const allowed = [msg.envelopeDomain, msg.user ? msg.user.slice(msg.user.lastIndexOf('@') + 1) : null].map((d) => (d ? parseDomain(d) : null));
      if (!allowed.includes(domain)) {
        this.#log.debug('not DKIM-signed: the From domain is not the sender\'s', { queue: msg.queueId, domain });
        return '';
      }
      const now = this.#now();
      const keys = (await this.#keys(domain)).filter((k) => dkimKeyState(k, now) === 'active');
      if (keys.length === 0) return '';
      const signing: DkimSigningKey[] = keys.map((k) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm, privateKey: this.#keyObject(k) }));
      const r = await dkimSign(pieces, signing, { now });
      if (!r.ok) {
        this.#log.warn('not DKIM-signed', { queue: msg.queueId, domain, reason: r.reason });
        return '';
      }
      this.#log.debug('DKIM-signed', { queue: msg.queueId, domain, selectors: keys.map((k) => k.selector) });
      return r.header;
    } catch (err) {
      this.#log.error('DKIM signing failed; sent unsigned', { queue: msg.queueId, error: err });
      return '';
    }
  }

  /** Forgets cached keys (after a change through this process). */
  invalidate(): void {
    this.#cache.clear();
  }

  #keys(domain: string): Promise<DkimKey[]> {
    const t = Date.now();
    const hit = this.#cache.get(domain);
    if (hit && hit.until > t) return hit.keys;
    const keys = this.#store.listDkimKeys(domain);
    this.#cache.set(domain, { until: t + this.#cacheMs, keys });
    // A failed read is not kept.
    keys.catch(() => this.#cache.delete(domain));
    return keys;
  }

  #keyObject(k: DkimKey): KeyObject {
    let obj = this.#parsed.get(k.privateKey);
    if (!obj) {
      obj = createPrivateKey(k.privateKey);
      this.#parsed.set(k.privateKey, obj);
    }
    return obj;
  }
}

/** The domain of the single From: address (RFC 5322 §3.6.2), A-label lower-case, or null. */
export function fromDomain(pieces: readonly Buffer[]): string | null {
  const { header } = splitMessage(pieces);
  const froms = parseHeaderFields(header).filter((f) => f.name === 'from');
  if (froms.length !== 1) return null;
  const value = Buffer.from(froms[0]!.raw.slice(froms[0]!.raw.indexOf(':') + 1), 'latin1').toString('utf8').replace(/\r\n/g, '');
  // Drop quoted display names and comments, then take the angle-addr if there is one.
  const bare = value.replace(/"(?:[^"\\]|\\.)*"/g, '').replace(/\((?:[^()\\]|\\.)*\)/g, '');
  if (bare.includes(',')) return null; // several authors: no single domain to align with
  const angle = /<([^<>]*)>/.exec(bare);
  const addr = (angle ? angle[1]! : bare).trim();
  const at = addr.lastIndexOf('@');
  if (at <= 0) return null;
  return parseDomain(addr.slice(at + 1).trim());
}
