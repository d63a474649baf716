// The SMTP backend for mail addressed to our own domains: decides each RCPT
// (unknown user, relay denied, mailbox full) and stores accepted messages in
// every recipient account's INBOX with one copy of the bytes, answering 250
// only after the store has made it durable (DESIGN convention 5).
import type { Account, Store } from '../store/store.ts';
import { StoreError } from '../store/store.ts';
import type { Logger } from '../log/logger.ts';
import { canonicalAddress, formatAddress, type MailAddress } from '../smtp/protocol/address.ts';
import { R, reply, type Reply } from '../smtp/protocol/reply.ts';
import type { IncomingMessage, RecipientDecision, SmtpBackend, TransactionInfo } from '../smtp/server/ports.ts';
import type { RecipientResolver } from './recipient-resolver.ts';

/** Until the outbound queue exists: "later", never a silent drop. */
const OUTBOUND_UNAVAILABLE = reply(451, '4.3.0', 'Delivery to other domains is not available yet on this server, try again later');

export class LocalDelivery implements SmtpBackend {
  readonly #store: Store;
  readonly #resolver: RecipientResolver;
  readonly #log: Logger;

  constructor(store: Store, resolver: RecipientResolver, log: Logger) {
    this.#store = store;
    this.#resolver = resolver;
    this.#log = log;
  }

  async checkRecipient(address: MailAddress, tx: TransactionInfo): Promise<RecipientDecision> {
    const res = await this.#resolver.resolve(canonicalAddress(address));
    if (res.kind === 'not_local') {
      // Port 25 strangers may only reach our domains (no open relay); a logged-in
      // user or a trusted network may address anyone, once the outbound queue exists.
      return { accept: false, reply: tx.relayAllowed ? OUTBOUND_UNAVAILABLE : R.relayDenied };
    }
    if (res.kind === 'unknown_user') return { accept: false, reply: R.unknownUser };
    if (res.remote.length > 0) {
      // Forwarding to other domains needs the outbound queue; until then say
      // "later" rather than drop a copy.
      return { accept: false, reply: OUTBOUND_UNAVAILABLE };
    }
    const declared = tx.declaredSize ?? 0;
    if (res.accounts.every((a) => wouldExceedQuota(a, declared))) return { accept: false, reply: R.overQuota };
    return { accept: true, target: res.accounts.map((a) => a.id) };
  }

  async accept(msg: IncomingMessage): Promise<Reply> {
    const ids = new Set<number>();
    for (const r of msg.recipients) for (const id of r.target as number[]) ids.add(id);
    const accounts: Account[] = [];
    for (const id of ids) {
      const a = await this.#store.getAccountById(id);
      if (a) accounts.push(a);
    }
    if (accounts.length === 0) return R.tempFailure; // removed between RCPT and now
    // Quota is checked against the real size now; if some recipients still
    // have room the message goes to all (a bounded overflow) so no copy is lost.
    if (accounts.every((a) => wouldExceedQuota(a, msg.size))) return R.overQuota;
    const returnPath = `Return-Path: <${msg.from ? formatAddress(msg.from) : ''}>\r\n`;
    try {
      await this.#store.deliver({
        content: [Buffer.from(returnPath + msg.traceHeader, 'utf8'), ...msg.content],
        internalDate: msg.receivedAt,
        recipients: accounts.map((a) => ({ accountId: a.id })),
      });
    } catch (err) {
      if (err instanceof StoreError && err.code === 'disk_full') {
        this.#log.error('disk full: message refused', { queue: msg.queueId });
        return R.diskFull;
      }
      this.#log.error('delivery failed', { queue: msg.queueId, error: err });
      return R.tempFailure;
    }
    return R.queued(msg.queueId);
  }
}

function wouldExceedQuota(a: Account, size: number): boolean {
  return a.quotaBytes > 0 && (a.usedBytes >= a.quotaBytes || a.usedBytes + size > a.quotaBytes);
}
