// The policy-hook interface (DESIGN convention 9): what a policy check is
// handed, what it may answer, and how answers combine. Every inbound check —
// sender authentication (SPF/DKIM/DMARC/ARC, src/policy/sender-auth-hook.ts),
// and later greylisting, rate limits, DNSBL and spam scoring — is a PolicyHook.
//
// How it works
// - A hook is an object with a `name` and one async function per stage it
//   cares about: `connect` (client IP known, before the greeting), `mail`
//   (after MAIL FROM is parsed and accepted by the session's own checks),
//   `rcpt` (after the backend accepted the recipient), `data` (the whole
//   message has been received, before it is stored).
// - Hooks run in the order they were registered (server/server.ts builds the
//   list), one stage at a time. A stage with no hook costs nothing: the
//   session asks `pipeline.has(stage)` first.
// - A hook answers with zero or more Verdicts (see below). It never writes
//   the socket and never throws on purpose; a throw is logged and treated as
//   the hook's `onError` (default: defer with 451 4.3.0, so a bug never loses
//   mail and never lets it through unchecked).
// - The first `reject` or `defer` ends the stage: later hooks do not run and
//   the session sends that reply (DATA: instead of storing the message).
//   Everything else accumulates: headers are prepended in hook order, scores
//   add up (`ctx.verdicts` shows what earlier hooks said, so a spam hook that
//   runs last can turn the total into a folder), folder choices are per
//   recipient (a later hook overrides an earlier one), notes go into the
//   transaction's log line.
// - Trust: by default a hook is `scope: 'inbound'`, and is skipped for a
//   client that logged in (submission) or comes from `relay.trusted_networks`.
//   A hook that must see those too (e.g. an outbound rate limit) says
//   `scope: 'all'` and reads `ctx.trust`.
// - Replies come from the catalogue (src/smtp/protocol/reply.ts, `R`), which
//   is pure and sits below policy/; a hook may also build one with `reply()`.
//   A defer must be 4xx and a reject 5xx: `verdict.defer`/`verdict.reject`
//   check it.
//
// What the session does with the outcome (src/smtp/server/commands.ts):
// connect: reject → `554` and close, defer → `421` and close; mail/rcpt:
// the reply instead of `250`; data: the reply instead of storing, or else the
// headers go on top of the message (above our Received:), header removals are
// applied to the received header section, and folder choices travel with each
// recipient to the router (DeliveryRecipient.mailbox).
import type { MailAddress } from '../smtp/protocol/address.ts';
import type { Reply } from '../smtp/protocol/reply.ts';

export type PolicyStage = 'connect' | 'mail' | 'rcpt' | 'data';

/** Why inbound checks may be skipped: the client logged in, or its IP is in
 * `relay.trusted_networks`; `none` = a stranger (port 25 mail from outside). */
export type Trust = 'authenticated' | 'trusted-network' | 'none';

/** Known at connect time. */
export interface ConnectContext {
  stage: PolicyStage;
  sessionId: string;
  clientIp: string;
  /** The listener's role: `smtp` (MX, port 25), `submission`, `submissions`. */
  role: 'smtp' | 'submission' | 'submissions';
  trust: Trust;
  /** TLS is up (STARTTLS done or implicit TLS). */
  tls: { version: string; cipher: string; bits: number } | null;
  /** The server's own name (authserv-id for Authentication-Results). */
  hostname: string;
  now: Date;
  /** What earlier hooks of this stage answered (read-only). */
  verdicts: readonly Verdict[];
}

/** After MAIL FROM. */
export interface MailContext extends ConnectContext {
  /** HELO/EHLO argument as given. */
  helo: string | null;
  /** null for the null reverse-path `<>`. */
  from: MailAddress | null;
  /** The logged-in account's address, if any. */
  user: string | null;
  queueId: string;
}

/** After the backend accepted one RCPT TO. */
export interface RcptContext extends MailContext {
  recipient: MailAddress;
  /** Recipients accepted before this one. */
  accepted: readonly MailAddress[];
}

/** One accepted recipient at end of DATA; `index` is what folder verdicts name. */
export interface PolicyRecipient {
  index: number;
  address: MailAddress;
}

/** The whole message has been received (DATA or BDAT LAST). */
export interface DataContext extends MailContext {
  recipients: readonly PolicyRecipient[];
  /** The message exactly as received (CRLF lines, dot-unstuffed), without our
   * Received: line. Do not modify; use the `removeHeaders` verdict. */
  content: readonly Buffer[];
  size: number;
  /** `content` as one Buffer (concatenated once, on first call). */
  message(): Buffer;
}

export type StageContext = {
  connect: ConnectContext;
  mail: MailContext;
  rcpt: RcptContext;
  data: DataContext;
};

/** A named scoring rule (for spam scoring; positive = more suspicious). */
export interface ScoreRule {
  name: string;
  score: number;
  /** Short description for logs and an X-Spam-like header. */
  description?: string;
}

/** What a hook may answer. Build them with the `verdict` helpers in pipeline.ts. */
export type Verdict =
  /** Nothing to object to (same as answering nothing). */
  | { kind: 'accept'; hook?: string }
  /** Refuse permanently (5xx reply); ends the stage. `reason` goes to the log. */
  | { kind: 'reject'; reply: Reply; reason: string; hook?: string }
  /** Refuse for now (4xx reply); ends the stage. */
  | { kind: 'defer'; reply: Reply; reason: string; hook?: string }
  /** Prepend header fields (data stage only); each a complete field, CRLF-terminated,
   * folded if long. */
  | { kind: 'headers'; fields: string[]; hook?: string }
  /** Remove header fields from the received header section before storing (data
   * stage only), e.g. forged Authentication-Results with our authserv-id (RFC 8601 §5). */
  | { kind: 'removeHeaders'; match: (name: string, value: string) => boolean; reason: string; hook?: string }
  /** Add to the message's score. */
  | { kind: 'score'; rules: ScoreRule[]; hook?: string }
  /** Deliver to this mailbox (e.g. 'Junk') instead of INBOX for the listed
   * recipients (indexes into DataContext.recipients), or all when omitted
   * (data stage only). */
  | { kind: 'folder'; folder: string; recipients?: number[]; reason: string; hook?: string }
  /** Fields for the transaction's log line (e.g. `{ auth: 'spf=pass dkim=pass' }`). */
  | { kind: 'note'; fields: Record<string, unknown>; hook?: string };

export type HookAnswer = Verdict | Verdict[] | void | undefined;

export interface PolicyHook {
  /** Short, stable, shown in logs ("sender-auth", "greylist", "dnsbl"). */
  name: string;
  /** 'inbound' (default): skipped when ctx.trust is not 'none'. */
  scope?: 'inbound' | 'all';
  /** What a throw means: 'defer' (default, 451 4.3.0) or 'continue' (log and go on). */
  onError?: 'defer' | 'continue';
  connect?(ctx: ConnectContext): Promise<HookAnswer>;
  mail?(ctx: MailContext): Promise<HookAnswer>;
  rcpt?(ctx: RcptContext): Promise<HookAnswer>;
  data?(ctx: DataContext): Promise<HookAnswer>;
}

/** The combined answer of one stage. */
export interface StageOutcome {
  /** accept: go on; reject/defer: send `reply` instead. */
  action: 'accept' | 'reject' | 'defer';
  reply: Reply | null;
  /** The hook that rejected or deferred, and why (for the log line). */
  decidedBy: string | null;
  reason: string | null;
  /** Header fields to prepend, in order. */
  headers: string[];
  removeHeaders: { match: (name: string, value: string) => boolean; reason: string; hook: string }[];
  score: number;
  rules: (ScoreRule & { hook: string })[];
  /** Recipient index → mailbox; recipients not listed go to INBOX. */
  folders: Map<number, { folder: string; hook: string; reason: string }>;
  /** Merged note fields for the log line. */
  notes: Record<string, unknown>;
  /** Every verdict, tagged with its hook. */
  verdicts: Verdict[];
}
