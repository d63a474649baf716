// What to do with a message once its sender authentication is known: a pure
// function from the results (sender-auth.ts) and the `[auth_checks]` settings
// to one decision, naming the check that decided (for the log line).
//
// Order of the rules:
// 1. DMARC `fail` under `p=reject` (RFC 7489 §6.6.2 / §10.3): refused at the
//    end of DATA with `550 5.7.1` and the reason, unless a valid ARC chain
//    (RFC 8617 §7.2) whose newest sealer is a configured trusted forwarder
//    vouches for it. `p=quarantine`: the recipients' Junk folder.
//    When SPF or DKIM could not be checked (temperror), the failure may not be
//    real: the message is deferred (`451 4.7.x`) rather than refused, per
//    RFC 7489 §6.6.2 / RFC 9989 §5.3.4 ("MAY ... defer"), if temperror_policy
//    is "defer".
// 2. DMARC `temperror` (the policy record could not be fetched): deferred
//    with `451 4.7.1` if temperror_policy is "defer" and nothing passed
//    aligned (RFC 7489 §6.6.3 lets receivers defer).
// 3. SPF `fail` (RFC 7208 §8.4), unless DMARC passed: `spf_fail_policy` — mark (only recorded,
//    the default), junk, or reject (`550 5.7.23`, RFC 7372 §3.2). With
//    "reject", an SPF `temperror` defers (`451 4.7.24`, RFC 7208 §8.6 /
//    RFC 7372 §3.2), since the answer could have been fail.
// 4. Otherwise: deliver, with the results recorded in Authentication-Results.
import { reply, type Reply } from '../smtp/protocol/reply.ts';
import type { SenderAuthResult } from './sender-auth.ts';
import { relaxedAligned } from './psl.ts';

export interface AuthPolicySettings {
  /** What a DMARC failure's published policy is allowed to do here. */
  dmarc_policy: 'enforce' | 'junk' | 'mark';
  spf_fail_policy: 'mark' | 'junk' | 'reject';
  /** Domains whose ARC seal may override a DMARC failure (a subdomain counts). */
  trusted_arc_forwarders: readonly string[];
  temperror_policy: 'defer' | 'accept';
}

export type AuthDecision =
  | { action: 'deliver'; decidedBy: string | null; reason: string | null }
  | { action: 'junk'; decidedBy: string; reason: string }
  | { action: 'reject' | 'defer'; decidedBy: string; reason: string; reply: Reply };

export function decide(r: SenderAuthResult, s: AuthPolicySettings): AuthDecision {
  const dm = r.dmarc;
  const from = dm.fromDomain ?? 'the From domain';
  const anyTemp = r.spf.result === 'temperror' || r.dkim.some((d) => d.result === 'temperror');

  if (dm.result === 'fail' && (dm.policy === 'reject' || dm.policy === 'quarantine') && s.dmarc_policy !== 'mark') {
    const forwarder = trustedArc(r, s.trusted_arc_forwarders);
    if (forwarder) {
      return { action: 'deliver', decidedBy: 'arc', reason: `DMARC failure of ${from} (p=${dm.policy}) overridden: valid ARC chain sealed by trusted forwarder ${forwarder}` };
    }
    if (anyTemp && s.temperror_policy === 'defer') {
      return {
        action: 'defer',
        decidedBy: 'dmarc',
        reason: `DMARC of ${from} would fail (p=${dm.policy}) but ${r.spf.result === 'temperror' ? 'SPF' : 'DKIM'} could not be checked (temperror)`,
        reply: reply(451, '4.7.1', `Sender authentication for ${from} could not be completed (DNS temporary error), try again later`),
      };
    }
    if (dm.policy === 'reject' && s.dmarc_policy === 'enforce') {
      // RFC 7489 §10.3 / RFC 7372: the reply names the reason.
      return {
        action: 'reject',
        decidedBy: 'dmarc',
        reason: `DMARC policy of ${from} is reject and the message failed it (SPF and DKIM not aligned)`,
        reply: reply(550, '5.7.1', `Message rejected: the DMARC policy of ${from} is reject, and neither SPF nor DKIM passed aligned with it`),
      };
    }
    return { action: 'junk', decidedBy: 'dmarc', reason: `DMARC failure of ${from} (p=${dm.policy}): delivered to Junk` };
  }

  if (dm.result === 'temperror' && s.temperror_policy === 'defer' && !alignedPass(r)) {
    return {
      action: 'defer',
      decidedBy: 'dmarc',
      reason: `DMARC policy of ${from} could not be fetched (temperror)`,
      reply: reply(451, '4.7.1', `Sender authentication for ${from} could not be completed (DNS temporary error), try again later`),
    };
  }

  // "SPF fail alone": when DMARC passed (an aligned DKIM signature vouches for
  // the From domain, as for forwarded mail whose SPF breaks), SPF fail is only
  // recorded (RFC 7489 §10.1 warns against SPF rejections that pre-empt DMARC).
  const dmarcPassed = dm.result === 'pass';
  if (r.spf.result === 'fail' && s.spf_fail_policy !== 'mark' && !dmarcPassed) {
    const what = `SPF fail for ${r.spf.identity === 'helo' ? 'HELO' : 'MAIL FROM'} domain ${r.spf.domain || '(none)'}`;
    if (s.spf_fail_policy === 'reject') {
      // RFC 7208 §8.4: the exp= text may be returned to the sender.
      const exp = r.spf.explanation ? `: ${r.spf.explanation}` : '';
      return { action: 'reject', decidedBy: 'spf', reason: what, reply: reply(550, '5.7.23', `Message rejected: SPF check failed for ${r.spf.domain}${exp}`) };
    }
    return { action: 'junk', decidedBy: 'spf', reason: `${what}: delivered to Junk` };
  }

  if (r.spf.result === 'temperror' && s.spf_fail_policy === 'reject' && s.temperror_policy === 'defer' && !dmarcPassed) {
    return {
      action: 'defer',
      decidedBy: 'spf',
      reason: `SPF temperror for ${r.spf.domain || '(none)'}`,
      reply: reply(451, '4.7.24', `SPF check for ${r.spf.domain} could not be completed (DNS temporary error), try again later`),
    };
  }

  if (dm.result === 'fail') return { action: 'deliver', decidedBy: 'dmarc', reason: `DMARC failure of ${from} with p=${dm.policy ?? 'none'}: only recorded` };
  if (r.spf.result === 'fail') return { action: 'deliver', decidedBy: 'spf', reason: dmarcPassed && s.spf_fail_policy !== 'mark' ? 'SPF fail: only recorded (DMARC passed)' : 'SPF fail: only recorded (spf_fail_policy = "mark")' };
  return { action: 'deliver', decidedBy: null, reason: null };
}

/** Did SPF or a DKIM signature pass aligned with the From domain? */
function alignedPass(r: SenderAuthResult): boolean {
  return r.dkim.some((d) => d.result === 'pass' && d.aligned) || (r.spf.result === 'pass' && !!r.dmarc.fromDomain && sameOrg(r.spf.domain, r.dmarc.fromDomain));
}

/** RFC 7489 §3.1.1: relaxed alignment, organisational domains from the Public Suffix List. */
function sameOrg(a: string, b: string): boolean {
  return a !== '' && relaxedAligned(a, b);
}

/** The newest ARC sealer if the chain passed and it is trusted (RFC 8617 §7.2), else null. */
export function trustedArc(r: SenderAuthResult, trusted: readonly string[]): string | null {
  if (r.arc.result !== 'pass' || r.arc.sealers.length === 0 || trusted.length === 0) return null;
  const newest = r.arc.sealers[r.arc.sealers.length - 1];
  return trusted.some((t) => newest === t.toLowerCase() || newest.endsWith('.' + t.toLowerCase())) ? newest : null;
}
