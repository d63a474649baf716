// The SMTP backend that decides where mail goes. At RCPT time: our domains
// resolve to accounts (unknown user 550, mailbox full 552); other domains are
// refused on port 25 (554 relay denied, no open relay) and accepted for
// logged-in users and trusted networks, to be queued. At the end of DATA the
// message is stored once: local copies in each account's INBOX and the
// remote recipients in the durable outbound queue, in ONE durable
// transaction, before the 250 goes out (DESIGN convention 5). The same path
// takes the server's own messages (bounces) through `inject`. RFC 3461 DSN
// parameters travel with the queued recipients; NOTIFY=SUCCESS for a local
// (final) delivery or an alias expansion is answered here, after the commit.
import type { Account, DsnNotify, OutboundRecipientRequest, Store } from '../store/store.ts';
import { StoreError } from '../store/store.ts';
import type { Logger } from '../log/logger.ts';
import { canonicalAddress, formatAddress, type MailAddress } from '../smtp/protocol/address.ts';
import { R, reply, type Reply } from '../smtp/protocol/reply.ts';
import type { IncomingMessage, RecipientDecision, SmtpBackend, TransactionInfo } from '../smtp/server/ports.ts';
import type { RecipientResolver } from './recipient-resolver.ts';
import { newQueueId } from '../smtp/server/commands.ts';
import type { FinalDeliveryNotice } from './notifier.ts';
import { summarizeMessage, serializeSummary } from '../message/mime/summary.ts';

/** Where one accepted RCPT goes: local accounts and/or remote addresses. */
interface Target {
  local: number[];
  remote: string[];
}

export interface RouterOptions {
  /** null: no outbound queue (remote recipients get 451). */
  onQueued: (() => void) | null;
  /** Sends the success notices of final delivery here (RFC 3461 §6.2.2); absent: none are sent. */
  notifyFinal?: (n: FinalDeliveryNotice) => Promise<void>;
  /** DKIM-Signature fields for a message from a logged-in user ('' = unsigned;
   * policy/dkim-sign.ts), prepended before the message is stored. */
  dkimSign?: (msg: IncomingMessage) => Promise<string>;
}

/** A recipient whose NOTIFY=SUCCESS this server answers itself. */
interface SuccessNotice {
  address: string;
  orcpt: string | null;
  action: 'delivered' | 'expanded';
  local: number[];
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
    // A policy hook may send a recipient's copy to another mailbox (e.g. DMARC
    // quarantine → Junk); an account reached through several RCPTs gets the first choice.
    const mailboxOf = new Map<number, string>();
    const remote = new Map<string, OutboundRecipientRequest>();
    const successes: SuccessNotice[] = [];
    for (const r of msg.recipients) {
      const t = r.target as Target;
      // RFC 3461 §6.2.7.3: an alias that expands to several addresses answers
      // NOTIFY=SUCCESS itself ("expanded") and passes the rest of NOTIFY and
      // ORCPT on; one that leads to a single address passes both on unchanged (§6.2.7.2).
      const expanded = t.local.length + t.remote.length > 1;
      const notify = expanded ? withoutSuccess(r.notify) : r.notify;
      for (const id of t.local) {
        localIds.add(id);
        if (r.mailbox && !mailboxOf.has(id)) mailboxOf.set(id, r.mailbox);
      }
      for (const address of t.remote) if (!remote.has(address)) remote.set(address, { address, notify, orcpt: r.orcpt });
      if (r.notify?.includes('SUCCESS') && (expanded || t.local.length === 1)) {
        // RFC 3461 §6.2.2: final delivery here answers NOTIFY=SUCCESS with "delivered".
        // A single remote target carries SUCCESS onward in the queue instead.
        successes.push({ address: formatAddress(r.address), orcpt: r.orcpt, action: expanded ? 'expanded' : 'delivered', local: t.local });
      }
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
    // Submitted mail is signed over our trace header and the content, so the
    // queued copy and the local copies carry the same signature.
    const signature = msg.user && this.#opts.dkimSign ? await this.#opts.dkimSign(msg) : '';
    const head = Buffer.from(`Return-Path: <${sender}>\r\n` + signature + msg.traceHeader, 'utf8');
    try {
      const content = [head, ...msg.content];
      await this.#store.deliver({
        content,
        internalDate: msg.receivedAt,
        // The MIME summary IMAP needs (ENVELOPE, BODYSTRUCTURE, SEARCH fields), parsed once per message.
        meta: accounts.length > 0 ? serializeSummary(summarizeMessage(Buffer.concat(content))) : undefined,
        recipients: accounts.map((a) => (mailboxOf.has(a.id) ? { accountId: a.id, mailbox: mailboxOf.get(a.id) } : { accountId: a.id })),
        outbound: remote.size > 0 ? {
          queueId: msg.queueId,
          sender,
          recipients: [...remote.values()],
          envid: msg.envid,
          ret: msg.ret,
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
    await this.#noticeFinalDelivery(msg, sender, successes, new Set(accounts.map((a) => a.id)));
    return R.queued(msg.queueId);
  }

  /** After the local commit, before the 250: success notices for what was
   * delivered or expanded here. Waiting for them means a crash in between
   * repeats the message (the client saw no 250) rather than losing the notice;
   * a notice that cannot be sent is logged and does not fail the message. */
  async #noticeFinalDelivery(msg: IncomingMessage, sender: string, successes: SuccessNotice[], stored: Set<number>): Promise<void> {
    const notify = this.#opts.notifyFinal;
    // RFC 3461 §6.2.2 / RFC 5321 §4.5.5: never a notice to the null sender.
    if (!notify || sender === '') return;
    const recipients = successes.filter((x) => x.action === 'expanded' || x.local.some((id) => stored.has(id)));
    if (recipients.length === 0) return;
    try {
      await notify({
        queueId: msg.queueId,
        sender,
        envid: msg.envid,
        arrivalDate: msg.receivedAt,
        original: headerSection([Buffer.from(msg.traceHeader, 'utf8'), ...msg.content]),
        recipients: recipients.map(({ address, orcpt, action }) => ({ address, orcpt, action })),
      });
    } catch (err) {
      this.#log.error('could not send a delivery notification', { queue: msg.queueId, kind: 'delivered', error: err });
    }
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
      meta: local.length > 0 ? serializeSummary(summarizeMessage(Buffer.concat([head, content]))) : undefined,
      recipients: local,
      outbound: remote.length > 0 && this.#opts.onQueued
        ? { queueId, sender: '', recipients: remote.map((address) => ({ address })), smtputf8: /[^\x00-\x7f]/.test(to), eightBit: true, notBefore: now }
        : undefined,
    });
    this.#log.info('notification queued', { queue: queueId, to, local: local.length, remote: remote.length });
    if (remote.length > 0) this.#opts.onQueued?.();
  }
}

/** RFC 3461 §6.2.7.3: the expanded addresses keep FAILURE/DELAY but not SUCCESS; nothing left means NEVER. */
function withoutSuccess(n: DsnNotify[] | null): DsnNotify[] | null {
  if (!n) return null;
  const rest = n.filter((x) => x !== 'SUCCESS');
  return rest.length > 0 ? rest : ['NEVER'];
}

/** The header section and its empty line (all of it if there is no body): a
 * success notice returns only the headers, so the body is not copied. */
function headerSection(pieces: Buffer[]): Buffer {
  const taken: Buffer[] = [];
  let size = 0;
  let tail = Buffer.alloc(0);
  for (const p of pieces) {
    const joined = Buffer.concat([tail, p]);
    const end = joined.indexOf('\r\n\r\n');
    if (end >= 0) {
      taken.push(p.subarray(0, end + 4 - tail.length));
      return Buffer.concat(taken, size + end + 4 - tail.length);
    }
    taken.push(p);
    size += p.length;
    tail = joined.subarray(Math.max(0, joined.length - 3));
  }
  return Buffer.concat(taken, size);
}

function wouldExceedQuota(a: Account, size: number): boolean {
  return a.quotaBytes > 0 && (a.usedBytes >= a.quotaBytes || a.usedBytes + size > a.quotaBytes);
}
