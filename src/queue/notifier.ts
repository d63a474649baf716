// Turns the scheduler's notifications into RFC 3464 delivery status
// notifications addressed to the original sender, and injects them through
// the router (into the sender's INBOX when local, through the queue when
// remote), always from the null sender so they can never loop.
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

export class DsnNotifier implements Notifier {
  readonly #o: DsnNotifierOptions;

  constructor(o: DsnNotifierOptions) {
    this.#o = o;
  }

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
    const dsn = buildDsn({
      reportingMta: o.hostname,
      postmaster: `MAILER-DAEMON@${o.hostname}`,
      to: m.sender,
      queueId: m.queueId,
      envid: m.envid,
      arrivalDate: m.createdAt,
      recipients,
      original,
      ret: m.ret ?? 'FULL',
      now,
    });
    await o.inject(m.sender, dsn, now);
    o.log.info('delivery status notification sent', { queue: m.queueId, kind: n.kind, to: m.sender, rcpts: n.recipients.map((r) => r.address) });
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
