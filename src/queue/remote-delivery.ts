// Delivers the queued recipients of one destination domain: resolves its mail
// hosts (RFC 5321 §5.1: MX by preference, implicit MX, RFC 7505 null MX),
// tries each host address in turn until one takes the session, then sends
// every claimed message over that one connection: one message to all its
// recipients at the domain, and several queued messages in a row (the client
// sends RSET between them when a transaction was left open). RFC 3461 DSN
// parameters go with each message (the client sends them only to a server
// that advertises DSN). Returns an outcome per recipient, the delivered
// recipients whose next hop had no DSN, and logs one line per recipient attempt.
import type { Logger } from '../log/logger.ts';
import type { MailRoute } from '../dns/mx.ts';
import type { AttemptOutcome, QueueClaim, QueueRecipient } from '../store/store.ts';
import type { SmtpClientConnection, OutboundEnvelope } from '../smtp/client/client-session.ts';
import { SmtpClientError } from '../smtp/client/errors.ts';
import { fromClientError, fromReply, type Verdict } from './outcome.ts';
import { stripReturnPath } from './notifier.ts';
import { decodeOrcpt, xtextDecode } from '../smtp/protocol/dsn-params.ts';

export interface RemoteDeliveryDeps {
  resolveHosts(domain: string): Promise<MailRoute>;
  /** Connects and says EHLO (STARTTLS when offered). `servername` is the MX host name.
   * `plaintext`: no STARTTLS this time (the fallback after a failed handshake). */
  connect(address: string, servername: string, plaintext?: boolean): Promise<SmtpClientConnection>;
  /** Opportunistic TLS (RFC 7435): when the STARTTLS handshake itself fails, connect to the
   * same address once more without TLS. Off for required TLS and the smart host. */
  plaintextFallback?: boolean;
  readBlob(blobId: string): Promise<Buffer>;
  now(): Date;
  log: Logger;
  /** Called as soon as every recipient of `claim` has a verdict, BEFORE the
   * next message goes out on the connection, so the scheduler can make the
   * outcome durable first: a crash then resends at most the one message whose
   * remote 250 was not yet recorded (the unavoidable window). */
  onClaimDone?(claim: QueueClaim, result: DomainResult): Promise<void>;
  /** No new message is started on a connection after this time (ms): the
   * leases must not run out while we still hold the recipients. */
  deadline?: number;
}

export interface DomainResult {
  outcomes: AttemptOutcome[];
  /** True when no host could be reached at all (the domain is backed off as a whole). */
  unreachable: boolean;
  /** Delivered recipients whose next hop did not advertise DSN, so their NOTIFY,
   * ORCPT, RET and ENVID went no further (RFC 3461 §6.2.3.1: we report "relayed"). */
  relayedWithoutDsn?: number[];
}

export async function deliverToDomain(deps: RemoteDeliveryDeps, domain: string, claims: QueueClaim[]): Promise<DomainResult> {
  const started = deps.now();
  const pending = new Map<number, { claim: QueueClaim; address: string }>();
  for (const c of claims) for (const r of c.message.recipients) pending.set(r.id, { claim: c, address: r.address });
  const outcomes: AttemptOutcome[] = [];
  const relayedWithoutDsn: number[] = [];
  const finish = (id: number, v: Verdict, host: string | null, tls: string | null) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    const at = deps.now();
    outcomes.push({ recipientId: id, result: v.result, reply: v.text, status: v.status, host, at });
    deps.log.info('delivery attempt', {
      queue: p.claim.message.queueId,
      rcpt: p.address,
      domain,
      host,
      tls: tls ?? 'no',
      result: v.result,
      status: v.status,
      reply: v.text,
      delay_s: Math.round((at.getTime() - p.claim.message.createdAt.getTime()) / 1000),
      ms: at.getTime() - started.getTime(),
    });
  };
  const finishAll = (v: Verdict, host: string | null) => {
    for (const id of [...pending.keys()]) finish(id, v, host, null);
  };
  const reported = new Set<QueueClaim>();
  /** Hands a finished message's outcomes to onClaimDone (once) and leaves them out of the final result. */
  const reportIfDone = async (claim: QueueClaim) => {
    if (!deps.onClaimDone || reported.has(claim)) return;
    const ids = new Set(claim.message.recipients.map((r) => r.id));
    for (const id of ids) if (pending.has(id)) return;
    reported.add(claim);
    const mine = (o: { recipientId: number }) => ids.has(o.recipientId);
    await deps.onClaimDone(claim, { outcomes: outcomes.filter(mine), unreachable: false, relayedWithoutDsn: relayedWithoutDsn.filter((id) => ids.has(id)) });
  };

  let route: MailRoute;
  try {
    route = await deps.resolveHosts(domain);
  } catch (err) {
    route = { kind: 'temporary', reason: (err as Error).message };
  }
  switch (route.kind) {
    case 'null_mx':
      finishAll({ result: 'failed', status: '5.1.10', text: `556 5.1.10 The domain ${domain} does not accept mail (null MX, RFC 7505)` }, null);
      return { outcomes, unreachable: false, relayedWithoutDsn };
    case 'no_domain':
      finishAll({ result: 'failed', status: '5.1.2', text: `550 5.1.2 The domain ${domain} does not exist (DNS NXDOMAIN)` }, null);
      return { outcomes, unreachable: false, relayedWithoutDsn };
    case 'no_hosts':
      finishAll({ result: 'failed', status: '5.4.4', text: `550 5.4.4 No mail host for ${domain}: ${route.reason}` }, null);
      return { outcomes, unreachable: false, relayedWithoutDsn };
    case 'temporary':
      finishAll({ result: 'deferred', status: '4.4.3', text: `451 4.4.3 DNS lookup for ${domain} failed: ${route.reason}` }, null);
      return { outcomes, unreachable: true, relayedWithoutDsn };
    case 'hosts':
      break;
  }

  let lastFailure: { v: Verdict; host: string } | null = null;
  let reachedAny = false;
  hosts: for (const host of route.hosts) {
    for (const address of host.addresses) {
      if (pending.size === 0) break hosts;
      const hostLabel = `${host.name}[${address}]`;
      let conn: SmtpClientConnection;
      try {
        conn = await connectWithFallback(deps, domain, address, host.name, hostLabel);
      } catch (err) {
        lastFailure = { v: err instanceof SmtpClientError ? fromClientError(err) : deferredError(err), host: hostLabel };
        deps.log.info('connection failed', { domain, host: hostLabel, reason: lastFailure.v.text });
        continue;
      }
      reachedAny = true;
      const tls = conn.tlsInfo ? conn.tlsInfo.version : null;
      try {
        for (const claim of claims) {
          const ids = claim.message.recipients.filter((r) => pending.has(r.id));
          if (ids.length === 0) continue;
          if (!conn.usable) break;
          if (deps.deadline !== undefined && deps.now().getTime() >= deps.deadline) {
            lastFailure = { v: { result: 'deferred', status: '4.4.2', text: 'not sent in this attempt: the connection reached its time limit; will retry' }, host: hostLabel };
            break hosts;
          }
          const content = stripReturnPath(await deps.readBlob(claim.message.blobId));
          const env = envelopeOf(claim, ids);
          let result;
          try {
            result = await conn.send(env, content);
          } catch (err) {
            // The session broke mid-transaction: these recipients stay pending for the next host.
            lastFailure = { v: err instanceof SmtpClientError ? fromClientError(err) : deferredError(err), host: hostLabel };
            break;
          }
          for (let i = 0; i < ids.length; i++) {
            const rr = result.recipients[i]!;
            let v = fromReply(rr.reply);
            // RFC 5321 §4.2.5: a recipient accepted at RCPT is delivered only if the content was too.
            if (v.result === 'delivered') v = result.data ? fromReply(result.data) : { result: 'deferred', status: '4.5.0', text: 'no reply to the message content' };
            finish(ids[i]!.id, v, hostLabel, tls);
            if (v.result === 'delivered' && !conn.capabilities.dsn) relayedWithoutDsn.push(ids[i]!.id);
          }
          await reportIfDone(claim);
        }
      } finally {
        await conn.quit().catch(() => conn.close());
      }
    }
  }
  for (const c of claims) await reportIfDone(c);
  if (pending.size > 0) {
    // Nobody took these: defer (or fail, when every host refused with 5xx) with the last reason.
    finishAll(lastFailure?.v ?? { result: 'deferred', status: '4.4.1', text: `451 4.4.1 No mail host for ${domain} could be reached` }, lastFailure?.host ?? null);
  }
  return { outcomes, unreachable: !reachedAny, relayedWithoutDsn };
}

/** Connects; in opportunistic mode a failed STARTTLS handshake gets one plaintext retry to the same address. */
async function connectWithFallback(deps: RemoteDeliveryDeps, domain: string, address: string, name: string, hostLabel: string): Promise<SmtpClientConnection> {
  try {
    return await deps.connect(address, name);
  } catch (err) {
    if (!(deps.plaintextFallback && err instanceof SmtpClientError && err.kind === 'tls' && err.phase === 'tls-handshake')) throw err;
    deps.log.warn('STARTTLS handshake failed, retrying in plaintext', { domain, host: hostLabel, reason: err.message });
    return await deps.connect(address, name, true);
  }
}

/** The client takes DSN values decoded and encodes them itself (smtp/client/commands.ts);
 * the queue keeps them as received (xtext). A value that does not decode is not sent on. */
function envelopeOf(claim: QueueClaim, ids: QueueRecipient[]): OutboundEnvelope {
  const m = claim.message;
  const envid = m.envid ? xtextDecode(m.envid) : null;
  return {
    from: m.sender,
    recipients: ids.map((r) => {
      const o = r.orcpt ? decodeOrcpt(r.orcpt) : null;
      const orcpt = o ? `${o.type};${o.address}` : undefined;
      return { address: r.address, dsn: r.notify || orcpt ? { notify: r.notify ?? undefined, orcpt } : undefined };
    }),
    smtputf8: m.smtputf8,
    eightBit: m.eightBit,
    dsn: m.ret || envid ? { ret: m.ret ?? undefined, envid: envid ?? undefined } : undefined,
  };
}

function deferredError(err: unknown): Verdict {
  return { result: 'deferred', status: '4.3.0', text: `local error: ${(err as Error)?.message ?? String(err)}` };
}
