// `mailroom serve`: runs the server in the foreground until SIGTERM or SIGINT.
// The first signal shuts down gracefully (no new connections, transactions in
// DATA get timeouts.shutdown_grace to finish) and exits 0; a second signal
// exits at once with status 1. SIGHUP re-reads the TLS certificate and key
// files (after a renewal) and logs the outcome; a failed reload keeps the
// certificates in use and never stops the server. A start-up failure, such as
// a port already in use, prints the server's message (no stack trace) and
// exits 1.

import { createLogger } from '../log/logger.ts';
import { formatListenAddress } from '../config/values.ts';
import { resolveConfigPath } from '../config/load.ts';
import type { Command } from './context.ts';
import type { RunningServer } from '../server/server.ts';
import { CliError, EXIT_ERROR, EXIT_OK, expectArgs } from './context.ts';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'run the mail server in the foreground',
  usage: `usage:
  mailroom serve [--config FILE]

  Runs the server until SIGTERM or SIGINT (Ctrl-C), logging JSON lines on
  stderr. The first signal stops gracefully; a second one exits immediately.
  SIGHUP re-reads the TLS certificate and key files.
  Without a configuration file SMTP listens on 0.0.0.0:2525, submission on
  0.0.0.0:2587 and submissions on 0.0.0.0:2465, and data goes to ./data.`,
  options: {},
  async run(ctx) {
    expectArgs(ctx.args, 0, 'serve', '');
    const config = ctx.config();
    const logger = createLogger({ level: config.log.level });
    const listen = Object.fromEntries(Object.entries(config.listen).map(([role, a]) => [role, formatListenAddress(a)]));
    logger.info('starting', { config: resolveConfigPath(ctx.configPath) ?? 'built-in defaults', listen, pid: process.pid });
    if (Object.keys(listen).length === 0) logger.warn('no listeners configured: set listen.smtp in the configuration file');

    let server: RunningServer | undefined;
    let stopping = false;
    // SIGHUP (e.g. from a certificate renewal hook): new certificates for new
    // handshakes; sessions already in TLS go on. Registered before the start so
    // an early SIGHUP does not kill the process (Node's default for it).
    process.on('SIGHUP', () => {
      if (!server || stopping) {
        logger.info('SIGHUP ignored: the server is starting or stopping');
        return;
      }
      logger.info('SIGHUP: reloading TLS certificates');
      server.reloadTls().then(
        () => logger.info('TLS certificates reloaded', { certificates: server?.tls?.certificates().length ?? 0 }),
        (err: unknown) => logger.error('TLS reload failed; the certificates in use are kept', { error: err instanceof Error ? err.message : String(err) }),
      );
    });

    // Loaded here, not at the top: the admin commands need none of the server code.
    const { startServer } = await import('../server/server.ts');
    try {
      server = await startServer(config, { logger });
    } catch (err) {
      throw new CliError(err instanceof Error ? err.message : String(err));
    }

    const running = server;
    return new Promise<number>((resolve) => {
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopping) {
          logger.warn('second signal: exiting now', { signal });
          process.exit(EXIT_ERROR);
        }
        stopping = true;
        logger.info('signal received, shutting down (send it again to exit at once)', { signal });
        running.close(signal).then(
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
