// `mailroom user add|list|remove|passwd|quota|app-password|sender`: the
// accounts mail is delivered to. Passwords come from --password-stdin or an
// echo-free prompt, never from the command line, and are stored as an
// argon2id hash plus SCRAM-SHA-256 keys (auth/credentials.ts). App passwords
// and sender grants have their own files (user-app-password.ts, user-sender.ts).
// `user list` prints one account per line: address, quota and space used,
// separated by tabs (sizes like "2G", or exact bytes with --bytes).

import { hashCredentials, scramSaltOf } from '../auth/credentials.ts';
import { UnitError, formatSize, formatSizeApprox, parseSize } from '../config/units.ts';
import { StoreError } from '../store/store.ts';
import { addressArg, domainArg, domainOfAddress } from './address.ts';
import type { Command, CommandContext } from './context.ts';
import { CliError, EXIT_OK, UsageError, expectArgs, fromStoreError, requireConfiguredDomain, withStore } from './context.ts';
import { newPassword } from './password-input.ts';
import { requireUser } from './user-lookup.ts';
import { appPasswordSubcommand } from './user-app-password.ts';
import { senderSubcommand } from './user-sender.ts';

export const userCommand: Command = {
  name: 'user',
  summary: 'add, list or remove users; their password, quota, app passwords and senders',
  usage: `usage:
  mailroom user add ADDRESS [--quota SIZE] [--password-stdin]
  mailroom user list [DOMAIN] [--bytes]
  mailroom user remove ADDRESS
  mailroom user passwd ADDRESS [--password-stdin]
  mailroom user quota ADDRESS SIZE
  mailroom user app-password add|list|remove ADDRESS [NAME]
  mailroom user sender add|remove|list ADDRESS [SENDER]

  add     create an account (its domain must exist) with the standard mailboxes
          (INBOX, Sent, Drafts, Junk, Trash, Archive). --quota defaults to
          limits.default_quota from the config
  list    print "address<TAB>quota<TAB>used" per account, of one DOMAIN or all
  remove  delete the account and all its mail
  passwd  set a new password
  quota   set the quota
  app-password add ADDRESS NAME
          create a password for one device or app (NAME, e.g. "phone") and
          print it once; it works wherever the main password does
  app-password list ADDRESS
          print "name<TAB>created" per app password
  app-password remove ADDRESS NAME
          revoke one app password
  sender add|remove ADDRESS SENDER
          let the user send as SENDER (local@domain, or @domain for a whole
          domain) besides their own address and aliases that reach them
  sender list ADDRESS
          print the extra senders, one per line

  The password is asked twice on the terminal with echo off, or read from the
  first line of standard input with --password-stdin.
  SIZE is bytes or "512K", "50M", "2G" (1024-based); "0" or "unlimited" for no limit.`,
  options: {
    quota: { type: 'string' },
    'password-stdin': { type: 'boolean' },
    bytes: { type: 'boolean' },
  },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    if (sub !== 'add' && ctx.options.quota !== undefined) throw new UsageError('--quota is only for `user add` (use `user quota ADDRESS SIZE`)', 'user');
    if (sub !== 'add' && sub !== 'passwd' && ctx.options['password-stdin'] !== undefined) {
      throw new UsageError('--password-stdin is only for `user add` and `user passwd`', 'user');
    }
    if (sub !== 'list' && ctx.options.bytes !== undefined) throw new UsageError('--bytes is only for `user list`', 'user');
    switch (sub) {
      case 'add':
        return add(ctx, rest);
      case 'list':
        return list(ctx, rest);
      case 'remove':
        return remove(ctx, rest);
      case 'passwd':
        return passwd(ctx, rest);
      case 'quota':
        return quota(ctx, rest);
      case 'app-password':
        return appPasswordSubcommand(ctx, rest);
      case 'sender':
        return senderSubcommand(ctx, rest);
      case undefined:
        throw new UsageError('missing subcommand: add, list, remove, passwd, quota, app-password or sender', 'user');
      default:
        throw new UsageError(
          `unknown subcommand ${JSON.stringify(sub)}: expected add, list, remove, passwd, quota, app-password or sender`,
          'user',
        );
    }
  },
};

function quotaArg(text: string): number {
  if (text.trim().toLowerCase() === 'unlimited') return 0;
  try {
    return parseSize(text);
  } catch (err) {
    if (err instanceof UnitError) throw new UsageError(`invalid quota: ${err.message}`, 'user');
    throw err;
  }
}

async function add(ctx: CommandContext, args: string[]): Promise<number> {
  const [text] = expectArgs(args, 1, 'user', 'ADDRESS');
  const address = addressArg(text, 'user');
  const config = ctx.config();
  const quotaBytes = typeof ctx.options.quota === 'string' ? quotaArg(ctx.options.quota) : config.limits.default_quota;
  return withStore(config, async (store) => {
    await requireConfiguredDomain(store, domainOfAddress(address));
    if (await store.getAccount(address)) throw new CliError(`user ${address} already exists`);
    // Ask for the password only once the account can be created.
    const credentials = await hashCredentials(await newPassword(ctx.options['password-stdin'] === true));
    try {
      await store.addAccount({ address, ...credentials, quotaBytes });
    } catch (err) {
      if (err instanceof StoreError && err.code === 'exists') throw new CliError(`user ${address} already exists`);
      throw fromStoreError(err);
    }
    ctx.out(`added user ${address}`);
    return EXIT_OK;
  });
}

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(args[1])}`, 'user');
  const domain = args[0] === undefined ? undefined : domainArg(args[0], 'user');
  const bytes = ctx.options.bytes === true;
  const show = (n: number, zero: string) => (bytes ? String(n) : n === 0 ? zero : formatSizeApprox(n));
  return withStore(ctx.config(), async (store) => {
    if (domain !== undefined) await requireConfiguredDomain(store, domain);
    for (const a of await store.listAccounts(domain)) {
      ctx.out(`${a.address}\t${show(a.quotaBytes, 'unlimited')}\t${show(a.usedBytes, '0')}`);
    }
    return EXIT_OK;
  });
}

async function remove(ctx: CommandContext, args: string[]): Promise<number> {
  const [text] = expectArgs(args, 1, 'user', 'ADDRESS');
  const address = addressArg(text, 'user');
  return withStore(ctx.config(), async (store) => {
    await requireUser(store, address);
    try {
      await store.removeAccount(address);
    } catch (err) {
      throw fromStoreError(err);
    }
    ctx.out(`removed user ${address}`);
    return EXIT_OK;
  });
}

async function passwd(ctx: CommandContext, args: string[]): Promise<number> {
  const [text] = expectArgs(args, 1, 'user', 'ADDRESS');
  const address = addressArg(text, 'user');
  return withStore(ctx.config(), async (store) => {
    const account = await requireUser(store, address);
    // Keep the account's SCRAM salt so its app passwords keep working with SCRAM (auth/credentials.ts).
    const scramSalt = scramSaltOf(account.scram, await store.listAppPasswords(account.id));
    const credentials = await hashCredentials(await newPassword(ctx.options['password-stdin'] === true), { scramSalt });
    try {
      await store.setPassword(address, credentials.passwordHash, credentials.scram);
    } catch (err) {
      throw fromStoreError(err);
    }
    ctx.out(`changed the password of ${address}`);
    return EXIT_OK;
  });
}

async function quota(ctx: CommandContext, args: string[]): Promise<number> {
  const [text, sizeText] = expectArgs(args, 2, 'user', args.length === 0 ? 'ADDRESS and SIZE' : 'SIZE');
  const address = addressArg(text, 'user');
  const bytes = quotaArg(sizeText);
  return withStore(ctx.config(), async (store) => {
    await requireUser(store, address);
    try {
      await store.setQuota(address, bytes);
    } catch (err) {
      throw fromStoreError(err);
    }
    ctx.out(`set the quota of ${address} to ${bytes === 0 ? 'unlimited' : formatSize(bytes)}`);
    return EXIT_OK;
  });
}
