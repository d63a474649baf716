// The sender-authentication policy hook ("sender-auth"), at the end of DATA
// for mail from outside (skipped for logged-in users and trusted networks):
// removes Authentication-Results fields that claim our authserv-id (RFC 8601
// §5), checks SPF/DKIM/DMARC/ARC (sender-auth.ts), prepends our
// Authentication-Results and Received-SPF, and applies the decision of
// dmarc-policy.ts: refuse (550 5.7.1), defer (451 4.7.x), Junk, or deliver.
// The transaction log line gets `auth` (the results) and `auth_decision`
// (which check decided, and why).
import { verdict } from './pipeline.ts';
import { buildAuthResults, buildReceivedSpf, claimsAuthservId } from './authentication-results.ts';
import { decide, type AuthPolicySettings } from './dmarc-policy.ts';
import type { SenderAuth } from './sender-auth.ts';
import type { DataContext, PolicyHook, Verdict } from './types.ts';
import { formatAddress } from '../smtp/protocol/address.ts';

export function senderAuthHook(auth: SenderAuth, settings: AuthPolicySettings): PolicyHook {
  return {
    name: 'sender-auth',
    async data(ctx: DataContext): Promise<Verdict[]> {
      const out: Verdict[] = [
        verdict.removeHeaders((name, value) => claimsAuthservId(name, value, ctx.hostname), 'Authentication-Results with our authserv-id from outside (RFC 8601 §5)'),
      ];
      const r = await auth.check({ message: ctx.message(), clientIp: ctx.clientIp, helo: ctx.helo, mailFrom: ctx.from ? formatAddress(ctx.from) : null });
      const d = decide(r, settings);
      out.push(verdict.note({ auth: r.summary, ...(d.decidedBy ? { auth_decision: { by: d.decidedBy, action: d.action, reason: d.reason } } : {}) }));
      if (d.action === 'reject') return [...out, verdict.reject(d.reply, d.reason)];
      if (d.action === 'defer') return [...out, verdict.defer(d.reply, d.reason)];
      // RFC 8617 §7.2: an override by a trusted ARC chain is noted in a comment on the dmarc entry.
      const methods = d.decidedBy === 'arc' ? r.methods.map((m) => (m.startsWith('dmarc=') ? `${m} (overridden: ARC sealed by trusted forwarder)` : m)) : r.methods;
      // RFC 8601 §5: Authentication-Results goes above the other trace fields, Received-SPF (RFC 7208 §9.1) with it.
      out.push(verdict.headers(buildAuthResults(ctx.hostname, methods), ...(r.receivedSpf ? [buildReceivedSpf(r.receivedSpf)] : [])));
      if (d.action === 'junk') out.push(verdict.folder('Junk', `${d.decidedBy}: ${d.reason}`));
      return out;
    },
  };
}
