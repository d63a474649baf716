// Where the SMTP session meets the policy pipeline (src/policy/): builds each
// stage's context from the session and transaction, runs the stage, and turns
// the outcome into what the session does next. Hooks never see the socket
// (DESIGN convention 9); the session applies their verdicts here. Without a
// pipeline, or with no hook for a stage, these return at once.
import type { PolicyStage, StageOutcome, Trust } from '../../policy/types.ts';
import { folderFor } from '../../policy/pipeline.ts';
import { removeHeaderFields } from '../../policy/header-section.ts';
import type { MailAddress } from '../protocol/address.ts';
import { reply, type Reply } from '../protocol/reply.ts';
import type { Transaction } from './commands.ts';
import type { SmtpSession } from './session.ts';

/** Whose mail this is: inbound hooks skip logged-in users and trusted networks. */
export function sessionTrust(s: SmtpSession): Trust {
  if (s.user) return 'authenticated';
  if (s.services.isTrustedNetwork(s.clientIp)) return 'trusted-network';
  return 'none';
}

function wants(s: SmtpSession, stage: PolicyStage): boolean {
  const p = s.services.policy;
  return !!p && p.has(stage);
}

function base(s: SmtpSession) {
  return { sessionId: s.id, clientIp: s.clientIp, role: s.role, trust: sessionTrust(s), tls: s.tlsInfo, hostname: s.config.hostname, now: s.now() };
}

function mailBase(s: SmtpSession, tx: Transaction) {
  return { ...base(s), helo: s.helo, from: tx.from, user: s.user?.address ?? null, queueId: tx.queueId };
}

/** Before the greeting. Reject → 554 (RFC 5321 §3.1), defer → 421 (§3.8); the session then closes. */
export async function connectPolicy(s: SmtpSession): Promise<Reply | null> {
  if (!wants(s, 'connect')) return null;
  const out = await s.services.policy!.run('connect', base(s), s.log);
  if (out.action === 'accept') return null;
  logDecision(s, 'connect', out);
  const text = out.reply?.lines[0] ?? 'Service not available';
  return out.action === 'reject' ? reply(554, '5.7.1', text) : reply(421, '4.7.0', text);
}

/** After MAIL FROM passed the session's own checks: null = go on, else the reply instead of 250. */
export async function mailPolicy(s: SmtpSession, tx: Transaction): Promise<Reply | null> {
  if (!wants(s, 'mail')) return null;
  const out = await s.services.policy!.run('mail', mailBase(s, tx), s.log);
  if (out.action === 'accept') return null;
  logDecision(s, 'mail', out);
  return out.reply;
}

/** After the backend accepted a recipient: null = go on, else the reply instead of 250. */
export async function rcptPolicy(s: SmtpSession, tx: Transaction, recipient: MailAddress): Promise<Reply | null> {
  if (!wants(s, 'rcpt')) return null;
  const out = await s.services.policy!.run('rcpt', { ...mailBase(s, tx), recipient, accepted: tx.recipients.map((r) => r.address) }, s.log);
  if (out.action === 'accept') return null;
  logDecision(s, 'rcpt', out, { rcpt: recipient });
  return out.reply;
}

export interface DataPolicyResult {
  /** Set when the message must not be stored: send this instead. */
  reply: Reply | null;
  /** Header fields to put on top of the message (CRLF-terminated), possibly ''. */
  headers: string;
  /** The content after header removals (the same pieces when none). */
  content: Buffer[];
  /** Per accepted recipient: the mailbox chosen for it, or null (INBOX). */
  folders: (string | null)[];
  /** Fields for the transaction log line. */
  log: Record<string, unknown>;
}

/** At the end of DATA/BDAT, before the message is stored. */
export async function dataPolicy(s: SmtpSession, tx: Transaction, content: Buffer[], size: number): Promise<DataPolicyResult> {
  const none: DataPolicyResult = { reply: null, headers: '', content, folders: tx.recipients.map(() => null), log: {} };
  if (!wants(s, 'data')) return none;
  let whole: Buffer | null = null;
  const out = await s.services.policy!.run(
    'data',
    {
      ...mailBase(s, tx),
      recipients: tx.recipients.map((r, index) => ({ index, address: r.address })),
      content,
      size,
      message: () => (whole ??= content.length === 1 ? content[0] : Buffer.concat(content)),
    },
    s.log,
  );
  const log = logFields(out);
  if (out.action !== 'accept') return { ...none, reply: out.reply, log };
  let body = content;
  for (const rm of out.removeHeaders) {
    const r = removeHeaderFields(body, rm.match);
    if (r.removed > 0) s.log.info('header fields removed', { queue: tx.queueId, hook: rm.hook, reason: rm.reason, count: r.removed });
    body = r.content;
  }
  return { reply: null, headers: out.headers.join(''), content: body, folders: tx.recipients.map((_, i) => folderFor(out, i)), log };
}

/** The policy part of the transaction log line: who decided, the score, folders, notes. */
function logFields(out: StageOutcome): Record<string, unknown> {
  const f: Record<string, unknown> = { ...out.notes };
  if (out.decidedBy) f.policy = { decided_by: out.decidedBy, reason: out.reason, action: out.action };
  if (out.rules.length > 0) f.score = { total: out.score, rules: out.rules.map((r) => `${r.name}=${r.score}`) };
  if (out.folders.size > 0) f.folders = [...out.folders].map(([i, v]) => ({ rcpt: i < 0 ? 'all' : i, folder: v.folder, by: v.hook, reason: v.reason }));
  return f;
}

function logDecision(s: SmtpSession, stage: PolicyStage, out: StageOutcome, extra: Record<string, unknown> = {}): void {
  s.log.info(out.action === 'reject' ? 'policy rejected' : 'policy deferred', {
    stage,
    decided_by: out.decidedBy,
    reason: out.reason,
    reply: out.reply ? `${out.reply.code} ${out.reply.enhanced ?? ''}`.trim() : null,
    ...extra,
    ...out.notes,
  });
}
