// `mailroom user sender add|remove|list`: envelope senders a user may use on
// submission besides their own address (and its +tag forms) and the aliases
// that deliver to them (auth/sender-policy.ts). SENDER is local@domain, or
// @domain for every address of a domain; it need not be a local domain.

import { StoreError } from '../store/store.ts';
import { addressArg, aliasSourceArg } from './address.ts';
import type { CommandContext } from './context.ts';
import { CliError, EXIT_OK, UsageError, expectArgs, fromStoreError, withStore } from './context.ts';
import { requireUser } from './user-lookup.ts';

export async function senderSubcommand(ctx: CommandContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
    case 'remove':
      return change(ctx, sub, rest);
    case 'list':
      return list(ctx, rest);
    case undefined:
      throw new UsageError('missing sender subcommand: add, remove or list', 'user');
    default:
      throw new UsageError(`unknown sender subcommand ${JSON.stringify(sub)}: expected add, remove or list`, 'user');
  }
}

async function change(ctx: CommandContext, sub: 'add' | 'remove', args: string[]): Promise<number> {
  const [addressText, senderText] = expectArgs(args, 2, 'user', args.length === 0 ? 'ADDRESS and SENDER' : 'SENDER');
  const address = addressArg(addressText, 'user');
  const sender = aliasSourceArg(senderText, 'user');
  return withStore(ctx.config(), async (store) => {
    const account = await requireUser(store, address);
    try {
      if (sub === 'add') await store.addSenderGrant(account.id, sender);
      else await store.removeSenderGrant(account.id, sender);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'exists') throw new CliError(`${address} may already send as ${sender}`);
      if (err instanceof StoreError && err.code === 'not_found') throw new CliError(`${address} has no sender ${sender}`);
      throw fromStoreError(err);
    }
    ctx.out(sub === 'add' ? `${address} may send as ${sender}` : `${address} may no longer send as ${sender}`);
    return EXIT_OK;
  });
}

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  const [addressText] = expectArgs(args, 1, 'user', 'ADDRESS');
  const address = addressArg(addressText, 'user');
  return withStore(ctx.config(), async (store) => {
    const account = await requireUser(store, address);
    for (const s of await store.listSenderGrants(account.id)) ctx.out(s);
    return EXIT_OK;
  });
}
