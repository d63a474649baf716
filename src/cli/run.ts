// Parses the command line (node:util parseArgs) and runs one command, turning
// every failure into a message on stderr and an exit code: 0 ok, 1 runtime
// error (including a bad configuration file), 2 usage error. Every command
// accepts --config FILE and --help; `mailroom help [COMMAND]` and
// `mailroom --version` are handled here.

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { ParseArgsOptionsConfig } from 'node:util';
import { ConfigError, loadConfig } from '../config/load.ts';
import type { Config } from '../config/types.ts';
import type { Command, CommandContext } from './context.ts';
import { CliError, EXIT_ERROR, EXIT_OK, UsageError } from './context.ts';
import { serveCommand } from './serve.ts';
import { domainCommand } from './domain.ts';
import { queueCommand } from './queue.ts';
import { userCommand } from './user.ts';
import { aliasCommand } from './alias.ts';
import { configCommand } from './config-cmd.ts';
import { migrateCommand } from './migrate.ts';
import { dkimCommand } from './dkim.ts';
import { dnsCommand } from './dns-records.ts';
import { checkCommand } from './check.ts';
import { spamCommand } from './spam.ts';

export const COMMANDS: readonly Command[] = [serveCommand, domainCommand, userCommand, aliasCommand, queueCommand, dkimCommand, dnsCommand, checkCommand, spamCommand, migrateCommand, configCommand];

const GLOBAL_OPTIONS: ParseArgsOptionsConfig = {
  config: { type: 'string', short: 'c' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
};

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function topUsage(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: mailroom COMMAND [ARGS] [--config FILE]

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}
  ${'help'.padEnd(width)}  show help for a command: mailroom help user

options:
  -c, --config FILE  configuration file (default: ./mailroom.toml if it exists,
                     else built-in defaults)
  -h, --help         show help
  -V, --version      print the version

exit status: 0 ok, 1 error, 2 bad command line`;
}

function usageOf(command: string | undefined): string {
  const c = COMMANDS.find((x) => x.name === command);
  return c ? `${c.usage}\n\n  --config FILE  configuration file (default: ./mailroom.toml if it exists)` : topUsage();
}

/** The usage lines only, with a pointer to the full help (after an error). */
function synopsisOf(command: string | undefined): string {
  const c = COMMANDS.find((x) => x.name === command);
  if (!c) return topUsage();
  return `${c.usage.split('\n\n')[0]}\nRun \`mailroom help ${c.name}\` for details.`;
}

export interface RunIo {
  out(line: string): void;
  err(line: string): void;
}

const defaultIo: RunIo = {
  out: (line) => void process.stdout.write(line + '\n'),
  err: (line) => void process.stderr.write(line + '\n'),
};

/** Runs the command line `argv` (without node and script); resolves to the exit code. */
export async function run(argv: string[], io: RunIo = defaultIo): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`mailroom: ${err.message}`);
      io.err(synopsisOf(err.command));
      return err.exitCode;
    }
    if (err instanceof CliError) {
      io.err(`mailroom: ${err.message}`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      io.err(`mailroom: ${err.message}`);
      return EXIT_ERROR;
    }
    io.err(`mailroom: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT_ERROR;
  }
}

async function dispatch(argv: string[], io: RunIo): Promise<number> {
  // First pass, lenient: find the command name whatever options surround it.
  const allOptions: ParseArgsOptionsConfig = { ...GLOBAL_OPTIONS };
  for (const c of COMMANDS) Object.assign(allOptions, c.options);
  const first = parseArgs({ args: argv, options: allOptions, strict: false, allowPositionals: true });
  const name = first.positionals[0];

  if (name === undefined) {
    if (first.values.version === true) {
      io.out(`mailroom ${version()}`);
      return EXIT_OK;
    }
    if (first.values.help === true) {
      io.out(topUsage());
      return EXIT_OK;
    }
    const unknown = Object.keys(first.values).find((k) => !(k in GLOBAL_OPTIONS));
    throw new UsageError(unknown ? `unknown option --${unknown}` : 'missing command');
  }

  if (name === 'help') {
    const topic = first.positionals[1];
    if (topic !== undefined && !COMMANDS.some((c) => c.name === topic)) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
    io.out(usageOf(topic));
    return EXIT_OK;
  }

  const command = COMMANDS.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)}`);

  // Second pass, strict: only this command's options.
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...GLOBAL_OPTIONS, ...command.options }, strict: true, allowPositionals: true });
  } catch (err) {
    const e = err as { code?: string; message: string };
    if (e.code?.startsWith('ERR_PARSE_ARGS')) throw new UsageError(lowerFirst(e.message.split('\n')[0].replace(/\. To specify a positional.*$/, '')), command.name);
    throw err;
  }
  if (parsed.values.help === true) {
    io.out(usageOf(command.name));
    return EXIT_OK;
  }
  if (parsed.values.version === true) {
    io.out(`mailroom ${version()}`);
    return EXIT_OK;
  }

  const configPath = typeof parsed.values.config === 'string' ? parsed.values.config : undefined;
  let config: Config | undefined;
  const ctx: CommandContext = {
    args: parsed.positionals.slice(1),
    options: parsed.values,
    configPath,
    config: () => (config ??= loadConfig(configPath)),
    out: io.out,
    err: io.err,
  };
  return command.run(ctx);
}


function lowerFirst(s: string): string {
  return s.charAt(0).toLowerCase() + s.slice(1);
}
