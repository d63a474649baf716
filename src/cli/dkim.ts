// `mailroom dkim keygen|list|rotate|activate|remove`: the DKIM signing keys
// of the hosted domains (kept in the store; see store/dkim-keys.ts for the
// states pending → active → retiring → retired and how they follow from time).
//
// - keygen makes the first key of an algorithm; it signs at once (publish its
//   record right away: until then receivers see dkim=permerror/temperror and
//   rely on SPF). One RSA and one Ed25519 key may both be active (dual signing).
// - rotate makes a new key `pending` for dkim.publish_delay (publish it
//   meanwhile); at that time it starts signing and the old key becomes
//   `retiring`: no longer signing, still published for dkim.retire_delay so
//   mail already sent still verifies; then `retired` (remove its record, and
//   the key with `dkim remove`). --activate, or `dkim activate` later, starts
//   the new key now.
// The work is done by exported functions taking the clock, which the tests call.

import type { Config } from '../config/types.ts';
import type { Store } from '../store/store.ts';
import { StoreError } from '../store/store.ts';
import { dkimKeyState, parseDkimSelector, type DkimAlgorithm, type DkimKey } from '../store/dkim-keys.ts';
import { defaultSelector, dkimRecord, dkimRecordName, generateDkimKey, RSA_BITS } from '../policy/dkim-keys.ts';
import { domainArg } from './address.ts';
import type { Command, CommandContext } from './context.ts';
import { CliError, EXIT_OK, UsageError, expectArgs, fromStoreError, requireConfiguredDomain, withStore } from './context.ts';
import { zoneLine } from './dns-records.ts';

const ALGORITHMS: Record<string, DkimAlgorithm> = { rsa: 'rsa-sha256', ed25519: 'ed25519-sha256' };
const SHORT: Record<DkimAlgorithm, string> = { 'rsa-sha256': 'rsa', 'ed25519-sha256': 'ed25519' };

export const dkimCommand: Command = {
  name: 'dkim',
  summary: 'create, list, rotate and remove the DKIM keys outgoing mail is signed with',
  usage: `usage:
  mailroom dkim keygen DOMAIN [--algorithm rsa|ed25519] [--selector S] [--bits N]
  mailroom dkim list [DOMAIN]
  mailroom dkim rotate DOMAIN [--algorithm rsa|ed25519] [--selector S] [--activate]
  mailroom dkim activate DOMAIN SELECTOR
  mailroom dkim remove DOMAIN SELECTOR [--force]

  keygen    create DOMAIN's first key of an algorithm (RSA 2048 by default, or
            Ed25519); it signs at once, so publish the printed TXT record now.
            With an RSA and an Ed25519 key, mail carries both signatures.
  list      the keys with their state and times:
              pending   published, signs from "activates" on
              active    signs
              retiring  no longer signs, stays published until "retires"
              retired   may leave DNS (then: dkim remove)
  rotate    replace the active key(s): the new key is pending for
            dkim.publish_delay (publish its record meanwhile), then signs; the
            old key then stays published for dkim.retire_delay
  activate  a pending key signs now (the key it replaces starts retiring)
  remove    delete a key; a key still published needs --force

  --algorithm rsa|ed25519  (keygen: default rsa; rotate: default every
                           algorithm that has an active key)
  --selector S             default mr<YYYYMM> (with "e" for Ed25519)
  --bits N                 RSA key size: ${RSA_BITS.join(', ')} (default 2048)
  --activate               rotate: the new key signs now`,
  options: { algorithm: { type: 'string' }, selector: { type: 'string' }, bits: { type: 'string' }, activate: { type: 'boolean' }, force: { type: 'boolean' } },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    switch (sub) {
      case 'keygen':
        return keygenCmd(ctx, rest);
      case 'list':
        return listCmd(ctx, rest);
      case 'rotate':
        return rotateCmd(ctx, rest);
      case 'activate':
        return activateCmd(ctx, rest);
      case 'remove':
        return removeCmd(ctx, rest);
      case undefined:
        throw new UsageError('missing subcommand: keygen, list, rotate, activate or remove', 'dkim');
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: expected keygen, list, rotate, activate or remove`, 'dkim');
    }
  },
};

function algorithmOption(ctx: CommandContext): DkimAlgorithm | undefined {
  const v = ctx.options.algorithm;
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !(v in ALGORITHMS)) throw new UsageError('--algorithm must be rsa or ed25519', 'dkim');
  return ALGORITHMS[v];
}

function bitsOption(ctx: CommandContext): number {
  const v = ctx.options.bits;
  if (v === undefined) return 2048;
  const n = Number(v);
  if (!(RSA_BITS as readonly number[]).includes(n)) throw new UsageError(`--bits must be one of ${RSA_BITS.join(', ')}`, 'dkim');
  return n;
}

function selectorOption(ctx: CommandContext): string | undefined {
  const v = ctx.options.selector;
  if (typeof v !== 'string') return undefined;
  const sel = parseDkimSelector(v);
  if (sel === null) throw new UsageError(`invalid selector ${JSON.stringify(v)}: letters, digits and hyphens, in dot-separated labels (RFC 6376 §3.1)`, 'dkim');
  return sel;
}

/** The key that signs now for `algorithm`, and a pending successor if any. */
function current(keys: readonly DkimKey[], algorithm: DkimAlgorithm, now: Date): { active: DkimKey | undefined; pending: DkimKey | undefined } {
  const of = keys.filter((k) => k.algorithm === algorithm);
  return {
    active: of.filter((k) => dkimKeyState(k, now) === 'active').at(-1),
    pending: of.find((k) => dkimKeyState(k, now) === 'pending'),
  };
}

export interface KeygenOptions {
  algorithm?: DkimAlgorithm;
  selector?: string;
  bits?: number;
}

export async function keygen(store: Store, domain: string, o: KeygenOptions, now: Date): Promise<DkimKey> {
  const algorithm = o.algorithm ?? 'rsa-sha256';
  const keys = await store.listDkimKeys(domain);
  const { active, pending } = current(keys, algorithm, now);
  if (active || pending) {
    throw new CliError(`${domain} already has ${active ? 'an active' : 'a pending'} ${SHORT[algorithm]} key (${(active ?? pending)!.selector}): use \`mailroom dkim rotate ${domain}\` to replace it`);
  }
  const selector = o.selector ?? defaultSelector(algorithm, now, new Set(keys.map((k) => k.selector)));
  const m = await generateDkimKey(algorithm, o.bits);
  return store.addDkimKey({ domain, selector, algorithm, privateKey: m.privateKey, publicKey: m.publicKey, activateAt: now });
}

export interface RotateOptions {
  algorithm?: DkimAlgorithm;
  selector?: string;
  activate?: boolean;
  bits?: number;
}

/** New keys for every algorithm with an active key (or the one asked for);
 * each supersedes its active key in one store transaction. */
export async function rotate(store: Store, domain: string, o: RotateOptions, dkim: Config['dkim'], now: Date): Promise<{ added: DkimKey; replaced: DkimKey }[]> {
  const keys = await store.listDkimKeys(domain);
  const algorithms = o.algorithm ? [o.algorithm] : (['rsa-sha256', 'ed25519-sha256'] as const).filter((a) => current(keys, a, now).active);
  if (algorithms.length === 0) throw new CliError(`${domain} has no active DKIM key to rotate: create one with \`mailroom dkim keygen ${domain}\``);
  if (o.selector && algorithms.length > 1) throw new UsageError('--selector names one key: give --algorithm too when the domain has an RSA and an Ed25519 key', 'dkim');
  const out: { added: DkimKey; replaced: DkimKey }[] = [];
  const taken = new Set(keys.map((k) => k.selector));
  for (const algorithm of algorithms) {
    const { active, pending } = current(keys, algorithm, now);
    if (!active) throw new CliError(`${domain} has no active ${SHORT[algorithm]} key to rotate: create one with \`mailroom dkim keygen ${domain} --algorithm ${SHORT[algorithm]}\``);
    if (pending) throw new CliError(`a rotation of ${domain}'s ${SHORT[algorithm]} key is already pending (${pending.selector}): \`mailroom dkim activate ${domain} ${pending.selector}\` or wait`);
    const selector = o.selector ?? defaultSelector(algorithm, now, taken);
    taken.add(selector);
    const activateAt = new Date(now.getTime() + (o.activate ? 0 : dkim.publish_delay));
    const m = await generateDkimKey(algorithm, o.bits);
    const added = await store.addDkimKey(
      { domain, selector, algorithm, privateKey: m.privateKey, publicKey: m.publicKey, activateAt },
      { selector: active.selector, deactivateAt: activateAt, retireAt: new Date(activateAt.getTime() + dkim.retire_delay) },
    );
    out.push({ added, replaced: (await store.getDkimKey(domain, active.selector))! });
  }
  return out;
}

/** A pending key signs from now on; the key it replaces starts retiring now. */
export async function activate(store: Store, domain: string, selector: string, dkim: Config['dkim'], now: Date): Promise<DkimKey> {
  const key = await store.getDkimKey(domain, selector);
  if (!key) throw new CliError(`${domain} has no DKIM key ${selector}`);
  const state = dkimKeyState(key, now);
  if (state !== 'pending') throw new CliError(`DKIM key ${key.selector} of ${domain} is ${state}, not pending`);
  // The replaced key stops exactly when this one was to start (set by rotate).
  for (const old of await store.listDkimKeys(domain)) {
    if (old.algorithm === key.algorithm && old.deactivateAt?.getTime() === key.activateAt.getTime() && old.selector !== key.selector) {
      await store.setDkimKeySchedule(domain, old.selector, { deactivateAt: now, retireAt: new Date(now.getTime() + dkim.retire_delay) });
    }
  }
  return store.setDkimKeySchedule(domain, key.selector, { activateAt: now });
}

function when(d: Date | null): string {
  return d ? d.toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

function recordLines(k: DkimKey): string[] {
  return zoneLine({ name: dkimRecordName(k.selector, k.domain), type: 'TXT', value: dkimRecord(k.algorithm, k.publicKey), purpose: '' }).split('\n');
}

async function keygenCmd(ctx: CommandContext, args: string[]): Promise<number> {
  const [text] = expectArgs(args, 1, 'dkim', 'DOMAIN');
  const domain = domainArg(text!, 'dkim');
  const o = { algorithm: algorithmOption(ctx), selector: selectorOption(ctx), bits: bitsOption(ctx) };
  return withStore(ctx.config(), async (store) => {
    await requireConfiguredDomain(store, domain);
    let k: DkimKey;
    try {
      k = await keygen(store, domain, o, new Date());
    } catch (err) {
      throw fromStoreError(err);
    }
    ctx.out(`created DKIM key ${k.selector} (${k.algorithm}) for ${domain}; it signs from now on`);
    ctx.out('publish this record:');
    for (const l of recordLines(k)) ctx.out(l);
    return EXIT_OK;
  });
}

async function listCmd(ctx: CommandContext, args: string[]): Promise<number> {
  if (args.length > 1) throw new UsageError(`unexpected argument ${JSON.stringify(args[1])}`, 'dkim');
  const domain = args[0] === undefined ? undefined : domainArg(args[0], 'dkim');
  return withStore(ctx.config(), async (store) => {
    if (domain) await requireConfiguredDomain(store, domain);
    const keys = await store.listDkimKeys(domain);
    const now = new Date();
    const rows = keys.map((k) => [k.domain, k.selector, SHORT[k.algorithm], dkimKeyState(k, now), when(k.activateAt), when(k.deactivateAt), when(k.retireAt)]);
    const head = ['DOMAIN', 'SELECTOR', 'ALG', 'STATE', 'ACTIVATES', 'DEACTIVATES', 'RETIRES'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    ctx.out(head.map((h, i) => h.padEnd(widths[i]!)).join('  ').trimEnd());
    for (const r of rows) ctx.out(r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
    return EXIT_OK;
  });
}

async function rotateCmd(ctx: CommandContext, args: string[]): Promise<number> {
  const [text] = expectArgs(args, 1, 'dkim', 'DOMAIN');
  const domain = domainArg(text!, 'dkim');
  const o = { algorithm: algorithmOption(ctx), selector: selectorOption(ctx), activate: ctx.options.activate === true, bits: bitsOption(ctx) };
  const config = ctx.config();
  return withStore(config, async (store) => {
    await requireConfiguredDomain(store, domain);
    let done;
    try {
      done = await rotate(store, domain, o, config.dkim, new Date());
    } catch (err) {
      throw fromStoreError(err);
    }
    for (const { added, replaced } of done) {
      ctx.out(`new DKIM key ${added.selector} (${added.algorithm}) for ${domain}: ${o.activate ? 'signs from now on' : `signs from ${when(added.activateAt)}`}`);
      ctx.out(`old key ${replaced.selector}: stops signing ${o.activate ? 'now' : `at ${when(replaced.deactivateAt)}`}; keep its record until ${when(replaced.retireAt)}`);
      ctx.out(`publish this record${o.activate ? ' now' : ` before ${when(added.activateAt)}`}:`);
      for (const l of recordLines(added)) ctx.out(l);
    }
    return EXIT_OK;
  });
}

async function activateCmd(ctx: CommandContext, args: string[]): Promise<number> {
  const [text, sel] = expectArgs(args, 2, 'dkim', 'DOMAIN and SELECTOR');
  const domain = domainArg(text!, 'dkim');
  const config = ctx.config();
  return withStore(config, async (store) => {
    await requireConfiguredDomain(store, domain);
    let k: DkimKey;
    try {
      k = await activate(store, domain, sel!, config.dkim, new Date());
    } catch (err) {
      throw fromStoreError(err);
    }
    ctx.out(`DKIM key ${k.selector} of ${domain} signs from now on`);
    return EXIT_OK;
  });
}

async function removeCmd(ctx: CommandContext, args: string[]): Promise<number> {
  const [text, sel] = expectArgs(args, 2, 'dkim', 'DOMAIN and SELECTOR');
  const domain = domainArg(text!, 'dkim');
  return withStore(ctx.config(), async (store) => {
    await requireConfiguredDomain(store, domain);
    try {
      const k = await store.getDkimKey(domain, sel!);
      if (!k) throw new CliError(`${domain} has no DKIM key ${sel}`);
      const state = dkimKeyState(k, new Date());
      if (state !== 'retired' && ctx.options.force !== true) {
        throw new CliError(`DKIM key ${k.selector} of ${domain} is ${state}: mail ${state === 'active' ? 'is signed' : state === 'pending' ? 'will be signed' : 'was signed'} with it; rotate first, or pass --force`);
      }
      await store.removeDkimKey(domain, k.selector);
    } catch (err) {
      if (err instanceof StoreError) throw fromStoreError(err);
      throw err;
    }
    ctx.out(`removed DKIM key ${sel!.toLowerCase()} of ${domain}`);
    return EXIT_OK;
  });
}
