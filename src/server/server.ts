// The composition root: builds config → store → services → listeners, and
// takes them down in reverse order on close. The only file that knows everyone.
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Config } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { Store } from '../store/store.ts';
import { openStore, usesPostgres } from '../store/open.ts';
import { PgStore } from '../store/postgres/pg-store.ts';
import { PgThrottleState } from '../store/postgres/throttle-state.ts';
import { PgMaildropLocks } from '../store/postgres/maildrop-locks.ts';
import { hostname as machineName } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { ConnectionLimits } from '../net/connection-limits.ts';
import { SmtpServer } from '../smtp/server/smtp-server.ts';
import { RecipientResolver } from '../queue/recipient-resolver.ts';
import { Router } from '../queue/router.ts';
import { QueueScheduler } from '../queue/scheduler.ts';
import { DsnNotifier } from '../queue/notifier.ts';
import { deliverToDomain } from '../queue/remote-delivery.ts';
import { DnsResolver } from '../dns/resolver.ts';
import { resolveMailHosts, resolveRelayHost } from '../dns/mx.ts';
import { parseHostPort } from '../config/values.ts';
import { SmtpClientConnection } from '../smtp/client/client-session.ts';
import type { ClientTlsOptions } from '../smtp/client/client-session.ts';
import type { SessionServices, SmtpRole } from '../smtp/server/ports.ts';
import { TlsContexts, checkTlsForListeners } from '../net/tls/contexts.ts';
import { tlsUpgrader } from '../net/tls/starttls.ts';
import { NetworkSet } from '../net/networks.ts';
import { authFromConfig } from '../auth/index.ts';
import { DkimSigner } from '../policy/dkim-sign.ts';
import { policyFromConfig } from '../policy/index.ts';
import { abuseHooks, junkLearner } from '../spam/defences.ts';
import { ImapServer } from '../imap/server/imap-server.ts';
import { Pop3Server } from '../pop3/server/pop3-server.ts';
import { InProcessMaildropLocks } from '../pop3/server/locks.ts';
import { NO_MAILBOX_EVENTS, type MailboxEvents } from '../imap/server/ports.ts';
import { summarizeMessage, serializeSummary } from '../message/mime/summary.ts';
import type { ListenRole } from '../config/types.ts';

export interface RunningServer {
  /** Bound ports per role (useful when the config asked for port 0). */
  ports: Partial<Record<SmtpRole | ListenRole, number>>;
  store: Store;
  /** The outbound scheduler: `wake()` after `queue retry`; `runOnce()` for tests. */
  queue: { wake(): void; runOnce(): Promise<void> };
  /** The TLS certificates in use; null when TLS is off (see TlsContexts.load). */
  tls: TlsContexts | null;
  /** Re-reads the certificate and key files (SIGHUP). Rejects with a message
   * naming the file on failure; the certificates in use then stay. */
  reloadTls(): Promise<void>;
  /** Graceful stop: no new connections, idle sessions get 421 4.3.2, DATA may
   * finish within `timeouts.shutdown_grace`, then the store closes. */
  close(reason?: string): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  /** Injected clock (tests). */
  now?: () => Date;
  /** Wraps the opened store (tests inject storage faults this way). */
  wrapStore?: (store: Store) => Store;
  /** IMAP mailbox events (COPY/MOVE/APPEND into Junk), e.g. for junk training; default none. */
  mailboxEvents?: MailboxEvents;
}

export async function startServer(config: Config, opts: StartOptions): Promise<RunningServer> {
  const log = opts.logger;
  // TLS before anything else: a bad certificate stops the start with a message
  // naming its key, and implicit-TLS listeners need a certificate.
  const tls = await TlsContexts.load(config, config.data_dir, log);
  checkTlsForListeners(config.listen, tls);
  // [store] url: embedded SQLite in data_dir, or PostgreSQL shared by several nodes.
  const opened = await openStore(config, {
    now: opts.now,
    listen: true,
    onBackgroundError: (err) => log.warn('store: PostgreSQL LISTEN connection trouble (retrying)', { error: err }),
  });
  const store = opts.wrapStore ? opts.wrapStore(opened) : opened;
  const limits = new ConnectionLimits(config.limits.connections, config.limits.connections_per_ip);
  const resolver = new RecipientResolver(store, { recipientDelimiter: config.delivery.recipient_delimiter });
  const now = opts.now ?? (() => new Date());
  // The outbound queue: the router stores remote recipients with the message,
  // the scheduler delivers them. The lease owner is stable for this node, so
  // after a crash the restarted process takes its own leases back at once
  // instead of waiting for them to expire (one process per data_dir).
  let scheduler: QueueScheduler | null = null;
  // Mail from logged-in users is DKIM-signed with the From domain's active keys (policy/dkim-sign.ts).
  const dkim = new DkimSigner({ store, now, log });
  const backend = new Router(store, resolver, log, {
    onQueued: () => scheduler?.wake(),
    notifyFinal: (n) => notifier.notifyFinal(n),
    dkimSign: (m) => dkim.sign({ queueId: m.queueId, traceHeader: m.traceHeader, content: m.content, envelopeDomain: m.from?.domain ?? null, user: m.user?.address ?? null }),
  });
  const dns = new DnsResolver({ servers: config.dns.servers, timeoutMs: config.dns.timeout });
  const q = config.queue;
  const dl = config.delivery;
  const relay = dl.relay ? parseHostPort(dl.relay) : null;
  const notifier = new DsnNotifier({ store, hostname: config.hostname, inject: (to, content, at) => backend.inject(to, content, at), now, log, maxAge: q.max_age });
  scheduler = new QueueScheduler({
    store,
    notifier,
    policy: { schedule: q.retry_schedule, maxAge: q.max_age, delayWarning: q.delay_warning },
    concurrency: q.concurrency,
    perDomain: q.concurrency_per_domain,
    leaseMs: q.lease,
    // On a shared database several nodes usually share `hostname` (the MX
    // name), so the owner also names the machine and the data directory.
    owner: usesPostgres(config) ? `node:${config.hostname}:${machineName()}:${resolvePath(config.data_dir)}` : `node:${config.hostname}`,
    now,
    log,
    deliver: (domain, claims, onClaimDone) =>
      deliverToDomain(
        {
          // With a smart host every remote domain goes there (one connection per batch, as by MX).
          resolveHosts: (d) => (relay ? resolveRelayHost(dns, relay.host) : resolveMailHosts(dns, d)),
          connect: (address, servername, plaintext) =>
            SmtpClientConnection.connect({
              host: address,
              port: relay ? relay.port : dl.port,
              heloName: dl.ehlo_name || config.hostname,
              connectTimeoutMs: q.connect_timeout,
              commandTimeoutMs: q.command_timeout,
              dataTimeoutMs: q.data_timeout,
              tls: relay ? relayTls(dl.relay_tls, servername) : { mode: plaintext ? 'none' : q.tls, servername },
              auth: relay && dl.relay_username ? { username: dl.relay_username, password: dl.relay_password } : undefined,
            }),
          plaintextFallback: !relay && q.tls === 'opportunistic',
          readBlob: (id) => store.readBlob(id),
          now,
          log,
          onClaimDone,
          // Half the lease: what is not sent by then is deferred, never sent twice by a second claim.
          deadline: now().getTime() + q.lease / 2,
        },
        domain,
        claims,
      ),
  });
  // On a shared database the login throttle's counts and lock-outs are shared too.
  let throttleState: PgThrottleState | undefined;
  if (opened instanceof PgStore) {
    throttleState = new PgThrottleState(opened.pool, opened.listener, opened.target.schema, (err) => log.warn('auth throttle: PostgreSQL trouble', { error: err }));
    await throttleState.start(Date.now());
  }
  const { authenticator, senderPolicy } = authFromConfig(store, config, log, throttleState ? { state: throttleState } : {});
  const trusted = new NetworkSet(config.relay.trusted_networks);
  const services: SessionServices = {
    backend,
    tls: tls && tlsUpgrader(tls, { handshakeTimeoutMs: config.timeouts.tls_handshake }),
    auth: authenticator,
    senderPolicy,
    isTrustedNetwork: (ip) => trusted.has(ip),
    // Ordered policy hooks (src/policy/): sender authentication, and later greylisting, spam …
    // Abuse defences (spam/defences.ts): rate limits, DNSBL, greylisting, then the spam filter last.
    policy: policyFromConfig(config, dns, log, abuseHooks({ config, store, dns, log, accountsFor: async (a) => {
      const r = await resolver.resolve(a);
      return r.kind === 'local' ? r.accounts.map((acc) => acc.id) : [];
    } }), now),
  };
  const servers: SmtpServer[] = [];
  const imapServers: ImapServer[] = [];
  const pop3Servers: Pop3Server[] = [];
  const ports: RunningServer['ports'] = {};
  try {
    for (const role of ['smtp', 'submission', 'submissions'] as const) {
      const address = config.listen[role];
      if (!address) continue;
      const implicitTls = role === 'submissions' && tls ? { options: () => tls.serverOptions(), describe: (s: TLSSocket) => tls.describe(s), attach: (srv: TlsServer) => tls.attach(srv) } : undefined;
      const server = new SmtpServer({ role, address, config, services, logger: log, limits, implicitTls, now: opts.now });
      ports[role] = await server.listen();
      servers.push(server);
    }
    // IMAP (RFC 9051): 143 with STARTTLS, 993 with TLS from the first byte.
    const imapServices = {
      store,
      auth: authenticator,
      tls: tls && tlsUpgrader(tls, { handshakeTimeoutMs: config.timeouts.tls_handshake }),
      // Moves into and out of Junk train the spam classifier (spam/training.ts).
      events: opts.mailboxEvents ?? junkLearner(store, now, log),
    };
    for (const role of ['imap', 'imaps'] as const) {
      const address = config.listen[role];
      if (!address) continue;
      const implicitTls = role === 'imaps' && tls ? { options: () => tls.serverOptions(), attach: (srv: TlsServer) => tls.attach(srv) } : undefined;
      const server = new ImapServer({ role, address, config, services: imapServices, logger: log, limits, implicitTls, now: opts.now, summarize: (c) => serializeSummary(summarizeMessage(c)) });
      ports[role] = await server.listen();
      imapServers.push(server);
    }
    // POP3 (RFC 1939): 110 with STLS, 995 with TLS from the first byte; one session per maildrop.
    const pop3Services = {
      store,
      auth: authenticator,
      tls: tls && tlsUpgrader(tls, { handshakeTimeoutMs: config.timeouts.tls_handshake }),
      // One POP3 session per maildrop across every node on a shared database.
      locks: opened instanceof PgStore ? new PgMaildropLocks(opened.pool, { onError: (err) => log.warn('POP3 locks: PostgreSQL trouble', { error: err }) }) : new InProcessMaildropLocks(),
    };
    for (const role of ['pop3', 'pop3s'] as const) {
      const address = config.listen[role];
      if (!address) continue;
      const implicitTls = role === 'pop3s' && tls ? { options: () => tls.serverOptions(), attach: (srv: TlsServer) => tls.attach(srv) } : undefined;
      const server = new Pop3Server({ role, address, config, services: pop3Services, logger: log, limits, implicitTls });
      ports[role] = await server.listen();
      pop3Servers.push(server);
    }
  } catch (err) {
    await Promise.all(pop3Servers.map((s) => s.close(0)));
    await Promise.all(imapServers.map((s) => s.close(0)));
    await Promise.all(servers.map((s) => s.close(0)));
    await store.close();
    throw err;
  }
  // Other nodes queueing mail (or giving leases back) wake this node's scheduler at once.
  if (opened instanceof PgStore) await opened.onQueueActivity(() => scheduler?.wake());
  scheduler.start();
  log.info('mailroom started', { hostname: config.hostname, data_dir: config.data_dir });
  let closing: Promise<void> | null = null;
  return {
    ports,
    store,
    queue: scheduler,
    tls,
    async reloadTls() {
      if (!tls) throw new Error('TLS is off (no certificate was loaded at start), so there is nothing to reload');
      await tls.reload();
    },
    close(reason = 'shutdown') {
      closing ??= (async () => {
        log.info('shutting down', { reason });
        await Promise.all([...servers, ...imapServers, ...pop3Servers].map((s) => s.close(config.timeouts.shutdown_grace)));
        await scheduler?.stop();
        await store.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}

/** The client's TLS options for the smart host ("required-unverified" is for tests only). */
function relayTls(mode: Config['delivery']['relay_tls'], servername: string): ClientTlsOptions {
  if (mode === 'required-unverified') return { mode: 'required', servername, rejectUnauthorized: false };
  return { mode, servername };
}
