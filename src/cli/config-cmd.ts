// `mailroom config check|example`: validates the configuration file without
// starting anything, or prints the fully commented example configuration
// (the text of mailroom.example.toml, generated from config/schema.ts).

import { resolveConfigPath } from '../config/load.ts';
import { renderExampleToml } from '../config/example.ts';
import type { Command } from './context.ts';
import { EXIT_OK, UsageError, expectArgs } from './context.ts';

export const configCommand: Command = {
  name: 'config',
  summary: 'check the configuration file, or print an example one',
  usage: `usage:
  mailroom config check [--config FILE]
  mailroom config example

  check    load and validate the configuration (FILE, else ./mailroom.toml,
           else the built-in defaults); errors name the key and exit 1
  example  print every key with its default and doc, as in
           mailroom.example.toml`,
  options: {},
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    switch (sub) {
      case 'check': {
        expectArgs(rest, 0, 'config', '');
        ctx.config();
        ctx.out(`${resolveConfigPath(ctx.configPath) ?? 'built-in defaults (no mailroom.toml here)'}: ok`);
        return EXIT_OK;
      }
      case 'example':
        expectArgs(rest, 0, 'config', '');
        process.stdout.write(renderExampleToml());
        return EXIT_OK;
      case undefined:
        throw new UsageError('missing subcommand: check or example', 'config');
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: expected check or example`, 'config');
    }
  },
};
