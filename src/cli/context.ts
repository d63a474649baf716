// What every CLI command shares: the error types that carry an exit code
// (0 ok, 1 runtime error, 2 usage error), the shape of a command module, and
// opening the store named by the configuration. Commands write results to
// stdout (one item per line, scriptable) and problems to stderr.

import type { ParseArgsOptionsConfig } from 'node:util';
import type { Config } from '../config/types.ts';
import type { Store } from '../store/store.ts';
import { StoreError } from '../store/store.ts';
import { openStore, describeStore } from '../store/open.ts';

export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;

/** A failure to report as `mailroom: <message>` and exit with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT_ERROR) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
  }
}

/** Bad command line: the message is followed by the command's usage. */
export class UsageError extends CliError {
  /** Command whose usage to show (e.g. "user"); undefined = the top level. */
  readonly command: string | undefined;
  constructor(message: string, command?: string) {
    super(message, EXIT_USAGE);
    this.name = 'UsageError';
    this.command = command;
  }
}

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface CommandContext {
  /** Positionals after the command name (`user add a@b` → ["add", "a@b"]). */
  args: string[];
  options: OptionValues;
  /** The path given with --config, or undefined. */
  configPath: string | undefined;
  /** Loads the configuration (throws CliError on a bad file). */
  config(): Config;
  out(line: string): void;
  err(line: string): void;
}

export interface Command {
  name: string;
  /** One line for `mailroom help`. */
  summary: string;
  /** Full help text for `mailroom help NAME` / `mailroom NAME --help`. */
  usage: string;
  /** Options besides --config and --help. */
  options: ParseArgsOptionsConfig;
  run(ctx: CommandContext): Promise<number>;
}

/** Opens the store named by the config, runs `fn`, and always closes it.
 * The SQLite store is in WAL mode and PostgreSQL is shared, so this works
 * while the server runs. */
export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  let store: Store;
  try {
    store = await openStore(config);
  } catch (err) {
    // The store's message already names where it is ("opening store in ./data: …").
    throw new CliError(err instanceof StoreError ? err.message : `cannot open the store in ${describeStore(config)}: ${String(err)}`);
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** StoreErrors become CliErrors (an 'invalid' value is a usage problem). */
export function fromStoreError(err: unknown): unknown {
  if (err instanceof StoreError) return new CliError(err.message, err.code === 'invalid' ? EXIT_USAGE : EXIT_ERROR);
  return err;
}

/** Exactly `n` positionals after the subcommand, else a usage error. */
export function expectArgs(args: string[], n: number, command: string, what: string): string[] {
  if (args.length < n) throw new UsageError(`missing ${what}`, command);
  if (args.length > n) throw new UsageError(`unexpected argument ${JSON.stringify(args[n])}`, command);
  return args;
}

/** Fails with a hint to add the domain if the store does not host it. */
export async function requireConfiguredDomain(store: Store, domain: string): Promise<void> {
  if (!(await store.hasDomain(domain))) {
    throw new CliError(`domain ${domain} is not configured: add it with \`mailroom domain add ${domain}\``);
  }
}
