// Every configuration key in one table: its path, kind of value, default and
// one-line doc. This table drives the defaults and validation (load.ts), the
// generated mailroom.example.toml (example.ts) and the test that the example
// file is complete. Defaults are written the way a user would write them in
// TOML ("50M", "5m") and go through the same parser as user values. A
// compile-time check below keeps this table and the Config type in step.

import { hostname } from 'node:os';
import type { Config, ListenAddress } from './types.ts';
import type { ValueType } from './values.ts';
import { dnsServerList } from './dns-servers.ts';
import { networkList } from './network-list.ts';
import { storeUrl } from './store-url.ts';
import { durationList } from './duration-list.ts';
import { points, zoneList } from './abuse-values.ts';
import { domainList } from './domain-list.ts';
import { anyText, boolean, certificateList, cipherList, delimiters, duration, hostName, listenAddress, oneOf, optionalHostName, optionalHostPort, size, text, wholeNumber } from './values.ts';

export interface SchemaEntry<T = unknown> {
  /** Dotted key path, e.g. `limits.recipients`. */
  readonly path: string;
  readonly type: ValueType<T>;
  /** Default as written in TOML; undefined = the key is absent unless set. */
  readonly default: string | number | boolean | readonly [] | undefined;
  /** A default computed at start-up (replaces `default`); `shown` is its doc. */
  readonly dynamicDefault?: { readonly shown: string; readonly get: () => string };
  /** Used instead of `default` only when there is no configuration file at all. */
  readonly defaultWithoutFile?: string;
  /** One line: what the key does. */
  readonly doc: string;
  /** More lines for the example file and reference. */
  readonly notes?: readonly string[];
  /** Value shown in the example file when the default is dynamic or absent. */
  readonly example?: string;
}

export interface SchemaSection {
  readonly name: string;
  readonly doc: readonly string[];
}

/** Tables of the configuration file, in the order the example file shows them. */
export const SECTIONS: readonly SchemaSection[] = [
  { name: '', doc: [] },
  {
    name: 'listen',
    doc: [
      `Where each role listens: "host:port", "[::1]:25", or ":25" for all interfaces.`,
      'In a configuration file a role that is left out is not started. With no',
      'configuration file at all, SMTP listens on 0.0.0.0:2525, submission on',
      '0.0.0.0:2587, submissions on 0.0.0.0:2465, IMAP on 2143, IMAPS on 2993,',
      'POP3 on 2110 and POP3S on 2995 (no root needed).',
    ],
  },
  {
    name: 'store',
    doc: [
      'Where accounts, mail and the queue live. By default an embedded SQLite database in',
      'data_dir. Several nodes serving the same domains share one PostgreSQL database',
      '(docs/deployment.md); `mailroom migrate` moves an existing installation there.',
    ],
  },
  { name: 'limits', doc: ['Limits on what one client can make the server do (each has its own SMTP reply).'] },
  { name: 'timeouts', doc: ['Deadlines. Durations are written "250ms", "30s", "5m", "1h", "2d" or combined ("1h30m").'] },
  { name: 'delivery', doc: ['Delivery to local accounts, and how remote hosts are reached.'] },
  {
    name: 'auth',
    doc: [
      'Logins (SMTP AUTH, and IMAP/POP3 later): brute-force protection shared by every',
      'protocol. Failures are counted per client IP and per account in a sliding window.',
    ],
  },
  {
    name: 'relay',
    doc: [
      'Who may send mail to other domains through this server. Logged-in users (submission)',
      'always may; strangers on port 25 may only deliver to our own domains.',
    ],
  },
  {
    name: 'proxy_protocol',
    doc: [
      'Connections from a load balancer that speaks the PROXY protocol (HAProxy v1 text or',
      'v2 binary) carry the real client address in a header; every listener (SMTP, IMAP,',
      'POP3) then logs, limits and greylists by that address. Only trusted peers may send it.',
    ],
  },
  { name: 'smtp', doc: ['SMTP protocol behaviour.'] },
  {
    name: 'tls',
    doc: [
      'TLS for STARTTLS (SMTP, RFC 3207) and implicit TLS (submissions, RFC 8314).',
      'Settings follow RFC 9325 (BCP 195). `kill -HUP <pid>` re-reads the certificate',
      'and key files (e.g. after a renewal) without dropping connections.',
    ],
  },
  {
    name: 'queue',
    doc: [
      'Outbound delivery to other domains: retries, expiry, delay warnings and politeness.',
      'Messages wait in the store; a crash or restart loses nothing queued.',
    ],
  },
  { name: 'dns', doc: ['DNS lookups for outbound delivery (MX, A, AAAA) and sender checks.'] },
  {
    name: 'dkim',
    doc: [
      'Outbound DKIM signing (RFC 6376, Ed25519 per RFC 8463). Keys are made with `mailroom dkim',
      'keygen`; `mailroom dkim rotate` publishes a new key first and retires the old one later.',
    ],
  },
  {
    name: 'auth_checks',
    doc: [
      'Sender authentication of mail from outside (port 25): SPF (RFC 7208), DKIM (RFC 6376,',
      '8463), DMARC (RFC 7489) and ARC (RFC 8617). Results go into an Authentication-Results',
      'header; logged-in users and trusted networks are not checked.',
    ],
  },
  { name: 'log', doc: ['Logging: one JSON object per line on stderr.'] },
  { name: 'imap', doc: ['IMAP sessions (RFC 9051): limits on commands and the autologout timer.'] },
  { name: 'pop3', doc: ['POP3 sessions (RFC 1939): the command line limit and the autologout timer.'] },
  {
    name: 'greylist',
    doc: [
      'Greylisting (RFC 6647): the first attempt of an unknown (client network, sender,',
      'recipient) triplet from a stranger on port 25 gets "450 4.7.1 Try again later".',
      'Real mail servers retry; many spam senders do not. It delays first mail, so it is off by default.',
    ],
  },
  {
    name: 'rate_limit',
    doc: [
      'Sending rate limits. Over a limit, MAIL or RCPT gets "450 4.7.1 Too many messages, slow down"',
      '(mail already accepted is never dropped); a connection flood gets "421 4.7.0" and is closed.',
      'Concurrent connections per IP are limits.connections_per_ip. Per-account overrides:',
      '`mailroom spam ratelimit ADDRESS MESSAGES_PER_HOUR RECIPIENTS_PER_DAY`.',
    ],
  },
  {
    name: 'dnsbl',
    doc: [
      'DNS blocklists and allowlists (RFC 5782), checked for clients on port 25 when they connect,',
      'and URI blocklists for the links in a message. Each zone is "zone:reject" (refuse with',
      '"554 5.7.1" and the list\'s reason), "zone:score=N" (add N spam points) or "zone:allow".',
    ],
  },
  {
    name: 'spam',
    doc: [
      'The spam filter: explainable rules plus a classifier that learns from users (moving a',
      'message into Junk over IMAP teaches it spam, out of Junk ham). Every scored message gets',
      'X-Spam-Score and X-Spam-Status headers naming the rules that fired and their points.',
    ],
  },
];

export const SCHEMA = [
  {
    path: 'hostname',
    type: hostName(),
    default: undefined,
    dynamicDefault: { shown: "this machine's host name", get: () => hostname() },
    example: 'mail.example.org',
    doc: 'Name used in the SMTP banner, EHLO reply and Received headers.',
  },
  {
    path: 'data_dir',
    type: text('a directory path'),
    default: './data',
    doc: 'Where the embedded store (SQLite database and message files) lives.',
    notes: ['A relative path is relative to the working directory of the process.'],
  },
  {
    path: 'store.url',
    type: storeUrl(),
    default: '',
    doc: '"" = the embedded SQLite store in data_dir; "postgres://user:password@host:5432/mailroom" = PostgreSQL.',
    notes: [
      'With PostgreSQL every node points at the same database: mail, the queue, greylisting,',
      'rate limits and login throttling are shared, and changes reach IMAP sessions on every',
      'node (LISTEN/NOTIFY). The schema is created and upgraded at start.',
    ],
  },
  {
    path: 'store.pool_size',
    type: wholeNumber({ min: 1 }),
    default: 10,
    doc: 'PostgreSQL connections this node opens for writes and reads (plus one for LISTEN and a few for advisory state).',
  },
  {
    path: 'public_addresses',
    type: networkList(),
    default: [],
    example: '["192.0.2.25", "2001:db8::25"]',
    doc: 'Public IP addresses this server sends mail from, for the SPF record of `mailroom dns` and `mailroom check`.',
    notes: ['Empty: the addresses `hostname` resolves to (A/AAAA) are used.'],
  },
  {
    path: 'listen.smtp',
    type: listenAddress(),
    default: undefined,
    defaultWithoutFile: '0.0.0.0:2525',
    example: '0.0.0.0:2525',
    doc: 'SMTP for mail from other servers (the standard port is 25).',
  },
  {
    path: 'listen.submission',
    type: listenAddress(),
    default: undefined,
    defaultWithoutFile: '0.0.0.0:2587',
    example: '0.0.0.0:2587',
    doc: 'Message submission from mail apps: STARTTLS, then AUTH (RFC 6409; the standard port is 587).',
  },
  {
    path: 'listen.submissions',
    type: listenAddress(),
    default: undefined,
    defaultWithoutFile: '0.0.0.0:2465',
    example: '0.0.0.0:2465',
    doc: 'Message submission over implicit TLS (RFC 8314 §3.3; the standard port is 465).',
    notes: ['Needs a TLS certificate: one in [tls] certificates, or tls.self_signed.'],
  },
  {
    path: 'listen.imap',
    type: listenAddress(),
    default: undefined,
    defaultWithoutFile: '0.0.0.0:2143',
    example: '0.0.0.0:2143',
    doc: 'IMAP for mail apps, with STARTTLS (RFC 9051; the standard port is 143).',
  },
  {
    path: 'listen.imaps',
    type: listenAddress(),
    default: undefined,
    defaultWithoutFile: '0.0.0.0:2993',
    example: '0.0.0.0:2993',
    doc: 'IMAP over implicit TLS (RFC 8314; the standard port is 993).',
    notes: ['Needs a TLS certificate: one in [tls] certificates, or tls.self_signed.'],
  },
  {
    path: 'listen.pop3',
    type: listenAddress(),
    default: undefined,
    defaultWithoutFile: '0.0.0.0:2110',
    example: '0.0.0.0:2110',
    doc: 'POP3 for mail apps that download mail, with STLS (RFC 1939, RFC 2595; the standard port is 110).',
  },
  {
    path: 'listen.pop3s',
    type: listenAddress(),
    default: undefined,
    defaultWithoutFile: '0.0.0.0:2995',
    example: '0.0.0.0:2995',
    doc: 'POP3 over implicit TLS (RFC 8314; the standard port is 995).',
    notes: ['Needs a TLS certificate: one in [tls] certificates, or tls.self_signed.'],
  },
  {
    path: 'limits.message_size',
    type: size({ min: 64 * 1024, rfc: 'RFC 5321 §4.5.3.1.7' }),
    default: '50M',
    doc: 'Largest message accepted, in bytes; advertised with the SIZE extension.',
  },
  {
    path: 'limits.recipients',
    type: wholeNumber({ min: 100, rfc: 'RFC 5321 §4.5.3.1.8' }),
    default: 100,
    doc: 'Recipients accepted in one transaction; more get "452 4.5.3".',
  },
  {
    path: 'limits.command_line',
    type: wholeNumber({ min: 512, rfc: 'RFC 5321 §4.5.3.1.4' }),
    default: 512,
    doc: 'Longest SMTP command line in bytes, CRLF included.',
    notes: [
      'MAIL and RCPT lines may be 600 bytes longer, for the DSN parameters ORCPT and ENVID (RFC 3461).',
      'AUTH continuation lines may be up to 12288 bytes (RFC 4954 §4).',
    ],
  },
  {
    path: 'limits.text_line',
    type: wholeNumber({ min: 1000, rfc: 'RFC 5321 §4.5.3.1.6' }),
    default: 1000,
    doc: 'Longest line of message text in bytes, CRLF included.',
  },
  {
    path: 'limits.connections',
    type: wholeNumber({ min: 1 }),
    default: 1000,
    doc: 'Connections open at the same time, whole server.',
  },
  {
    path: 'limits.connections_per_ip',
    type: wholeNumber({ min: 1 }),
    default: 20,
    doc: 'Connections open at the same time from one client IP address.',
  },
  {
    path: 'limits.junk_commands',
    type: wholeNumber({ min: 1 }),
    default: 20,
    doc: 'Commands that move no mail (NOOP, RSET, VRFY, HELP, unknown) before the session is closed.',
  },
  {
    path: 'limits.default_quota',
    type: size({ min: 0 }),
    default: '0',
    doc: 'Quota given to new accounts, e.g. "2G"; "0" is unlimited.',
  },
  {
    path: 'timeouts.command',
    type: duration({ min: 1 }),
    default: '5m',
    doc: 'How long to wait for the next command (RFC 5321 §4.5.3.2.7: 5 minutes).',
  },
  {
    path: 'timeouts.data',
    type: duration({ min: 1 }),
    default: '10m',
    doc: 'Deadline for a whole DATA or BDAT transfer.',
  },
  {
    path: 'timeouts.data_min_rate',
    type: size({ min: 0 }),
    default: 1024,
    doc: 'Slowest average DATA rate accepted, bytes per second, once data_rate_grace has passed; 0 turns it off.',
  },
  {
    path: 'timeouts.data_rate_grace',
    type: duration({ min: 0 }),
    default: '30s',
    doc: 'Time at the start of DATA before data_min_rate applies.',
  },
  {
    path: 'timeouts.session',
    type: duration({ min: 1 }),
    default: '30m',
    doc: 'Longest a session may last, whatever it does.',
  },
  {
    path: 'timeouts.shutdown_grace',
    type: duration({ min: 0 }),
    default: '30s',
    doc: 'On SIGTERM or SIGINT, how long a transaction already in DATA may take to finish.',
  },
  {
    path: 'timeouts.tls_handshake',
    type: duration({ min: 1 }),
    default: '1m',
    doc: 'How long a TLS handshake may take, after STARTTLS or on connecting to an implicit-TLS port.',
  },
  {
    path: 'delivery.recipient_delimiter',
    type: delimiters(),
    default: '+',
    doc: 'Separates user and tag: mail to "user+tag@domain" goes to user@domain; "" turns it off.',
  },
  {
    path: 'delivery.port',
    type: wholeNumber({ min: 1 }),
    default: 25,
    doc: 'Port of remote MX hosts; tests use another.',
  },
  {
    path: 'delivery.ehlo_name',
    type: optionalHostName(),
    default: '',
    doc: 'Name this server gives in EHLO to remote hosts; "" = hostname.',
  },
  {
    path: 'delivery.relay',
    type: optionalHostPort(),
    default: '',
    doc: 'Smart host for all remote mail, e.g. "smtp.provider.example:587"; "" = deliver by MX.',
    notes: ['For networks that block port 25. The host is a name (its A/AAAA records) or an IP address.'],
  },
  {
    path: 'delivery.relay_username',
    type: anyText('a user name, or "" for none'),
    default: '',
    doc: 'Log in to the relay with this name (AUTH PLAIN, or LOGIN), after TLS; "" = no login.',
  },
  {
    path: 'delivery.relay_password',
    type: anyText('a password'),
    default: '',
    doc: 'Password for relay_username. A wrong one defers mail (it is never bounced).',
  },
  {
    path: 'delivery.relay_tls',
    type: oneOf(['required', 'implicit', 'none', 'required-unverified'] as const),
    default: 'required',
    doc: 'TLS to the relay: "required" (STARTTLS, certificate verified) or "implicit" (TLS from the first byte, port 465).',
    notes: ['"none" and "required-unverified" (STARTTLS without checking the certificate) are for tests only.'],
  },
  {
    path: 'relay.trusted_networks',
    type: networkList(),
    default: [],
    doc: 'Client networks that may relay without logging in (e.g. an application server); none by default.',
    notes: ['Not even loopback is trusted by default: a proxy on the same host would otherwise make an open relay.'],
  },
  {
    path: 'proxy_protocol.trusted',
    type: networkList(),
    default: [],
    doc: 'Load balancers whose connections must start with a PROXY protocol header, e.g. ["10.0.0.5/32"]; none by default.',
    notes: [
      'A connection from a listed address without a valid header is closed; from any other',
      'address a header is not accepted (it would let anyone claim any IP).',
    ],
  },
  {
    path: 'proxy_protocol.timeout',
    type: duration({ min: 1 }),
    default: '5s',
    doc: 'How long a trusted load balancer may take to send the PROXY header.',
  },
  {
    path: 'auth.max_failures_per_ip',
    type: wholeNumber({ min: 1 }),
    default: 10,
    doc: 'Failed logins from one client IP (IPv6: its /64) within failure_window before it is locked out.',
    notes: ['A locked-out client gets "421 4.7.0" and is disconnected.'],
  },
  {
    path: 'auth.max_failures_per_account',
    type: wholeNumber({ min: 1 }),
    default: 20,
    doc: 'Failed logins for one account, from any IP, within failure_window before the account is locked out.',
    notes: ['While locked out even the right password is refused; a successful login clears the count.'],
  },
  {
    path: 'auth.failure_window',
    type: duration({ min: 1 }),
    default: '15m',
    doc: 'How far back failed logins are counted.',
  },
  {
    path: 'auth.lockout',
    type: duration({ min: 1 }),
    default: '15m',
    doc: 'How long a locked-out client IP or account is refused.',
  },
  {
    path: 'auth.slowdown',
    type: duration({ min: 0 }),
    default: '1s',
    doc: 'Delay added per failed login beyond slowdown_after, before the failure is answered; "0s" turns it off.',
  },
  {
    path: 'auth.slowdown_after',
    type: wholeNumber({ min: 0 }),
    default: 3,
    doc: 'Failed logins in the window before failures are answered slowly.',
  },
  {
    path: 'auth.slowdown_max',
    type: duration({ min: 0 }),
    default: '5s',
    doc: 'Longest delay before a failed login is answered.',
  },
  {
    path: 'auth.allow_plaintext_loopback',
    type: boolean(),
    default: false,
    doc: 'Allow logins without TLS from 127.0.0.0/8 and ::1 (tests and local scripts).',
  },
  {
    path: 'smtp.bare_newline',
    type: oneOf(['reject'] as const),
    default: 'reject',
    doc: 'Bare CR or LF in message text is always rejected (SMTP smuggling); the only value is "reject".',
  },
  {
    path: 'tls.certificates',
    type: certificateList(),
    default: [],
    doc: 'Certificate chains and their private keys (PEM files); the first is the default.',
    notes: [
      'The certificate sent is chosen by the name the client asks for (SNI): an exact',
      'subjectAltName first, then a wildcard such as *.example.org, then the first one.',
      'Paths are relative to the working directory. For example:',
      'certificates = [',
      '  { cert = "/etc/letsencrypt/live/mail.example.org/fullchain.pem",',
      '    key = "/etc/letsencrypt/live/mail.example.org/privkey.pem" },',
      ']',
    ],
  },
  {
    path: 'tls.min_version',
    type: oneOf(['TLSv1.2', 'TLSv1.3'] as const),
    default: 'TLSv1.2',
    doc: 'Oldest TLS version accepted; TLS 1.0 and 1.1 are never offered (RFC 8996, RFC 9325 §3.1.1).',
  },
  {
    path: 'tls.ciphers',
    type: cipherList(),
    default: [
      'ECDHE-ECDSA-AES128-GCM-SHA256',
      'ECDHE-RSA-AES128-GCM-SHA256',
      'ECDHE-ECDSA-AES256-GCM-SHA384',
      'ECDHE-RSA-AES256-GCM-SHA384',
      'ECDHE-ECDSA-CHACHA20-POLY1305',
      'ECDHE-RSA-CHACHA20-POLY1305',
    ].join(':'),
    doc: 'Cipher suites for TLS 1.2, in order of preference (the server\'s order wins).',
    notes: ['The default is RFC 9325 §4.2: forward secrecy with AEAD only. TLS 1.3 suites are OpenSSL\'s.'],
  },
  {
    path: 'tls.self_signed',
    type: boolean(),
    default: true,
    doc: 'With no certificates configured, generate a self-signed one for hostname (needs the openssl program).',
    notes: [
      'It is kept in <data_dir>/tls/ and remade when hostname changes. Servers delivering',
      'to port 25 usually accept it; mail apps will warn. Set false to run without TLS.',
    ],
  },
  {
    path: 'queue.retry_schedule',
    type: durationList(),
    default: '1m 5m 15m 30m 1h 2h 4h',
    doc: 'Waits between delivery attempts of a deferred recipient; the last one repeats until max_age.',
  },
  {
    path: 'queue.max_age',
    type: duration({ min: 60_000 }),
    default: '5d',
    doc: 'How long a message may wait before its undelivered recipients are bounced (RFC 5321 §4.5.4.1: 4-5 days).',
  },
  {
    path: 'queue.delay_warning',
    type: duration({ min: 0 }),
    default: '4h',
    doc: 'When the sender is told once that a message is late; "0" never (never for the null sender).',
  },
  {
    path: 'queue.concurrency',
    type: wholeNumber({ min: 1 }),
    default: 20,
    doc: 'Outbound connections at once, in total.',
  },
  {
    path: 'queue.concurrency_per_domain',
    type: wholeNumber({ min: 1 }),
    default: 4,
    doc: 'Outbound connections at once to one destination domain (polite to small receivers).',
  },
  {
    path: 'queue.lease',
    type: duration({ min: 1000 }),
    default: '15m',
    doc: 'How long a delivery attempt holds its recipients; after a crash they are retried when it runs out.',
  },
  {
    path: 'queue.tls',
    type: oneOf(['opportunistic', 'required', 'none'] as const),
    default: 'opportunistic',
    doc: 'STARTTLS towards MX hosts: when offered (unverified, RFC 7435), always (no TLS = deferred), or never.',
    notes: ['Opportunistic: when the TLS handshake itself fails, the host is tried once more in plaintext (logged at warn).'],
  },
  {
    path: 'queue.connect_timeout',
    type: duration({ min: 1 }),
    default: '30s',
    doc: 'Deadline for connecting to an MX host.',
  },
  {
    path: 'queue.command_timeout',
    type: duration({ min: 1 }),
    default: '5m',
    doc: 'Deadline for each reply of an MX host (RFC 5321 §4.5.3.2).',
  },
  {
    path: 'queue.data_timeout',
    type: duration({ min: 1 }),
    default: '10m',
    doc: 'Deadline for sending a message and getting its final reply (RFC 5321 §4.5.3.2.6).',
  },
  {
    path: 'dns.servers',
    type: dnsServerList(),
    default: [],
    doc: 'DNS servers to ask, e.g. ["127.0.0.1:5353"]; empty uses the system resolvers (/etc/resolv.conf).',
    notes: ['IP addresses only, with an optional port: "192.0.2.53", "127.0.0.1:5353", "[::1]:53".'],
  },
  {
    path: 'dns.timeout',
    type: duration({ min: 1 }),
    default: '5s',
    doc: 'Deadline for one DNS lookup, retries included; a lookup that times out defers delivery.',
  },
  {
    path: 'dkim.publish_delay',
    type: duration({ min: 0 }),
    default: '48h',
    doc: 'How long a rotated-in key is published in DNS before it signs (so every resolver has it); `dkim rotate --activate` skips it.',
  },
  {
    path: 'dkim.retire_delay',
    type: duration({ min: 0 }),
    default: '7d',
    doc: 'How long a replaced key stays published after it stops signing, so mail signed with it still verifies.',
  },
  {
    path: 'auth_checks.enabled',
    type: boolean(),
    default: true,
    doc: 'Check SPF, DKIM, DMARC and ARC on mail from outside and record the results in Authentication-Results.',
  },
  {
    path: 'auth_checks.dmarc_policy',
    type: oneOf(['enforce', 'junk', 'mark'] as const),
    default: 'enforce',
    doc: 'On a DMARC failure: "enforce" the sender domain\'s policy (p=reject → 550 5.7.1, p=quarantine → Junk), "junk" (both → Junk) or "mark" (record only).',
  },
  {
    path: 'auth_checks.spf_fail_policy',
    type: oneOf(['mark', 'junk', 'reject'] as const),
    default: 'mark',
    doc: 'On an SPF fail that DMARC did not already decide: "mark" (record only), "junk", or "reject" (550 5.7.23).',
    notes: ['Forwarded mail often fails SPF, which is why the default only records it.'],
  },
  {
    path: 'auth_checks.trusted_arc_forwarders',
    type: domainList(),
    default: [],
    doc: 'Forwarders (mailing lists, your other MX) whose valid ARC seal (RFC 8617) overrides a DMARC failure; a subdomain counts.',
  },
  {
    path: 'auth_checks.temperror_policy',
    type: oneOf(['defer', 'accept'] as const),
    default: 'defer',
    doc: 'When DNS trouble leaves a DMARC (or, with spf_fail_policy = "reject", SPF) decision open: "defer" (451 4.7.x) or "accept".',
  },
  {
    path: 'auth_checks.strict',
    type: boolean(),
    default: false,
    doc: 'Follow the RFCs exactly (e.g. rsa-sha1 signatures do not pass) instead of the lenient defaults most receivers use.',
  },
  {
    path: 'auth_checks.timeout',
    type: duration({ min: 1 }),
    default: '30s',
    doc: 'Deadline for all checks of one message; past it the results are temperror.',
  },
  {
    path: 'auth_checks.min_rsa_bits',
    type: wholeNumber({ min: 512 }),
    default: 1024,
    doc: 'RSA DKIM/ARC keys shorter than this do not pass (RFC 8301 §3.2 asks for at least 1024).',
  },
  {
    path: 'log.level',
    type: oneOf(['debug', 'info', 'warn', 'error'] as const),
    default: 'info',
    doc: 'Least important level written: "debug", "info", "warn" or "error".',
  },
  {
    path: 'imap.max_line',
    type: size({ min: 1024 }),
    default: '64K',
    doc: 'Longest IMAP command line (the text between literals), bytes; a longer one gets a tagged BAD.',
    notes: ['RFC 7162 §4 asks servers to take lines of at least 8192 octets; long UID sets need more.'],
  },
  {
    path: 'imap.max_literal',
    type: size({ min: 1024 }),
    default: '50M',
    doc: 'Largest literal (and so the largest APPEND), bytes; advertised as APPENDLIMIT (RFC 7889). A larger one gets a tagged BAD.',
  },
  {
    path: 'imap.max_command',
    type: size({ min: 1024 }),
    default: '51M',
    doc: 'Largest whole IMAP command, its lines and literals together, bytes; a larger one gets a tagged BAD.',
  },
  {
    path: 'imap.autologout',
    type: duration({ min: 30 * 60_000, rfc: 'RFC 9051 §5.4' }),
    default: '30m',
    doc: 'How long a logged-in IMAP session, or an IDLE, may go without a command before "* BYE" (RFC 9051 §5.4: at least 30 minutes).',
  },
  {
    path: 'imap.login_timeout',
    type: duration({ min: 1 }),
    default: '1m',
    doc: 'How long an IMAP session that has not logged in may wait for a command before "* BYE".',
  },
  {
    path: 'pop3.max_line',
    type: size({ min: 255 }),
    default: 255,
    doc: 'Longest POP3 command line, bytes with CRLF; a longer one gets "-ERR" (RFC 2449 §4: 255).',
  },
  {
    path: 'pop3.idle_timeout',
    type: duration({ min: 1 }),
    default: '10m',
    doc: 'How long a POP3 session may go without a command before it is closed; nothing is deleted then.',
    notes: ['RFC 1939 §3 asks for at least 10 minutes; shorter values are for tests.'],
  },
  {
    path: 'pop3.max_bad_commands',
    type: wholeNumber({ min: 1 }),
    default: 20,
    doc: 'Bad commands in a row (unknown, wrong state, bad arguments, too long) before the POP3 session is closed.',
  },
  {
    path: 'greylist.enabled',
    type: boolean(),
    default: false,
    doc: 'Greylist unknown triplets from unauthenticated clients on port 25.',
  },
  {
    path: 'greylist.delay',
    type: duration({ min: 0 }),
    default: '5m',
    doc: 'How long a client must wait before its retry is accepted.',
  },
  {
    path: 'greylist.window',
    type: duration({ min: 1 }),
    default: '24h',
    doc: 'How long after the first attempt a retry is still accepted; later, greylisting starts over.',
  },
  {
    path: 'greylist.expiry',
    type: duration({ min: 1 }),
    default: '30d',
    doc: 'How long a triplet that passed is remembered after it was last seen.',
  },
  {
    path: 'greylist.whitelist_after',
    type: wholeNumber({ min: 0 }),
    default: 5,
    doc: 'Triplets a client network must pass before it is no longer greylisted at all; 0 = never.',
  },
  {
    path: 'greylist.skip_spf_known_good',
    type: boolean(),
    default: true,
    doc: 'Do not greylist mail whose SPF passes for a sender domain the spam filter knows as a good sender.',
  },
  {
    path: 'rate_limit.enabled',
    type: boolean(),
    default: true,
    doc: 'Apply the rate limits below.',
  },
  {
    path: 'rate_limit.ip_connections_per_minute',
    type: wholeNumber({ min: 1 }),
    default: 60,
    doc: 'Connections one client IP (IPv6: its /64) may open per minute before getting "421 4.7.0".',
  },
  {
    path: 'rate_limit.ip_messages_per_hour',
    type: wholeNumber({ min: 1 }),
    default: 1000,
    doc: 'Messages per hour from one client IP that did not log in (port 25).',
    notes: ['Generous on purpose: a big provider or a mailing list sends a lot from one address; a flood from one IP is still cut.'],
  },
  {
    path: 'rate_limit.ip_recipients_per_hour',
    type: wholeNumber({ min: 1 }),
    default: 5000,
    doc: 'Recipients per hour from one client IP that did not log in.',
  },
  {
    path: 'rate_limit.account_messages_per_hour',
    type: wholeNumber({ min: 1 }),
    default: 100,
    doc: 'Messages one logged-in account may send per hour (a person sends far fewer; a spam run far more).',
  },
  {
    path: 'rate_limit.account_recipients_per_day',
    type: wholeNumber({ min: 1 }),
    default: 1000,
    doc: 'Recipients one logged-in account may address per day.',
  },
  {
    path: 'dnsbl.enabled',
    type: boolean(),
    default: true,
    doc: 'Look clients and links up in the zones below (nothing happens while they are empty).',
  },
  {
    path: 'dnsbl.zones',
    type: zoneList('reject'),
    default: [],
    doc: 'Blocklists for the client IP, e.g. ["zen.spamhaus.org:reject", "bl.spamcop.net:score=3"].',
    notes: ['Public blocklists often refuse queries from big public resolvers: use your own resolver ([dns] servers).'],
  },
  {
    path: 'dnsbl.allow_zones',
    type: zoneList('allow'),
    default: [],
    doc: 'Allowlists (DNSWL): a listed client is never refused by a blocklist and gets -1 point (or "zone:allow=-N").',
  },
  {
    path: 'dnsbl.uri_zones',
    type: zoneList('score'),
    default: [],
    doc: 'URI blocklists for link domains in the body, e.g. ["multi.surbl.org:score=4"] (bare: 3 points).',
  },
  {
    path: 'spam.enabled',
    type: boolean(),
    default: true,
    doc: 'Score inbound mail from strangers (logged-in users and trusted networks are not scored).',
  },
  {
    path: 'spam.junk_threshold',
    type: points(0),
    default: 5,
    doc: 'A score at or above this delivers the message to the recipient\'s Junk folder.',
  },
  {
    path: 'spam.reject_threshold',
    type: points(0),
    default: 15,
    doc: 'A score at or above this (for every recipient) refuses the message at the end of DATA with "550 5.7.1".',
  },
  {
    path: 'spam.bayes_min_messages',
    type: wholeNumber({ min: 0 }),
    default: 20,
    doc: 'Messages the classifier must have learnt (spam and ham, global plus the user\'s) before its verdict counts.',
  },
  {
    path: 'spam.junk_folder',
    type: text('a mailbox name'),
    default: 'Junk',
    doc: 'Mailbox that receives spam (the account\'s \\Junk mailbox is called Junk).',
  },
] as const satisfies readonly SchemaEntry<any>[];

export type SchemaPath = (typeof SCHEMA)[number]['path'];

// ---- Compile-time check: the table has exactly the leaf keys of Config, each
// parsed to the type Config declares for it.

type Leaves<T, P extends string = ''> = {
  [K in keyof T & string]-?: NonNullable<T[K]> extends ListenAddress
    ? `${P}${K}`
    : NonNullable<T[K]> extends Record<string, unknown>
      ? Leaves<NonNullable<T[K]>, `${P}${K}.`>
      : `${P}${K}`;
}[keyof T & string];

type At<T, P extends string> = P extends `${infer H}.${infer R}`
  ? H extends keyof T
    ? At<NonNullable<T[H]>, R>
    : never
  : P extends keyof T
    ? NonNullable<T[P]>
    : never;

type ConfigPath = Leaves<Config>;
type Equal<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type WrongType<E> = E extends { path: infer P extends string; type: ValueType<infer V> } ? (Equal<V, At<Config, P>> extends true ? never : P) : never;

const pathsMatch: Equal<SchemaPath, ConfigPath> = true;
const typesMatch: Equal<WrongType<(typeof SCHEMA)[number]>, never> = true;
void pathsMatch;
void typesMatch;

/** Section names that hold keys (derived from the table). */
export function sectionOf(path: string): string {
  const dot = path.lastIndexOf('.');
  return dot < 0 ? '' : path.slice(0, dot);
}

/** The key's name inside its section. */
export function keyOf(path: string): string {
  return path.slice(path.lastIndexOf('.') + 1);
}

export const SCHEMA_BY_PATH: ReadonlyMap<string, SchemaEntry> = new Map(SCHEMA.map((e) => [e.path, e as SchemaEntry]));
