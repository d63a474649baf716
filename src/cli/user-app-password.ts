// `mailroom user app-password add|list|remove`: per-device passwords. `add`
// generates a random password (auth/credentials.ts), stores its argon2id hash
// and SCRAM keys (with the account's SCRAM salt, so SCRAM works with it), and
// prints it once on stdout — alone on its line, so scripts can capture it —
// with a note on stderr. `list` prints "name<TAB>created" (ISO time).

import { generateAppPassword, hashCredentials, scramSaltOf } from '../auth/credentials.ts';
import { StoreError } from '../store/store.ts';
import { addressArg } from './address.ts';
import type { CommandContext } from './context.ts';
import { CliError, EXIT_OK, UsageError, expectArgs, fromStoreError, withStore } from './context.ts';
import { requireUser } from './user-lookup.ts';

const NAME = /^[A-Za-z0-9._@+-]{1,64}$/;

function nameArg(text: string): string {
  if (!NAME.test(text)) {
    throw new UsageError(`invalid app password name ${JSON.stringify(text)}: use letters, digits and ._@+- (at most 64), e.g. "phone"`, 'user');
  }
  return text;
}

export async function appPasswordSubcommand(ctx: CommandContext, args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'add':
      return add(ctx, rest);
    case 'list':
      return list(ctx, rest);
    case 'remove':
      return remove(ctx, rest);
    case undefined:
      throw new UsageError('missing app-password subcommand: add, list or remove', 'user');
    default:
      throw new UsageError(`unknown app-password subcommand ${JSON.stringify(sub)}: expected add, list or remove`, 'user');
  }
}

async function add(ctx: CommandContext, args: string[]): Promise<number> {
  const [addressText, nameText] = expectArgs(args, 2, 'user', args.length === 0 ? 'ADDRESS and NAME' : 'NAME');
  const address = addressArg(addressText, 'user');
  const name = nameArg(nameText);
  return withStore(ctx.config(), async (store) => {
    const account = await requireUser(store, address);
    const existing = await store.listAppPasswords(account.id);
    if (existing.some((p) => p.name === name)) throw new CliError(`${address} already has an app password named ${name}`);
    const password = generateAppPassword();
    const creds = await hashCredentials(password, { scramSalt: scramSaltOf(account.scram, existing) });
    try {
      await store.addAppPassword(account.id, name, creds.passwordHash, creds.scram);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'exists') throw new CliError(`${address} already has an app password named ${name}`);
      throw fromStoreError(err);
    }
    ctx.out(password);
    ctx.err(`added app password ${name} for ${address}; it is shown only this once`);
    return EXIT_OK;
  });
}

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  const [addressText] = expectArgs(args, 1, 'user', 'ADDRESS');
  const address = addressArg(addressText, 'user');
  return withStore(ctx.config(), async (store) => {
    const account = await requireUser(store, address);
    for (const p of await store.listAppPasswords(account.id)) ctx.out(`${p.name}\t${p.createdAt.toISOString()}`);
    return EXIT_OK;
  });
}

async function remove(ctx: CommandContext, args: string[]): Promise<number> {
  const [addressText, nameText] = expectArgs(args, 2, 'user', args.length === 0 ? 'ADDRESS and NAME' : 'NAME');
  const address = addressArg(addressText, 'user');
  const name = nameArg(nameText);
  return withStore(ctx.config(), async (store) => {
    const account = await requireUser(store, address);
    try {
      await store.removeAppPassword(account.id, name);
    } catch (err) {
      if (err instanceof StoreError && err.code === 'not_found') throw new CliError(`${address} has no app password named ${name}`);
      throw fromStoreError(err);
    }
    ctx.out(`removed app password ${name} of ${address}`);
    return EXIT_OK;
  });
}
