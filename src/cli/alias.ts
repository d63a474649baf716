// `mailroom alias add|remove|list`: addresses that forward to other addresses
// (local users or remote mailboxes). ALIAS is local@domain, or @domain for a
// catch-all that receives mail for every address of the domain that matches
// no user or alias. `alias list` prints "alias<TAB>target target ..." per line.

import { addressArg, aliasSourceArg, domainArg, domainOfAddress } from './address.ts';
import type { Command, CommandContext } from './context.ts';
import { CliError, EXIT_OK, UsageError, fromStoreError, requireConfiguredDomain, withStore } from './context.ts';

export const aliasCommand: Command = {
  name: 'alias',
  summary: 'add, list or remove aliases and catch-alls',
  usage: `usage:
  mailroom alias add ALIAS TARGET...
  mailroom alias remove ALIAS [TARGET...]
  mailroom alias list [DOMAIN]

  add     deliver mail for ALIAS to each TARGET (local or remote addresses);
          adding to an existing alias adds targets
  remove  remove the given targets, or the whole alias when none are given
  list    print "alias<TAB>target target ..." per alias, of one DOMAIN or all

  ALIAS is local@domain, or @domain for a catch-all (mail to any address of
  the domain that matches no user or alias). Its domain must exist.`,
  options: {},
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    switch (sub) {
      case 'add':
        return add(ctx, rest);
      case 'remove':
        return remove(ctx, rest);
      case 'list':
        return list(ctx, rest);
      case undefined:
        throw new UsageError('missing subcommand: add, remove or list', 'alias');
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: expected add, remove or list`, 'alias');
    }
  },
};

async function add(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length === 0) throw new UsageError('missing ALIAS and TARGET', 'alias');
  if (args.length === 1) throw new UsageError('missing TARGET: the address(es) the alias delivers to', 'alias');
  const source = aliasSourceArg(args[0], 'alias');
  const targets = args.slice(1).map((t) => addressArg(t, 'alias'));
  if (targets.includes(source)) throw new UsageError(`alias ${source} cannot deliver to itself`, 'alias');
  return withStore(ctx.config(), async (store) => {
    await requireConfiguredDomain(store, domainOfAddress(source));
    let alias;
    try {
      alias = await store.addAlias(source, targets);
    } catch (err) {
      throw fromStoreError(err);
    }
    ctx.out(`alias ${alias.source} -> ${alias.targets.join(' ')}`);
    return EXIT_OK;
  });
}

async function remove(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length === 0) throw new UsageError('missing ALIAS', 'alias');
  const source = aliasSourceArg(args[0], 'alias');
  const targets = args.slice(1).map((t) => addressArg(t, 'alias'));
  return withStore(ctx.config(), async (store) => {
    const existing = await store.getAlias(source);
    if (!existing) {
      await requireConfiguredDomain(store, domainOfAddress(source));
      throw new CliError(`no alias ${source}`);
    }
    const missing = targets.find((t) => !existing.targets.includes(t));
    if (missing !== undefined) throw new CliError(`${missing} is not a target of alias ${source}`);
    try {
      await store.removeAlias(source, targets.length > 0 ? targets : undefined);
    } catch (err) {
      throw fromStoreError(err);
    }
    const left = existing.targets.filter((t) => !targets.includes(t));
    if (targets.length === 0 || left.length === 0) ctx.out(`removed alias ${source}`);
    else ctx.out(`alias ${source} -> ${left.join(' ')}`);
    return EXIT_OK;
  });
}

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(args[1])}`, 'alias');
  const domain = args[0] === undefined ? undefined : domainArg(args[0], 'alias');
  return withStore(ctx.config(), async (store) => {
    if (domain !== undefined) await requireConfiguredDomain(store, domain);
    for (const a of await store.listAliases(domain)) ctx.out(`${a.source}\t${a.targets.join(' ')}`);
    return EXIT_OK;
  });
}
