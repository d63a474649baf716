// `mailroom spam`: the operator's side of the abuse defences (issue 8).
//   train --spam|--ham [--user ADDRESS] FILE...   learn messages in bulk
//   score [--user ADDRESS] FILE...                show a message's score and the rules that fired
//   allow|block ADDRESS SENDER, unlist ADDRESS SENDER, list ADDRESS   per-user sender lists
//   ratelimit ADDRESS [MESSAGES_PER_HOUR RECIPIENTS_PER_DAY | default]   per-account limits
//   stats [ADDRESS]                                what the classifier has learnt
// ADDRESS `*` means the global list (every user) for allow/block/unlist/list.

import { readFile } from 'node:fs/promises';
import { addressArg, aliasSourceArg } from './address.ts';
import type { Command, CommandContext } from './context.ts';
import { CliError, EXIT_OK, UsageError, expectArgs, fromStoreError, withStore } from './context.ts';
import { requireUser } from './user-lookup.ts';
import type { Store } from '../store/store.ts';
import { trainMessage } from '../spam/training.ts';
import { SpamFilter } from '../spam/filter.ts';
import { formatPoints } from '../spam/headers.ts';

export const spamCommand: Command = {
  name: 'spam',
  summary: 'train the spam filter, explain scores, manage sender lists and rate limits',
  usage: `usage:
  mailroom spam train --spam|--ham [--user ADDRESS] FILE...
  mailroom spam score [--user ADDRESS] FILE...
  mailroom spam allow ADDRESS SENDER
  mailroom spam block ADDRESS SENDER
  mailroom spam unlist ADDRESS SENDER
  mailroom spam list ADDRESS
  mailroom spam ratelimit ADDRESS [MESSAGES_PER_HOUR RECIPIENTS_PER_DAY | default]
  mailroom spam stats [ADDRESS]

  train      learn each FILE (one message, as stored or saved from a mail app) as
             spam or ham, for everyone and, with --user, for that user too;
             learning a file again with the same label changes nothing
  score      print the score of each FILE and every rule that fired, with points
  allow      always deliver mail from SENDER to ADDRESS's INBOX
  block      always deliver mail from SENDER to ADDRESS's Junk
  unlist     remove SENDER from ADDRESS's lists
  list       print ADDRESS's list, "allow|block<TAB>sender" per line
  ratelimit  show or set ADDRESS's sending limits ("-" keeps a default;
             "default" removes the override)
  stats      messages learnt, globally or for ADDRESS

  SENDER is user@domain, or @domain for a whole domain (and its subdomains).
  ADDRESS "*" stands for every user (the global list).`,
  options: { spam: { type: 'boolean' }, ham: { type: 'boolean' }, user: { type: 'string' } },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    switch (sub) {
      case 'train':
        return train(ctx, rest);
      case 'score':
        return score(ctx, rest);
      case 'allow':
      case 'block':
        return listAdd(ctx, sub, rest);
      case 'unlist':
        return unlist(ctx, rest);
      case 'list':
        return list(ctx, rest);
      case 'ratelimit':
        return ratelimit(ctx, rest);
      case 'stats':
        return stats(ctx, rest);
      case undefined:
        throw new UsageError('missing subcommand: train, score, allow, block, unlist, list, ratelimit or stats', 'spam');
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: expected train, score, allow, block, unlist, list, ratelimit or stats`, 'spam');
    }
  },
};

async function userId(store: Store, ctx: CommandContext): Promise<number | null> {
  const u = ctx.options.user;
  if (u === undefined) return null;
  if (typeof u !== 'string') throw new UsageError('--user takes an address', 'spam');
  return (await requireUser(store, addressArg(u, 'spam'))).id;
}

/** The account id for ADDRESS, or 0 for "*". */
async function scopeOf(store: Store, text: string): Promise<number> {
  if (text === '*') return 0;
  return (await requireUser(store, addressArg(text, 'spam'))).id;
}

async function readMessage(file: string): Promise<Buffer> {
  try {
    const raw = await readFile(file);
    // Files saved on Unix have LF line ends; the store keeps CRLF.
    return Buffer.from(raw.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
  } catch (err) {
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
}

async function train(ctx: CommandContext, files: string[]): Promise<number> {
  const spam = ctx.options.spam === true;
  const ham = ctx.options.ham === true;
  if (spam === ham) throw new UsageError('give exactly one of --spam or --ham', 'spam');
  if (files.length === 0) throw new UsageError('missing FILE', 'spam');
  const label = spam ? 'spam' : 'ham';
  return withStore(ctx.config(), async (store) => {
    const accountId = await userId(store, ctx);
    let learnt = 0;
    for (const f of files) {
      const content = await readMessage(f);
      try {
        if (await trainMessage(store, content, label, { accountId, now: new Date() })) learnt++;
      } catch (err) {
        throw fromStoreError(err);
      }
    }
    ctx.out(`learnt ${learnt} of ${files.length} message${files.length === 1 ? '' : 's'} as ${label}${learnt < files.length ? ' (the others were already learnt so)' : ''}`);
    return EXIT_OK;
  });
}

async function score(ctx: CommandContext, files: string[]): Promise<number> {
  if (files.length === 0) throw new UsageError('missing FILE', 'spam');
  const config = ctx.config();
  return withStore(config, async (store) => {
    const accountId = await userId(store, ctx);
    const filter = new SpamFilter({ store, bayesMinMessages: config.spam.bayes_min_messages });
    for (const f of files) {
      const content = await readMessage(f);
      const ret = /^Return-Path:\s*<([^>]*)>/im.exec(content.subarray(0, 4096).toString('latin1'));
      const r = await filter.score({ content, envelopeFrom: ret?.[1] || null, now: new Date(), accountIds: accountId ? [accountId] : [] });
      const res = accountId ? r.perAccount.get(accountId)! : r.shared;
      const verdict = res.score >= config.spam.reject_threshold ? 'reject' : res.score >= config.spam.junk_threshold ? 'junk' : 'inbox';
      ctx.out(`${f}\t${formatPoints(res.score)}\t${verdict}`);
      for (const h of res.hits) ctx.out(`  ${formatPoints(h.points).padStart(6)}  ${h.name}  ${h.reason}`);
    }
    return EXIT_OK;
  });
}

async function listAdd(ctx: CommandContext, action: 'allow' | 'block', args: string[]): Promise<number> {
  const [addressText, senderText] = expectArgs(args, 2, 'spam', args.length === 0 ? 'ADDRESS and SENDER' : 'SENDER');
  const sender = aliasSourceArg(senderText, 'spam');
  return withStore(ctx.config(), async (store) => {
    const scope = await scopeOf(store, addressText);
    try {
      await store.addSenderRule({ accountId: scope, pattern: sender, action });
    } catch (err) {
      throw fromStoreError(err);
    }
    ctx.out(`${action === 'allow' ? 'allowed' : 'blocked'} ${sender} for ${scope === 0 ? 'every user' : addressText}`);
    return EXIT_OK;
  });
}

async function unlist(ctx: CommandContext, args: string[]): Promise<number> {
  const [addressText, senderText] = expectArgs(args, 2, 'spam', args.length === 0 ? 'ADDRESS and SENDER' : 'SENDER');
  const sender = aliasSourceArg(senderText, 'spam');
  return withStore(ctx.config(), async (store) => {
    const scope = await scopeOf(store, addressText);
    if (!(await store.removeSenderRule(scope, sender))) throw new CliError(`${sender} is not on the list of ${addressText}`);
    ctx.out(`removed ${sender}`);
    return EXIT_OK;
  });
}

async function list(ctx: CommandContext, args: string[]): Promise<number> {
  const [addressText] = expectArgs(args, 1, 'spam', 'ADDRESS');
  return withStore(ctx.config(), async (store) => {
    const scope = await scopeOf(store, addressText);
    for (const r of await store.listSenderRules(scope)) ctx.out(`${r.action}\t${r.pattern}`);
    return EXIT_OK;
  });
}

function limitArg(text: string, what: string): number | null {
  if (text === '-') return null;
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`${what} must be a whole number or "-", got ${JSON.stringify(text)}`, 'spam');
  return Number(text);
}

async function ratelimit(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length !== 1 && args.length !== 2 && args.length !== 3) throw new UsageError('expected ADDRESS [MESSAGES_PER_HOUR RECIPIENTS_PER_DAY | default]', 'spam');
  const address = addressArg(args[0], 'spam');
  if (args.length === 2 && args[1] !== 'default') throw new UsageError('expected both MESSAGES_PER_HOUR and RECIPIENTS_PER_DAY, or "default"', 'spam');
  const limits = args.length === 3 ? { messagesPerHour: limitArg(args[1], 'MESSAGES_PER_HOUR'), recipientsPerDay: limitArg(args[2], 'RECIPIENTS_PER_DAY') } : null;
  const config = ctx.config();
  return withStore(config, async (store) => {
    const acc = await requireUser(store, address);
    if (args.length > 1) await store.setRateOverride(acc.id, limits);
    const o = await store.getRateOverride(acc.id);
    const rl = config.rate_limit;
    ctx.out(`messages per hour\t${o?.messagesPerHour ?? rl.account_messages_per_hour}${o?.messagesPerHour != null ? '' : ' (default)'}`);
    ctx.out(`recipients per day\t${o?.recipientsPerDay ?? rl.account_recipients_per_day}${o?.recipientsPerDay != null ? '' : ' (default)'}`);
    return EXIT_OK;
  });
}

async function stats(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length > 1) throw new UsageError('expected at most one ADDRESS', 'spam');
  return withStore(ctx.config(), async (store) => {
    const scope = args.length === 1 ? await scopeOf(store, args[0]) : 0;
    const t = await store.getSpamTotals(scope);
    ctx.out(`spam\t${t.spam}`);
    ctx.out(`ham\t${t.ham}`);
    return EXIT_OK;
  });
}
