// `mailroom migrate --from sqlite:DATA_DIR --to postgres://…`: moves an
// existing single-node installation into PostgreSQL (store/migrate.ts), then
// verifies counts and checksums table by table and prints the result. Stop
// the server first; afterwards set `[store] url` on every node.

import type { Command } from './context.ts';
import { CliError, EXIT_ERROR, EXIT_OK, UsageError } from './context.ts';
import { StoreError } from '../store/store.ts';
import { migrateSqliteToPostgres } from '../store/migrate.ts';
import { isPgUrl } from '../store/postgres/connection.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  summary: 'copy a SQLite installation into PostgreSQL (for several nodes), then verify it',
  usage: `usage:
  mailroom migrate --from sqlite:DATA_DIR --to postgres://USER:PASSWORD@HOST:PORT/DB

  Copies everything in DATA_DIR (accounts, domains, aliases, app passwords,
  sender grants, mailboxes and messages with their flags, UIDs and MODSEQs,
  message bodies, the outbound queue, DKIM keys, greylisting and spam-filter
  state) into an empty PostgreSQL database, in one transaction, keeping every
  id. Then compares row counts and checksums of every table, and re-hashes
  every message body. Stop the server first; afterwards set [store] url on
  every node. Without --from, the configured data_dir is used.`,
  options: { from: { type: 'string' }, to: { type: 'string' } },
  async run(ctx) {
    if (ctx.args.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(ctx.args[0])}`, 'migrate');
    const from = ctx.options.from;
    const to = ctx.options.to;
    if (typeof to !== 'string' || to === '') throw new UsageError('missing --to postgres://…', 'migrate');
    if (!isPgUrl(to)) throw new UsageError('--to must be a postgres:// URL', 'migrate');
    let dataDir: string;
    if (typeof from === 'string') {
      if (!from.startsWith('sqlite:') || from.length === 'sqlite:'.length) throw new UsageError('--from must be sqlite:DATA_DIR', 'migrate');
      dataDir = from.slice('sqlite:'.length);
    } else {
      dataDir = ctx.config().data_dir;
    }
    let report;
    try {
      report = await migrateSqliteToPostgres({ fromDataDir: dataDir, toUrl: to, progress: (l) => ctx.err(l) });
    } catch (err) {
      if (err instanceof StoreError) throw new CliError(err.message);
      throw err;
    }
    for (const t of report.tables) ctx.out(`${t.table.padEnd(18)} ${String(t.rows).padStart(8)} rows  sha256 ${t.checksum.slice(0, 16)}`);
    ctx.out(`message bodies     ${String(report.blobs.count).padStart(8)}       ${report.blobs.bytes} bytes`);
    if (report.mismatches.length > 0) {
      for (const m of report.mismatches) ctx.err(`mismatch: ${m}`);
      ctx.err('verification FAILED: do not switch to PostgreSQL; the SQLite data is untouched');
      return EXIT_ERROR;
    }
    ctx.out('verified: every table has the same rows and checksums, every body matches its sha256');
    return EXIT_OK;
  },
};
