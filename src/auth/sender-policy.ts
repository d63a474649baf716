// Which envelope senders (MAIL FROM) an authenticated user may use on
// submission (RFC 6409 §6.1 lets the server check the sender against the
// authenticated identity). Allowed: the user's own address (any case), its
// plus-addressed forms (`bob+news@…`, with the configured recipient
// delimiter characters), an alias whose targets include the user's address
// (directly, not through other aliases or catch-alls), and the account's
// sender grants — an exact address or `@domain` for a whole domain.
// The null sender `<>` is refused: it is for bounces (RFC 5321 §4.5.5),
// which only the server generates; a user must not send them.
// A store failure rejects the promise (the session answers 451 4.3.0).

import type { Store } from '../store/store.ts';
import { domainOf, parseAddress } from '../store/names.ts';
import type { AuthUser, SenderPolicy } from './types.ts';

export interface SenderPolicyOptions {
  /** Characters that separate user and tag (config delivery.recipient_delimiter); "" for none. */
  recipientDelimiter: string;
}

export class StoreSenderPolicy implements SenderPolicy {
  readonly #store: Store;
  readonly #delimiters: string;

  constructor(store: Store, opts: SenderPolicyOptions) {
    this.#store = store;
    this.#delimiters = opts.recipientDelimiter;
  }

  async canSendAs(user: AuthUser, from: string | null): Promise<boolean> {
    if (from === null) return false;
    const address = parseAddress(from);
    if (address === null) return false;
    const own = user.address.toLowerCase();
    const candidates = [address, this.#untagged(address)].filter((a, i, all): a is string => a !== null && all.indexOf(a) === i);
    if (candidates.includes(own)) return true;
    const grants = await this.#store.listSenderGrants(user.accountId);
    const domainGrant = `@${domainOf(address)}`;
    if (grants.includes(domainGrant) || candidates.some((c) => grants.includes(c))) return true;
    for (const c of candidates) {
      const alias = await this.#store.getAlias(c);
      if (alias?.targets.includes(own)) return true;
    }
    return false;
  }

  /** `bob+tag@d` → `bob@d` (first delimiter character, not at the start), or null. */
  #untagged(address: string): string | null {
    if (this.#delimiters === '') return null;
    const at = address.lastIndexOf('@');
    const local = address.slice(0, at);
    let cut = -1;
    for (const d of this.#delimiters) {
      const i = local.indexOf(d);
      if (i > 0 && (cut < 0 || i < cut)) cut = i;
    }
    return cut < 0 ? null : local.slice(0, cut) + address.slice(at);
  }
}
