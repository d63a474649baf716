// The validated, fully defaulted configuration the rest of the program reads.
// Sizes are in bytes and durations in milliseconds after validation; the TOML
// file may write them as "50M" / "5m" (see schema.ts for every key and its doc).

import type { ZoneSpec } from './abuse-values.ts';

/** Every listener role, in the order they are started and shown. Adding a
 * role here (e.g. 'imap') makes the compile-time check in schema.ts ask for
 * its `listen.<role>` key. */
export const LISTEN_ROLES = ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s'] as const;
export type ListenRole = (typeof LISTEN_ROLES)[number];

/** One certificate chain and its private key, both PEM files. */
export interface TlsCertificateFiles {
  /** Certificate followed by its intermediates (e.g. Let's Encrypt fullchain.pem). */
  cert: string;
  key: string;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface Config {
  /** Banner and EHLO name. */
  hostname: string;
  /** Where the embedded store (SQLite + blobs) lives. */
  data_dir: string;
  /** The server's public IP addresses (or networks) that send mail, for the SPF
   * record `mailroom dns` prints and `mailroom check` expects; empty = what `hostname` resolves to. */
  public_addresses: string[];
  /** Where accounts, mail and the queue are stored. */
  store: {
    /** "" = the embedded SQLite store in data_dir; "postgres://…" = a PostgreSQL database several nodes share. */
    url: string;
    /** PostgreSQL connections per node (pool size). */
    pool_size: number;
  };
  /** Address per role; a role left out is not started. */
  listen: Partial<Record<ListenRole, ListenAddress>>;
  limits: {
    /** Largest message accepted, bytes (SIZE advertised). */
    message_size: number;
    /** Recipients per transaction (RFC 5321 §4.5.3.1.8: at least 100). */
    recipients: number;
    /** Command line including CRLF (RFC 5321 §4.5.3.1.4: at least 512). */
    command_line: number;
    /** Text line in DATA including CRLF (RFC 5321 §4.5.3.1.6: at least 1000). */
    text_line: number;
    /** Concurrent connections for the whole server. */
    connections: number;
    /** Concurrent connections from one client IP. */
    connections_per_ip: number;
    /** Commands that are not transactions (NOOP, RSET, VRFY, HELP, unknown) before the session is closed. */
    junk_commands: number;
    /** Default quota for new accounts, bytes; 0 = unlimited. */
    default_quota: number;
  };
  timeouts: {
    /** Waiting for a command (RFC 5321 §4.5.3.2.7: 5 minutes). */
    command: number;
    /** Whole DATA/BDAT transfer deadline (RFC 5321 §4.5.3.2.6 block timeout 3 min; we bound the whole). */
    data: number;
    /** Minimum average DATA rate in bytes/second once `data_rate_grace` has passed (slowloris). */
    data_min_rate: number;
    /** Time before `data_min_rate` applies. */
    data_rate_grace: number;
    /** Longest session, whatever it does. */
    session: number;
    /** On SIGTERM: how long a transaction in DATA may take to finish. */
    shutdown_grace: number;
    /** A TLS handshake (after STARTTLS, or on connect for implicit TLS). */
    tls_handshake: number;
  };
  delivery: {
    /** Separates user and tag in `user+tag@domain` (plus-addressing); "" disables. */
    recipient_delimiter: string;
    /** Port of remote MX hosts (25; tests use another). */
    port: number;
    /** EHLO name towards remote hosts; "" = `hostname`. */
    ehlo_name: string;
    /** Smart host "host:port" for all remote mail; "" = by MX. */
    relay: string;
    relay_username: string;
    relay_password: string;
    /** "required": STARTTLS, verified; "implicit": TLS on connect; "none" / "required-unverified": tests. */
    relay_tls: 'required' | 'implicit' | 'none' | 'required-unverified';
  };
  auth: {
    /** Failed logins from one client IP (IPv6: its /64) within `failure_window` before it is locked out. */
    max_failures_per_ip: number;
    /** Failed logins for one account (from anywhere) within `failure_window` before it is locked out. */
    max_failures_per_account: number;
    /** Sliding window in which failures are counted, ms. */
    failure_window: number;
    /** How long a locked-out IP or account is refused, ms. */
    lockout: number;
    /** Added delay per failure beyond `slowdown_after`, ms (applied before answering a failure). */
    slowdown: number;
    /** Failures in the window before answers to failures are slowed down. */
    slowdown_after: number;
    /** Longest delay before answering a failure, ms. */
    slowdown_max: number;
    /** Allow AUTH/LOGIN without TLS from 127.0.0.0/8 and ::1 (tests, local scripts). */
    allow_plaintext_loopback: boolean;
  };
  smtp: {
    /** Bare CR or LF in message content: always rejected (SMTP smuggling); kept as a key for visibility. */
    bare_newline: 'reject';
  };
  tls: {
    /** Certificates offered, chosen by SNI; the first is the default. */
    certificates: TlsCertificateFiles[];
    /** Lowest protocol version accepted (RFC 8996 retired 1.0/1.1; RFC 9325 §3.1). */
    min_version: 'TLSv1.2' | 'TLSv1.3';
    /** OpenSSL cipher list for TLS 1.2 (TLS 1.3 suites are OpenSSL's defaults). */
    ciphers: string;
    /** With no certificate configured, generate and use a self-signed one. */
    self_signed: boolean;
  };
  relay: {
    /** CIDR networks that may relay without AUTH; empty by default (not even loopback). */
    trusted_networks: string[];
  };
  proxy_protocol: {
    /** Load balancers (CIDR) whose connections start with a PROXY protocol v1/v2 header naming the real client. */
    trusted: string[];
    /** Deadline for the PROXY header after connecting, ms. */
    timeout: number;
  };
  queue: {
    retry_schedule: number[];
    max_age: number;
    delay_warning: number;
    concurrency: number;
    concurrency_per_domain: number;
    lease: number;
    tls: 'opportunistic' | 'required' | 'none';
    connect_timeout: number;
    command_timeout: number;
    data_timeout: number;
  };
  dns: {
    /** DNS servers ("127.0.0.1:5353", "[::1]:53"); empty = the system resolvers. */
    servers: string[];
    /** Deadline for one lookup, retries included, ms. */
    timeout: number;
  };
  /** Outbound DKIM signing keys: the timing of a rotation (`mailroom dkim rotate`). */
  dkim: {
    /** How long a new key is published before it starts signing, ms. */
    publish_delay: number;
    /** How long a replaced key stays published after it stops signing, ms. */
    retire_delay: number;
  };
  /** Inbound sender authentication (SPF, DKIM, DMARC, ARC) and what its results do (src/policy/). */
  auth_checks: {
    enabled: boolean;
    /** What a DMARC failure's published policy may do: enforce (p=reject → 550, p=quarantine → Junk), junk (both → Junk), mark (record only). */
    dmarc_policy: 'enforce' | 'junk' | 'mark';
    /** SPF fail without a DMARC decision: mark (record only), junk, reject (550 5.7.23). */
    spf_fail_policy: 'mark' | 'junk' | 'reject';
    /** Forwarders (e.g. mailing lists) whose valid ARC seal overrides a DMARC failure. */
    trusted_arc_forwarders: string[];
    /** DNS trouble that leaves a decision open: defer (451 4.7.x) or accept. */
    temperror_policy: 'defer' | 'accept';
    /** Follow the RFCs exactly instead of mailauth's lenient defaults. */
    strict: boolean;
    /** Deadline for all checks of one message, ms. */
    timeout: number;
    /** RSA keys shorter than this fail DKIM (dkim=policy), bits. */
    min_rsa_bits: number;
  };
  log: {
    level: 'debug' | 'info' | 'warn' | 'error';
  };
  imap: {
    /** Longest IMAP command line (a text segment between literals), bytes without CRLF. */
    max_line: number;
    /** Largest literal, bytes: the APPEND size limit, advertised as APPENDLIMIT (RFC 7889). */
    max_literal: number;
    /** Largest whole command: all its lines and literals, bytes. */
    max_command: number;
    /** Autologout: how long an authenticated session (or an IDLE) may wait without a command (RFC 9051 §5.4: at least 30 minutes). */
    autologout: number;
    /** How long a session that has not logged in may wait for a command. */
    login_timeout: number;
  };
  pop3: {
    /** Longest command line, bytes including CRLF (RFC 2449 §4: 255). */
    max_line: number;
    /** Autologout after this long without a command, ms (RFC 1939 §3: at least 10 minutes). */
    idle_timeout: number;
    /** Bad commands in a row before the session is closed. */
    max_bad_commands: number;
  };
  /** Greylisting of unknown (network, sender, recipient) triplets (issue 8, RFC 6647). */
  greylist: {
    enabled: boolean;
    /** ms a retry must wait. */
    delay: number;
    /** ms after the first attempt within which the retry must come. */
    window: number;
    /** ms a passed triplet is remembered after it was last seen. */
    expiry: number;
    whitelist_after: number;
    skip_spf_known_good: boolean;
  };
  /** Sending rate limits per client IP and per account (issue 8). */
  rate_limit: {
    enabled: boolean;
    ip_connections_per_minute: number;
    ip_messages_per_hour: number;
    ip_recipients_per_hour: number;
    account_messages_per_hour: number;
    account_recipients_per_day: number;
  };
  /** DNS block- and allowlists (RFC 5782) at connect, and URI blocklists for links. */
  dnsbl: {
    enabled: boolean;
    zones: ZoneSpec[];
    allow_zones: ZoneSpec[];
    uri_zones: ZoneSpec[];
  };
  /** The spam filter: rules, classifier, Junk and reject thresholds. */
  spam: {
    enabled: boolean;
    junk_threshold: number;
    reject_threshold: number;
    bayes_min_messages: number;
    junk_folder: string;
  };
}
