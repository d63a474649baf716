// `mailroom serve`: runs the server in the foreground until SIGTERM or SIGINT.
// The first signal shuts down gracefully (no new connections, transactions in
// DATA get timeouts.shutdown_grace to finish) and exits 0; a second signal
// exits at once with status 1. A start-up failure, such as a port already in
// use, prints the server's message (no stack trace) and exits 1.

import { createLogger } from '../log/logger.ts';
import { formatListenAddress } from '../config/values.ts';
import { resolveConfigPath } from '../config/load.ts';
import type { Command } from './context.ts';
import { CliError, EXIT_ERROR, EXIT_OK, expectArgs } from './context.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the mail server in the foreground',
  usage: `usage:
  mailroom serve [--config FILE]

  Runs the server until SIGTERM or SIGINT (Ctrl-C), logging JSON lines on
  stderr. The first signal stops gracefully; a second one exits immediately.
  Without a configuration file SMTP listens on 0.0.0.0:2525 and data goes to
  ./data.`,
  options: {},
  async run(ctx) {
    expectArgs(ctx.args, 0, 'serve', '');
    const config = ctx.config();
    const logger = createLogger({ level: config.log.level });
    const listen = Object.fromEntries(Object.entries(config.listen).map(([role, a]) => [role, formatListenAddress(a)]));
    logger.info('starting', { config: resolveConfigPath(ctx.configPath) ?? 'built-in defaults', listen, pid: process.pid });
    if (Object.keys(listen).length === 0) logger.warn('no listeners configured: set listen.smtp in the configuration file');

    // Loaded here, not at the top: the admin commands need none of the server code.
    const { startServer } = await import('../server/server.ts');
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer(config, { logger });
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err));
    }

    return new Promise<number>((resolve) => {
      let stopping = false;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          logger.warn('second signal: exiting now', { signal });
          process.exit(EXIT_ERROR);
        }
        stopping = true;
        logger.info('signal received, shutting down (send it again to exit at once)', { signal });
        server.close(signal).then(
          () => resolve(EXIT_OK),
          (err: unknown) => {
            logger.error('shutdown failed', { err });
            resolve(EXIT_ERROR);
          },
        );
      };
      process.on('SIGTERM', onSignal);
      process.on('SIGINT', onSignal);
    });
  },
};
