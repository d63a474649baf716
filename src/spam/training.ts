// Learning from users: a message moved into Junk is learnt as spam, one moved
// out of Junk as ham, both for the user (their own classifier) and for
// everyone (the global one); `mailroom spam train` learns files in bulk.
// The store remembers what each message was learnt as (by its key, the blob
// id or a hash of the bytes), so moving a message back and forth never counts
// it twice. Also the IMAP hook that turns moves into lessons.

import { createHash } from 'node:crypto';
import type { AbuseStore, SpamLabel } from '../store/abuse-store.ts';
import type { Logger } from '../log/logger.ts';
import { viewMessage } from './message-view.ts';
import { tokenize } from './tokenizer.ts';

export function messageKey(content: Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export interface TrainOptions {
  /** The user whose classifier learns too; null/absent = global only. */
  accountId?: number | null;
  /** Identifies the message (default: sha256 of its bytes). */
  key?: string;
  now: Date;
}

/** Learns one message; returns whether anything changed (false: already learnt so). */
export async function trainMessage(store: AbuseStore, content: Buffer, label: SpamLabel, o: TrainOptions): Promise<boolean> {
  const tokens = tokenize(viewMessage(content));
  const key = o.key ?? messageKey(content);
  const at = o.now.getTime();
  let changed = await store.trainSpam(0, key, tokens, label, at);
  if (o.accountId) changed = (await store.trainSpam(o.accountId, key, tokens, label, at)) || changed;
  return changed;
}

/** A mailbox as the IMAP move hook describes it. */
export interface MovedMailbox {
  name: string;
  specialUse: string | null;
}

export function isJunk(m: MovedMailbox | null | undefined): boolean {
  if (!m) return false;
  return m.specialUse === '\\Junk' || m.name.toLowerCase() === 'junk' || m.name.toLowerCase() === 'spam';
}

/** What a COPY/MOVE means to the classifier: into Junk = spam, out of Junk
 * into anything but Trash = ham, otherwise nothing. */
export function lessonForMove(from: MovedMailbox | null, to: MovedMailbox): SpamLabel | null {
  if (isJunk(to) && !isJunk(from)) return 'spam';
  if (isJunk(from) && !isJunk(to) && to.specialUse !== '\\Trash' && to.name.toLowerCase() !== 'trash') return 'ham';
  return null;
}

export interface MoveLearnerOptions {
  store: AbuseStore;
  readBlob(blobId: string): Promise<Buffer>;
  now: () => Date;
  log: Logger;
}

/** Learns from IMAP COPY/MOVE (wired to the IMAP server's move hook by server/). Never throws. */
export class MoveLearner {
  readonly #o: MoveLearnerOptions;
  constructor(o: MoveLearnerOptions) {
    this.#o = o;
  }

  async onMessagesMoved(e: { accountId: number; from: MovedMailbox | null; to: MovedMailbox; blobIds: readonly string[] }): Promise<void> {
    const label = lessonForMove(e.from, e.to);
    if (!label) return;
    let learnt = 0;
    for (const blobId of new Set(e.blobIds)) {
      try {
        const content = await this.#o.readBlob(blobId);
        if (await trainMessage(this.#o.store, content, label, { accountId: e.accountId, key: blobId, now: this.#o.now() })) learnt++;
      } catch (err) {
        this.#o.log.warn('spam training failed', { account: e.accountId, blob: blobId, error: err });
      }
    }
    this.#o.log.info('spam filter learnt from a move', { account: e.accountId, label, from: e.from?.name ?? null, to: e.to.name, messages: e.blobIds.length, learnt });
  }
}
