// `mailroom domain add|list|remove`: the domains this server receives mail
// for. Removing a domain also removes its users (with their mail) and aliases,
// so it refuses while any exist unless --force is given.

import { domainArg } from './address.ts';
import type { Command, CommandContext } from './context.ts';
import { CliError, EXIT_OK, UsageError, expectArgs, fromStoreError, withStore } from './context.ts';
import { StoreError } from '../store/store.ts';

export const domainCommand: Command = {
  name: 'domain',
  summary: 'add, list or remove the domains mail is received for',
  usage: `usage:
  mailroom domain add DOMAIN
  mailroom domain list
  mailroom domain remove DOMAIN [--force]

  add     start receiving mail for DOMAIN (IDNs are stored as A-labels)
  list    print the domains, one per line
  remove  stop receiving mail for DOMAIN; with --force also delete its users,
          their mail, and its aliases (without --force a domain that still has
          users or aliases is left alone)`,
  options: { force: { type: 'boolean' } },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    switch (sub) {
      case 'add':
        return add(ctx, rest);
      case 'list':
        return list(ctx, rest);
      case 'remove':
        return remove(ctx, rest);
      case undefined:
        throw new UsageError('missing subcommand: add, list or remove', 'domain');
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: expected add, list or remove`, 'domain');
    }
  },
};

async function add(ctx: CommandContext, args: string[]): Promise<number> {
  const [text] = expectArgs(args, 1, 'domain', 'DOMAIN');
  const domain = domainArg(text, 'domain');
  return withStore(ctx.config(), async (store) => {
    try {
      await store.addDomain(domain);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'exists') throw new CliError(`domain ${domain} already exists`);
      throw fromStoreError(err);
    }
    ctx.out(`added domain ${domain}`);
    return EXIT_OK;
  });
}

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  expectArgs(args, 0, 'domain', '');
  return withStore(ctx.config(), async (store) => {
    for (const d of await store.listDomains()) ctx.out(d.name);
    return EXIT_OK;
  });
}

async function remove(ctx: CommandContext, args: string[]): Promise<number> {
  const [text] = expectArgs(args, 1, 'domain', 'DOMAIN');
  const domain = domainArg(text, 'domain');
  return withStore(ctx.config(), async (store) => {
    if (!(await store.hasDomain(domain))) throw new CliError(`domain ${domain} is not configured`);
    if (ctx.options.force !== true) {
      const users = (await store.listAccounts(domain)).length;
      const aliases = (await store.listAliases(domain)).length;
      if (users + aliases > 0) {
        const what = [users ? plural(users, 'user') : '', aliases ? plural(aliases, 'alias') : ''].filter(Boolean).join(' and ');
        throw new CliError(`domain ${domain} still has ${what}: remove them first, or pass --force to delete them (and their mail) with the domain`);
      }
    }
    try {
      await store.removeDomain(domain);
    } catch (err) {
      throw fromStoreError(err);
    }
    ctx.out(`removed domain ${domain}`);
    return EXIT_OK;
  });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : word.endsWith('s') ? 'es' : 's'}`;
}
