// A set of IP networks (CIDR) such as the trusted networks that may relay
// without logging in. Built on node:net BlockList; IPv4-mapped IPv6 clients
// (::ffff:1.2.3.4) match IPv4 entries.
import net from 'node:net';

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket, RFC 4291 §2.5.5.2)
 * is 1.2.3.4: logged, limited, greylisted and looked up as IPv4. Any other
 * string is returned as it is. */
export function normalizeIp(ip: string): string {
  return ip.length > 7 && ip.slice(0, 7).toLowerCase() === '::ffff:' && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
}

export class NetworkSet {
  readonly #list = new net.BlockList();
  readonly size: number;

  /** Throws an Error naming the bad entry. */
  constructor(cidrs: readonly string[]) {
    for (const c of cidrs) {
      const [addr, bits, extra] = c.trim().split('/');
      const family = net.isIPv4(addr) ? 'ipv4' : net.isIPv6(addr) ? 'ipv6' : null;
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      if (!family || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
        throw new Error(`not an IP network: "${c}" (expected e.g. "192.0.2.0/24" or "2001:db8::/32")`);
      }
      this.#list.addSubnet(addr, prefix, family);
    }
    this.size = cidrs.length;
  }

  has(ip: string): boolean {
    if (this.size === 0) return false;
    const v4 = normalizeIp(ip);
    if (net.isIPv4(v4)) return this.#list.check(v4, 'ipv4');
    if (net.isIPv6(v4)) return this.#list.check(v4, 'ipv6');
    return false;
  }
}
