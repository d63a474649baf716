// `mailroom queue list|show|retry|delete|bounce`: the operator's view of the
// outbound queue. It works on the same store as a running server: `retry`
// makes recipients due now (a running server picks them up within a minute),
// `bounce` gives up at once and sends the sender a bounce.

import type { Command, CommandContext } from './context.ts';
import { CliError, EXIT_OK, UsageError, expectArgs, withStore } from './context.ts';
import type { QueuedMessage, Store } from '../store/store.ts';
import type { Config } from '../config/types.ts';
import { createLogger } from '../log/logger.ts';
import { DsnNotifier } from '../queue/notifier.ts';
import { RecipientResolver } from '../queue/recipient-resolver.ts';
import { Router } from '../queue/router.ts';

export const queueCommand: Command = {
  name: 'queue',
  summary: 'list, inspect, retry, delete or bounce queued outbound mail',
  usage: `usage:
  mailroom queue list
  mailroom queue show QUEUE-ID
  mailroom queue retry QUEUE-ID | --all
  mailroom queue delete QUEUE-ID
  mailroom queue bounce QUEUE-ID

  list    one line per queued message: id, age, sender, then one indented
          line per recipient: state, attempts, next try, last reply
  show    everything about one message
  retry   make its pending recipients due now (--all: every message)
  delete  remove it from the queue without telling anyone
  bounce  give up now: bounce to the sender (not to <>, nor against its
          NOTIFY), then fail its pending recipients`,
  options: { all: { type: 'boolean' } },
  async run(ctx) {
    const [sub, ...rest] = ctx.args;
    switch (sub) {
      case 'list':
        expectArgs(rest, 0, 'queue', '');
        return withStore(ctx.config(), async (store) => {
          const list = await store.listQueue();
          for (const m of list) print(ctx, m, false);
          if (list.length === 0) ctx.err('the queue is empty');
          return EXIT_OK;
        });
      case 'show':
        return withMessage(ctx, rest, async (_store, m) => print(ctx, m, true));
      case 'retry':
        return retry(ctx, rest);
      case 'delete':
        return withMessage(ctx, rest, async (store, m) => {
          await store.deleteQueued(m.queueId);
          ctx.out(`deleted ${m.queueId}`);
        });
      case 'bounce':
        return withMessage(ctx, rest, (store, m) => bounce(ctx, store, m));
      case undefined:
        throw new UsageError('missing subcommand: list, show, retry, delete or bounce', 'queue');
      default:
        throw new UsageError(`unknown subcommand ${JSON.stringify(sub)}: expected list, show, retry, delete or bounce`, 'queue');
    }
  },
};

async function withMessage(ctx: CommandContext, args: string[], fn: (store: Store, m: QueuedMessage) => Promise<void>): Promise<number> {
  const [id] = expectArgs(args, 1, 'queue', 'QUEUE-ID');
  return withStore(ctx.config(), async (store) => {
    const m = await store.getQueued(id!);
    if (!m) throw new CliError(`no queued message ${id}`);
    await fn(store, m);
    return EXIT_OK;
  });
}

const CANCELLED = '550 5.0.0 Delivery cancelled by the administrator';

/** Gives up on the pending recipients and tells the sender. As in the
 * scheduler, the bounce goes out before the recipients are marked failed: if
 * it cannot be sent, or the command is interrupted, nothing has changed and
 * running it again still bounces (a crash in between may repeat a bounce,
 * never lose one). */
async function bounce(ctx: CommandContext, store: Store, m: QueuedMessage): Promise<void> {
  const cfg = ctx.config();
  // RFC 3461 §4.1: failures are reported unless NOTIFY says otherwise (NEVER, or a list without FAILURE).
  const notify = m.recipients.filter((r) => r.state === 'pending' && (!r.notify || r.notify.length === 0 || r.notify.includes('FAILURE')));
  // RFC 3464 §2: never a bounce to the null sender.
  if (m.sender !== '' && notify.length > 0) {
    await notifierFor(store, cfg).notify({
      kind: 'failed',
      message: m,
      recipients: notify.map((r) => ({
        ...r,
        // Our decision, not a remote reply: no Remote-MTA, and no SMTP-looking
        // diagnostic (RFC 3464 §2.3.5-6); the last remote reply is kept as context.
        reply: `Delivery cancelled by the administrator of ${cfg.hostname}` + (r.lastReply ? `\nLast reply${r.lastHost ? ' from ' + r.lastHost : ''}: ${r.lastReply}` : ''),
        status: '5.0.0',
        host: null,
      })),
    });
  }
  const failed = await store.failQueued(m.queueId, CANCELLED, '5.0.0', new Date());
  const why = failed.length === 0 ? '' : m.sender === '' ? ': no bounce to the null sender' : notify.length === 0 ? ': no bounce, the sender asked not to be told (NOTIFY)' : '';
  ctx.out(`bounced ${m.queueId} (${failed.length} recipient${failed.length === 1 ? '' : 's'})${why}`);
}

async function retry(ctx: CommandContext, args: string[]): Promise<number> {
  const all = ctx.options.all === true;
  if (all) expectArgs(args, 0, 'queue', '');
  const id = all ? null : expectArgs(args, 1, 'queue', 'QUEUE-ID')[0]!;
  return withStore(ctx.config(), async (store) => {
    if (id !== null && !(await store.getQueued(id))) throw new CliError(`no queued message ${id}`);
    const n = await store.retryQueued(id, new Date());
    ctx.out(`${n} recipient${n === 1 ? '' : 's'} due now`);
    return EXIT_OK;
  });
}

function print(ctx: CommandContext, m: QueuedMessage, full: boolean): void {
  const age = Math.round((Date.now() - m.createdAt.getTime()) / 60_000);
  ctx.out(`${m.queueId}  ${age}m  ${m.size}B  <${m.sender}>`);
  for (const r of m.recipients) {
    ctx.out(`  ${r.state.padEnd(9)} ${r.address}  attempts=${r.attempts}  next=${r.state === 'pending' ? r.nextAttemptAt.toISOString() : '-'}  ${r.lastReply ? 'last: ' + r.lastReply.split('\n').join(' / ') : ''}`.trimEnd());
    if (full && r.lastHost) ctx.out(`            host=${r.lastHost} status=${r.lastStatus ?? '-'} last_attempt=${r.lastAttemptAt?.toISOString() ?? '-'}`);
  }
  if (full) ctx.out(`  created=${m.createdAt.toISOString()} blob=${m.blobId} smtputf8=${m.smtputf8} 8bit=${m.eightBit}${m.envid ? ' envid=' + m.envid : ''}${m.ret ? ' ret=' + m.ret : ''}`);
}

function notifierFor(store: Store, config: Config): DsnNotifier {
  const log = createLogger({ level: 'warn' });
  const router = new Router(store, new RecipientResolver(store, { recipientDelimiter: config.delivery.recipient_delimiter }), log, { onQueued: () => {} });
  return new DsnNotifier({ store, hostname: config.hostname, inject: (to, c, at) => router.inject(to, c, at), now: () => new Date(), log, maxAge: config.queue.max_age });
}
