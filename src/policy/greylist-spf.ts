// The SPF check greylisting uses to skip known-good senders at RCPT time
// (before the message, so before the full sender-authentication hook runs):
// RFC 7208 check_host() for the MAIL FROM identity via mailauth's SPF
// module, with every DNS question going through our DnsResolver
// (policy/sender-auth.ts resolverFor) and the RFC 7208 §4.6.4 limits.
import { createRequire } from 'node:module';
import type { DnsResolver } from '../dns/resolver.ts';
import { resolverFor } from './sender-auth.ts';

const require = createRequire(import.meta.url);
const { spf } = require('mailauth/lib/spf') as {
  spf: (o: Record<string, unknown>) => Promise<{ status?: { result?: string } }>;
};

export function spfPassCheck(dns: DnsResolver, hostname: string, timeoutMs = 10_000): (ip: string, helo: string | null, sender: string) => Promise<boolean> {
  const resolver = resolverFor(dns);
  return async (ip, helo, sender) => {
    const r = await spf({ sender, ip, helo: helo ?? undefined, mta: hostname, resolver, maxResolveCount: 10, maxVoidCount: 2, maxElapsedTime: timeoutMs });
    return r?.status?.result === 'pass';
  };
}
