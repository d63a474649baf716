// Builds the policy pipeline from the configuration: the ordered list of hooks
// (DESIGN convention 9). Order matters: checks that refuse cheaply come first,
// scoring that reads earlier verdicts comes last. Add new hooks here.
import type { Config } from '../config/types.ts';
import type { DnsResolver } from '../dns/resolver.ts';
import type { Logger } from '../log/logger.ts';
import { PolicyPipeline } from './pipeline.ts';
import { SenderAuth, resolverFor } from './sender-auth.ts';
import { senderAuthHook } from './sender-auth-hook.ts';
import type { PolicyHook } from './types.ts';

export function policyFromConfig(config: Config, dns: DnsResolver, log: Logger, extra: readonly PolicyHook[] = [], now?: () => Date): PolicyPipeline {
  const hooks: PolicyHook[] = [];
  const a = config.auth_checks;
  if (a.enabled) {
    const auth = new SenderAuth({
      resolver: resolverFor(dns),
      authservId: config.hostname,
      strict: a.strict,
      minRsaBits: a.min_rsa_bits,
      timeoutMs: a.timeout,
      now,
    });
    hooks.push(senderAuthHook(auth, a));
  }
  hooks.push(...extra);
  return new PolicyPipeline(hooks, log);
}
