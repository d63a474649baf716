// The SMTP backend that decides where mail goes. At RCPT time: our domains
// resolve to accounts (unknown user 550, mailbox full 552); other domains are
// refused on port 25 (554 relay denied, no open relay) and accepted for
// logged-in users and trusted networks, to be queued. At the end of DATA the
// message is stored once: local copies in each account's INBOX and the
// remote recipients in the durable outbound queue, in ONE durable
// transaction, before the 250 goes out (DESIGN convention 5). The same path
// takes the server's own messages (bounces) through `inject`.
import type { Account, Store } from '../store/store.ts';
import { StoreError } from '../store/store.ts';
import type { Logger } from '../log/logger.ts';
import { canonicalAddress, formatAddress, type MailAddress } from '../smtp/protocol/address.ts';
import { R, reply, type Reply } from '../smtp/protocol/reply.ts';
import type { IncomingMessage, RecipientDecision, SmtpBackend, TransactionInfo } from '../smtp/server/ports.ts';
import type { RecipientResolver } from './recipient-resolver.ts';
import { newQueueId } from '../smtp/server/commands.ts';

/** Where one accepted RCPT goes: local accounts and/or remote addresses. */
interface Target {
  local: number[];
  remote: string[];
}

export interface RouterOptions {
  /** null: no outbound queue (remote recipients get 451). */
  onQueued: (() => void) | null;
}

/** Without an outbound queue remote recipients are told "later", never dropped. */
const OUTBOUND_UNAVAILABLE = reply(451, '4.3.0', 'Delivery to other domains is not available on this server, try again later');

export class Router implements SmtpBackend {
  readonly #store: Store;
  readonly #resolver: RecipientResolver;
  readonly #log: Logger;
  readonly #opts: RouterOptions;

  constructor(store: Store, resolver: RecipientResolver, log: Logger, opts: RouterOptions) {
    this.#store = store;
    this.#resolver = resolver;
    this.#log = log;
    this.#opts = opts;
  }

  async checkRecipient(address: MailAddress, tx: TransactionInfo): Promise<RecipientDecision> {
    const canonical = canonicalAddress(address);
    const res = await this.#resolver.resolve(canonical);
    if (res.kind === 'not_local') {
      // Port 25 strangers may only reach our domains (no open relay); a logged-in
      // user or a trusted network may address anyone.
      if (!tx.relayAllowed) return { accept: false, reply: R.relayDenied };
      if (!this.#opts.onQueued) return { accept: false, reply: OUTBOUND_UNAVAILABLE };
      // The address goes out as the client wrote it (case of the local part kept, RFC 5321 §2.4).
      return { accept: true, target: { local: [], remote: [formatAddress(address)] } satisfies Target };
    }
    if (res.kind === 'unknown_user') return { accept: false, reply: R.unknownUser };
    if (res.remote.length > 0 && !this.#opts.onQueued) return { accept: false, reply: OUTBOUND_UNAVAILABLE };
    const declared = tx.declaredSize ?? 0;
    if (res.remote.length === 0 && res.accounts.every((a) => wouldExceedQuota(a, declared))) return { accept: false, reply: R.overQuota };
    return { accept: true, target: { local: res.accounts.map((a) => a.id), remote: res.remote } satisfies Target };
  }

  async accept(msg: IncomingMessage): Promise<Reply> {
    const localIds = new Set<number>();
    const remote = new Set<string>();
    for (const r of msg.recipients) {
      const t = r.target as Target;
      for (const id of t.local) localIds.add(id);
      for (const a of t.remote) remote.add(a);
    }
    const accounts: Account[] = [];
    for (const id of localIds) {
      const a = await this.#store.getAccountById(id);
      if (a) accounts.push(a);
    }
    if (accounts.length === 0 && remote.size === 0) return R.tempFailure; // removed between RCPT and now
    // Quota is checked against the real size now; if some recipients still
    // have room the message goes to all (a bounded overflow) so no copy is lost.
    if (remote.size === 0 && accounts.every((a) => wouldExceedQuota(a, msg.size))) return R.overQuota;
    const sender = msg.from ? formatAddress(msg.from) : '';
    // RFC 5321 §4.4: Return-Path is added at final delivery; remote delivery strips it again.
    const head = Buffer.from(`Return-Path: <${sender}>\r\n` + msg.traceHeader, 'utf8');
    try {
      await this.#store.deliver({
        content: [head, ...msg.content],
        internalDate: msg.receivedAt,
        recipients: accounts.map((a) => ({ accountId: a.id })),
        outbound: remote.size > 0 ? {
          queueId: msg.queueId,
          sender,
          recipients: [...remote].map((address) => ({ address })),
          smtputf8: msg.smtputf8,
          eightBit: msg.eightBit,
          notBefore: msg.receivedAt,
        } : undefined,
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === 'disk_full') {
        this.#log.error('disk full: message refused', { queue: msg.queueId });
        return R.diskFull;
      }
      this.#log.error('delivery failed', { queue: msg.queueId, error: err });
      return R.tempFailure;
    }
    if (remote.size > 0) this.#opts.onQueued?.();
    return R.queued(msg.queueId);
  }

  /** The server's own mail (bounces, delay notices): routed like mail from
   * outside, with the null sender, no relay check (it goes to a sender we
   * accepted mail from). A recipient that cannot be reached is logged and
   * dropped: a bounce that fails is never bounced (RFC 3464 §2). */
  async inject(to: string, content: Buffer, now: Date): Promise<void> {
    const queueId = newQueueId();
    const res = await this.#resolver.resolve(to.toLowerCase());
    const local = res.kind === 'local' ? res.accounts.map((a) => ({ accountId: a.id })) : [];
    const remote = res.kind === 'local' ? res.remote : res.kind === 'not_local' ? [to] : [];
    if (local.length === 0 && remote.length === 0) {
      this.#log.warn('notification dropped: its recipient does not exist', { queue: queueId, to });
      return;
    }
    const head = Buffer.from(`Return-Path: <>\r\n`);
    await this.#store.deliver({
      content: [head, content],
      internalDate: now,
      recipients: local,
      outbound: remote.length > 0 && this.#opts.onQueued
        ? { queueId, sender: '', recipients: remote.map((address) => ({ address })), smtputf8: /[^\x00-\x7f]/.test(to), eightBit: true, notBefore: now }
        : undefined,
    });
    this.#log.info('notification queued', { queue: queueId, to, local: local.length, remote: remote.length });
    if (remote.length > 0) this.#opts.onQueued?.();
  }
}

function wouldExceedQuota(a: Account, size: number): boolean {
  return a.quotaBytes > 0 && (a.usedBytes >= a.quotaBytes || a.usedBytes + size > a.quotaBytes);
}
