// Resolves an RCPT TO address to the local accounts that receive it:
// exact alias, then account, then the same with the `+tag` removed
// (plus-addressing), then the domain's catch-all `@domain`. Aliases expand
// recursively (bounded depth, loop-safe). `postmaster@` any local domain, and
// the bare `<postmaster>`, always resolve (RFC 5321 §4.5.1).
import { StoreError, type Account, type Alias, type Store } from '../store/store.ts';

export type Resolution =
  | { kind: 'local'; accounts: Account[]; remote: string[] }
  | { kind: 'unknown_user' }
  | { kind: 'not_local' };

export interface ResolverOptions {
  /** Characters that separate the user from a tag: `user+tag@domain` → `user@domain`. Empty disables. */
  recipientDelimiter: string;
}

/** Aliases pointing at aliases: deeper than this is treated as a loop. */
const MAX_ALIAS_DEPTH = 10;

export class RecipientResolver {
  readonly #store: Store;
  readonly #opts: ResolverOptions;

  constructor(store: Store, opts: ResolverOptions) {
    this.#store = store;
    this.#opts = opts;
  }

  /** `address` is canonical (lower-case, A-label domain); domain '' is the bare `<postmaster>`. */
  async resolve(address: string): Promise<Resolution> {
    let [local, domain] = splitAddress(address);
    if (domain === '') {
      const first = (await this.#store.listDomains())[0];
      if (!first) return { kind: 'not_local' };
      domain = first.name;
    }
    // Address literals ([192.0.2.1]) are never our domains (no relay through them).
    if (domain.startsWith('[') || !(await this.#hasDomain(domain))) return { kind: 'not_local' };
    const accounts = new Map<number, Account>();
    const remote = new Set<string>();
    const found = await this.#expand(`${local}@${domain}`, 0, new Set(), accounts, remote);
    if (!found && local === 'postmaster') {
      const pm = await this.#postmasterFallback(domain);
      if (pm) accounts.set(pm.id, pm);
    }
    if (accounts.size === 0 && remote.size === 0) return { kind: 'unknown_user' };
    return { kind: 'local', accounts: [...accounts.values()], remote: [...remote] };
  }

  /** Adds what `address` reaches; false if it names nothing here. */
  async #expand(address: string, depth: number, seen: Set<string>, accounts: Map<number, Account>, remote: Set<string>): Promise<boolean> {
    if (seen.has(address) || depth > MAX_ALIAS_DEPTH) return true; // a loop reaches nothing new
    seen.add(address);
    const [local, domain] = splitAddress(address);
    if (depth > 0 && !(await this.#hasDomain(domain))) {
      remote.add(address);
      return true;
    }
    for (const candidate of this.#candidates(local, domain)) {
      const alias = await this.#getAlias(candidate);
      if (alias) {
        for (const t of alias.targets) await this.#expand(t, depth + 1, seen, accounts, remote);
        return true;
      }
      const account = await orNull(this.#store.getAccount(candidate));
      if (account) {
        accounts.set(account.id, account);
        return true;
      }
    }
    const catchAll = await this.#getAlias(`@${domain}`);
    if (catchAll) {
      for (const t of catchAll.targets) {
        // A target written `@other.example` keeps the local part (domain rewrite).
        const target = t.startsWith('@') ? `${local}${t}` : t;
        await this.#expand(target, depth + 1, seen, accounts, remote);
      }
      return true;
    }
    return false;
  }

  /** A name the store finds malformed (e.g. a trailing dot) is simply not ours. */
  async #hasDomain(domain: string): Promise<boolean> {
    return (await orNull(this.#store.hasDomain(domain))) ?? false;
  }

  #getAlias(source: string): Promise<Alias | null> {
    return orNull(this.#store.getAlias(source));
  }

  #candidates(local: string, domain: string): string[] {
    const d = this.#opts.recipientDelimiter;
    const out = [`${local}@${domain}`];
    // Like Postfix's recipient_delimiter: any one of the characters separates the tag.
    let i = -1;
    for (const ch of d) {
      const at = local.indexOf(ch);
      if (at > 0 && (i < 0 || at < i)) i = at;
    }
    if (i > 0) out.push(`${local.slice(0, i)}@${domain}`);
    return out;
  }

  /** postmaster@domain with no alias or account: the domain's first account,
   * else the first account of any domain. */
  async #postmasterFallback(domain: string): Promise<Account | null> {
    const inDomain = await this.#store.listAccounts(domain);
    if (inDomain.length > 0) return inDomain[0];
    const all = await this.#store.listAccounts();
    return all[0] ?? null;
  }
}

/** StoreError('invalid') on a lookup means "no such thing"; other errors propagate. */
async function orNull<T>(p: Promise<T>): Promise<T | null> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof StoreError && err.code === 'invalid') return null;
    throw err;
  }
}

function splitAddress(address: string): [string, string] {
  const at = address.lastIndexOf('@');
  return at < 0 ? [address, ''] : [address.slice(0, at), address.slice(at + 1)];
}
