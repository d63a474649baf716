// Turns the scheduler's notifications (and the router's notices of final
// delivery) into RFC 3464 delivery status notifications addressed to the
// original sender, and injects them through the router (into the sender's
// INBOX when local, through the queue when remote), always from the null
// sender so they can never loop.
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/store.ts';
import { buildDsn, type DsnRecipient } from '../message/dsn.ts';
import type { Notification, Notifier } from './scheduler.ts';

export interface DsnNotifierOptions {
  store: Store;
  hostname: string;
  inject(to: string, content: Buffer, now: Date): Promise<void>;
  now(): Date;
  log: Logger;
  /** For Will-Retry-Until in delay notices. */
  maxAge: number;
}

/** Success at final delivery (RFC 3461 §6.2.2) or alias expansion
 * (§6.2.7.3), reported by the router right after the local commit. */
export interface FinalDeliveryNotice {
  queueId: string;
  /** The envelope sender (never '' : no notice goes to the null sender). */
  sender: string;
  /** ENVID as received (xtext), or null. */
  envid: string | null;
  arrivalDate: Date;
  /** The message as received, without our Return-Path. Only its headers are returned. */
  original: Buffer;
  recipients: { address: string; orcpt: string | null; action: 'delivered' | 'expanded' }[];
}

export class DsnNotifier implements Notifier {
  readonly #o: DsnNotifierOptions;

  constructor(o: DsnNotifierOptions) {
    this.#o = o;
  }

  /** The scheduler's notices: failures, delays, and "relayed" when the next hop takes no DSN parameters. */
  async notify(n: Notification): Promise<void> {
    const o = this.#o;
    const m = n.message;
    const now = o.now();
    const original = stripReturnPath(await o.store.readBlob(m.blobId));
    const recipients: DsnRecipient[] = n.recipients.map((r) => ({
      address: r.address,
      orcpt: r.orcpt,
      action: n.kind,
      status: r.status ?? (n.kind === 'failed' ? '5.0.0' : n.kind === 'delayed' ? '4.0.0' : '2.0.0'),
      remoteMta: r.host ? r.host.replace(/\[.*\]$/, '') : null,
      diagnostic: r.reply,
      lastAttempt: r.lastAttemptAt ?? now,
      willRetryUntil: n.kind === 'delayed' ? new Date(m.createdAt.getTime() + o.maxAge) : null,
    }));
    // RFC 3461 §4.3: RET chooses what a failure returns; a success notice returns the headers only.
    const success = n.kind === 'delivered' || n.kind === 'relayed';
    await this.#send({ sender: m.sender, queueId: m.queueId, envid: m.envid, arrivalDate: m.createdAt, recipients, original, ret: success ? 'HDRS' : (m.ret ?? 'FULL'), now }, n.kind);
  }

  /** "delivered" / "expanded" notices for mail this server delivered itself. */
  async notifyFinal(n: FinalDeliveryNotice): Promise<void> {
    if (n.sender === '') return;
    const now = this.#o.now();
    const recipients: DsnRecipient[] = n.recipients.map((r) => ({
      address: r.address,
      orcpt: r.orcpt,
      action: r.action,
      status: '2.0.0',
      lastAttempt: now,
    }));
    await this.#send({ sender: n.sender, queueId: n.queueId, envid: n.envid, arrivalDate: n.arrivalDate, recipients, original: n.original, ret: 'HDRS', now }, 'delivered');
  }

  async #send(
    r: { sender: string; queueId: string; envid: string | null; arrivalDate: Date; recipients: DsnRecipient[]; original: Buffer; ret: 'FULL' | 'HDRS'; now: Date },
    kind: string,
  ): Promise<void> {
    const o = this.#o;
    const dsn = buildDsn({
      reportingMta: o.hostname,
      postmaster: `MAILER-DAEMON@${o.hostname}`,
      to: r.sender,
      queueId: r.queueId,
      envid: r.envid,
      arrivalDate: r.arrivalDate,
      recipients: r.recipients,
      original: r.original,
      ret: r.ret,
      now: r.now,
    });
    await o.inject(r.sender, dsn, r.now);
    o.log.info('delivery status notification sent', { queue: r.queueId, kind, to: r.sender, rcpts: r.recipients.map((x) => x.address) });
  }
}

/** RFC 5321 §4.4: our own Return-Path (added for local copies) never travels on. */
export function stripReturnPath(content: Buffer): Buffer {
  let off = 0;
  while (content.subarray(off, off + 12).toString('latin1').toLowerCase() === 'return-path:') {
    const nl = content.indexOf('\n', off);
    if (nl < 0) break;
    off = nl + 1;
  }
  return off === 0 ? content : content.subarray(off);
}
