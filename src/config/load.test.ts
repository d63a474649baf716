// Tests for loading and validating the configuration: defaults, every kind of
// error naming its key path, the RFC 5321 floors and listen address parsing.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir, hostname } from 'node:os';
import { join } from 'node:path';
import { ConfigError, defaultConfig, loadConfig, parseConfig } from './load.ts';
import { parseListenAddress, formatListenAddress } from './values.ts';

const SRC = 'mailroom.toml';

function rejects(toml: string, message: string | RegExp) {
  assert.throws(() => parseConfig(toml, SRC), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

test('no file at all: built-in defaults with SMTP on 0.0.0.0:2525, submission on 2587 and 2465', () => {
  const c = defaultConfig();
  assert.deepEqual(c, {
    hostname: hostname(),
    data_dir: './data',
    public_addresses: [],
    store: { url: '', pool_size: 10 },
    listen: {
      smtp: { host: '0.0.0.0', port: 2525 },
      submission: { host: '0.0.0.0', port: 2587 },
      submissions: { host: '0.0.0.0', port: 2465 },
      imap: { host: '0.0.0.0', port: 2143 },
      imaps: { host: '0.0.0.0', port: 2993 },
      pop3: { host: '0.0.0.0', port: 2110 },
      pop3s: { host: '0.0.0.0', port: 2995 },
    },
    limits: {
      message_size: 50 * 1024 * 1024,
      recipients: 100,
      command_line: 512,
      text_line: 1000,
      connections: 1000,
      connections_per_ip: 20,
      junk_commands: 20,
      default_quota: 0,
    },
    timeouts: {
      command: 5 * 60_000,
      data: 10 * 60_000,
      data_min_rate: 1024,
      data_rate_grace: 30_000,
      session: 30 * 60_000,
      shutdown_grace: 30_000,
      tls_handshake: 60_000,
    },
    delivery: { recipient_delimiter: '+', port: 25, ehlo_name: '', relay: '', relay_username: '', relay_password: '', relay_tls: 'required' },
    auth: {
      max_failures_per_ip: 10,
      max_failures_per_account: 20,
      failure_window: 15 * 60_000,
      lockout: 15 * 60_000,
      slowdown: 1000,
      slowdown_after: 3,
      slowdown_max: 5000,
      allow_plaintext_loopback: false,
    },
    smtp: { bare_newline: 'reject' },
    tls: {
      certificates: [],
      min_version: 'TLSv1.2',
      ciphers:
        'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305',
      self_signed: true,
    },
    relay: { trusted_networks: [] },
    proxy_protocol: { trusted: [], timeout: 5000 },
    queue: {
      retry_schedule: [60_000, 300_000, 900_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000],
      max_age: 5 * 86_400_000,
      delay_warning: 4 * 3_600_000,
      concurrency: 20,
      concurrency_per_domain: 4,
      lease: 900_000,
      tls: 'opportunistic',
      connect_timeout: 30_000,
      command_timeout: 300_000,
      data_timeout: 600_000,
    },
    dns: { servers: [], timeout: 5000 },
    dkim: { publish_delay: 48 * 3600_000, retire_delay: 7 * 24 * 3600_000 },
    auth_checks: { enabled: true, dmarc_policy: 'enforce', spf_fail_policy: 'mark', trusted_arc_forwarders: [], temperror_policy: 'defer', strict: false, timeout: 30000, min_rsa_bits: 1024 },
    log: { level: 'info' },
    imap: { max_line: 65536, max_literal: 50 * 1024 * 1024, max_command: 51 * 1024 * 1024, autologout: 30 * 60_000, login_timeout: 60_000 },
    pop3: { max_line: 255, idle_timeout: 10 * 60_000, max_bad_commands: 20 },
    greylist: { enabled: false, delay: 5 * 60_000, window: 24 * 3600_000, expiry: 30 * 24 * 3600_000, whitelist_after: 5, skip_spf_known_good: true },
    rate_limit: { enabled: true, ip_connections_per_minute: 60, ip_messages_per_hour: 1000, ip_recipients_per_hour: 5000, account_messages_per_hour: 100, account_recipients_per_day: 1000 },
    dnsbl: { enabled: true, zones: [], allow_zones: [], uri_zones: [] },
    spam: { enabled: true, junk_threshold: 5, reject_threshold: 15, bayes_min_messages: 20, junk_folder: 'Junk' },
  });
});

test('an empty file: defaults, but no listener is started', () => {
  const c = parseConfig('', SRC);
  assert.deepEqual(c.listen, {});
  const { listen: _a, ...rest } = c;
  const { listen: _b, ...restDefault } = defaultConfig();
  assert.deepEqual(rest, restDefault);
});

test('values in the file are parsed to bytes and milliseconds', () => {
  const c = parseConfig(
    `hostname = "mx.example.org"
data_dir = "/var/lib/mailroom"
[listen]
smtp = "[::1]:25"
[limits]
message_size = "10M"
recipients = 500
default_quota = "2G"
[timeouts]
command = "1m"
data_min_rate = "2K"
shutdown_grace = "0"
[log]
level = "debug"
`,
    SRC,
  );
  assert.equal(c.hostname, 'mx.example.org');
  assert.equal(c.data_dir, '/var/lib/mailroom');
  assert.deepEqual(c.listen.smtp, { host: '::1', port: 25 });
  assert.equal(c.limits.message_size, 10 * 1024 * 1024);
  assert.equal(c.limits.recipients, 500);
  assert.equal(c.limits.default_quota, 2 * 1024 ** 3);
  assert.equal(c.limits.text_line, 1000);
  assert.equal(c.timeouts.command, 60_000);
  assert.equal(c.timeouts.data_min_rate, 2048);
  assert.equal(c.timeouts.shutdown_grace, 0);
  assert.equal(c.log.level, 'debug');
});

test('dotted keys and inline tables work like sections', () => {
  const c = parseConfig('limits.recipients = 200\nlisten = { smtp = ":2525" }\n', SRC);
  assert.equal(c.limits.recipients, 200);
  assert.deepEqual(c.listen.smtp, { host: '', port: 2525 });
});

test('a wrong type names the key path', () => {
  rejects('[limits]\nrecipients = "x"\n', 'mailroom.toml: limits.recipients: expected a whole number ≥ 100, got "x"');
  rejects('[limits]\nconnections = 1.5\n', 'mailroom.toml: limits.connections: expected a whole number ≥ 1, got 1.5');
  rejects('hostname = 5\n', /^mailroom\.toml: hostname: expected a host name/);
  rejects('[log]\nlevel = "loud"\n', 'mailroom.toml: log.level: expected one of "debug", "info", "warn", "error", got "loud"');
  rejects('[smtp]\nbare_newline = "allow"\n', 'mailroom.toml: smtp.bare_newline: expected "reject", got "allow"');
  rejects('[limits]\nmessage_size = "lots"\n', /^mailroom\.toml: limits\.message_size: expected a size like "512K"/);
  rejects('[timeouts]\ncommand = 300\n', /^mailroom\.toml: timeouts\.command: expected a duration .*write the unit.*got 300$/);
  rejects('[timeouts]\ncommand = "0"\n', 'mailroom.toml: timeouts.command: must be at least 1ms, got "0"');
  rejects('data_dir = ""\n', 'mailroom.toml: data_dir: expected a directory path, got ""');
  rejects('[delivery]\nrecipient_delimiter = "a"\n', /^mailroom\.toml: delivery\.recipient_delimiter: expected characters .*got "a": "a" cannot be a delimiter/);
  assert.equal(parseConfig('[delivery]\nrecipient_delimiter = ""\n', SRC).delivery.recipient_delimiter, '');
  assert.equal(parseConfig('[delivery]\nrecipient_delimiter = "+-"\n', SRC).delivery.recipient_delimiter, '+-');
  rejects('limits = 5\n', 'mailroom.toml: limits: expected a table ([limits]), got 5');
  rejects('[[limits]]\nrecipients = 100\n', /^mailroom\.toml: limits: expected a table/);
  rejects('hostname = 1979-05-27\n', /^mailroom\.toml: hostname: expected a host name .*, got a date$/);
});

test('RFC 5321 §4.5.3 minimums are floors', () => {
  rejects('[limits]\nrecipients = 99\n', 'mailroom.toml: limits.recipients: must be at least 100 (the minimum RFC 5321 §4.5.3.1.8 requires), got 99');
  rejects('[limits]\ncommand_line = 511\n', /limits\.command_line: must be at least 512 .*RFC 5321 §4\.5\.3\.1\.4.*got 511$/);
  rejects('[limits]\ntext_line = 998\n', /limits\.text_line: must be at least 1000 .*RFC 5321 §4\.5\.3\.1\.6.*got 998$/);
  rejects('[limits]\nmessage_size = "63K"\n', /limits\.message_size: must be at least 64K .*RFC 5321 §4\.5\.3\.1\.7/);
  const c = parseConfig('[limits]\nrecipients = 100\ncommand_line = 512\ntext_line = 1000\nmessage_size = "64K"\n', SRC);
  assert.equal(c.limits.command_line, 512);
});

test('[pop3]: the command line floor is RFC 2449 §4 (255 octets); the idle timeout parses', () => {
  rejects('[pop3]\nmax_line = 254\n', /pop3\.max_line: must be at least/);
  const c = parseConfig('[pop3]\nmax_line = "1K"\nidle_timeout = "15m"\n', SRC);
  assert.equal(c.pop3.max_line, 1024);
  assert.equal(c.pop3.idle_timeout, 15 * 60_000);
});

test('[imap]: the autologout floor is RFC 9051 §5.4 (30 minutes); sizes parse', () => {
  rejects('[imap]\nautologout = "29m"\n', /imap\.autologout: must be at least .*RFC 9051 §5\.4/);
  const c = parseConfig('[imap]\nmax_line = "8K"\nmax_literal = "1M"\nautologout = "1h"\n', SRC);
  assert.equal(c.imap.max_line, 8192);
  assert.equal(c.imap.max_literal, 1024 * 1024);
  assert.equal(c.imap.autologout, 3_600_000);
});

test('unknown keys and sections are errors, with a suggestion', () => {
  rejects('[limits]\nrecipents = 100\n', 'mailroom.toml: limits.recipents: unknown key (did you mean limits.recipients?)');
  rejects('[limit]\nrecipients = 100\n', 'mailroom.toml: limit: unknown key (did you mean limits?)');
  rejects('[imap]\nport = 143\n', /^mailroom\.toml: imap\.port: unknown key/);
  rejects('[listen]\nimapx = ":143"\n', /^mailroom\.toml: listen\.imapx: unknown key/);
  rejects('[limits.recipients]\nx = 1\n', /^mailroom\.toml: limits\.recipients: expected a whole number ≥ 100, got a table$/);
  rejects('__proto__ = 1\n', /^mailroom\.toml: __proto__: unknown key/);
});

test('TOML syntax errors give file, line and column', () => {
  rejects('[limits]\nrecipients = \n', /^mailroom\.toml: line 2, column \d+: /);
  rejects('a = 1\na = 2\n', /^mailroom\.toml: line 2/);
});

test('listen addresses', () => {
  assert.deepEqual(parseListenAddress('0.0.0.0:25'), { host: '0.0.0.0', port: 25 });
  assert.deepEqual(parseListenAddress('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListenAddress('[::1]:25'), { host: '::1', port: 25 });
  assert.deepEqual(parseListenAddress('[::]:587'), { host: '::', port: 587 });
  assert.deepEqual(parseListenAddress(':25'), { host: '', port: 25 });
  assert.deepEqual(parseListenAddress('localhost:2525'), { host: 'localhost', port: 2525 });
  for (const bad of ['25', '::1:25', '[::1]25', '[::1:25', '[1.2.3.4]:25', 'host:', 'host:x', 'host:65536', 'host:-1', 'bad host:25', 'a:1:2']) {
    assert.throws(() => parseListenAddress(bad), /expected "host:port"/, bad);
  }
  assert.throws(() => parseListenAddress('::1:25'), /brackets/);
  rejects('[listen]\nsmtp = "25"\n', 'mailroom.toml: listen.smtp: expected "host:port", "[::1]:25" or ":25" (all interfaces), got "25": missing ":port"');
  assert.equal(formatListenAddress({ host: '::1', port: 25 }), '[::1]:25');
  assert.equal(formatListenAddress({ host: '', port: 25 }), ':25');
});

test('loadConfig: a path, ./mailroom.toml, or the defaults', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mailroom-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'custom.toml');
  writeFileSync(file, '[limits]\nrecipients = 250\n');
  assert.equal(loadConfig(file).limits.recipients, 250);
  assert.throws(() => loadConfig(join(dir, 'missing.toml')), { name: 'ConfigError', message: `${join(dir, 'missing.toml')}: cannot read the configuration file: no such file` });
  writeFileSync(file, '[limits]\nrecipients = 1\n');
  assert.throws(() => loadConfig(file), { message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: limits\\.recipients: `) });

  const cwd = process.cwd();
  t.after(() => process.chdir(cwd));
  process.chdir(dir);
  assert.deepEqual(loadConfig(undefined), defaultConfig());
  writeFileSync(join(dir, 'mailroom.toml'), 'data_dir = "elsewhere"\n');
  const c = loadConfig(undefined);
  assert.equal(c.data_dir, 'elsewhere');
  assert.deepEqual(c.listen, {});
});

test('[tls]: certificates, min_version, ciphers, self_signed', () => {
  const c = parseConfig(
    `[listen]
submission = ":587"
submissions = "[::]:465"
[tls]
certificates = [
  { cert = "/etc/ssl/a/fullchain.pem", key = "/etc/ssl/a/key.pem" },
  { cert = "b.pem", key = "b.key" },
]
min_version = "TLSv1.3"
ciphers = "ECDHE-RSA-AES256-GCM-SHA384"
self_signed = false
`,
    SRC,
  );
  assert.deepEqual(c.listen, { submission: { host: '', port: 587 }, submissions: { host: '::', port: 465 } });
  assert.deepEqual(c.tls, {
    certificates: [
      { cert: '/etc/ssl/a/fullchain.pem', key: '/etc/ssl/a/key.pem' },
      { cert: 'b.pem', key: 'b.key' },
    ],
    min_version: 'TLSv1.3',
    ciphers: 'ECDHE-RSA-AES256-GCM-SHA384',
    self_signed: false,
  });
  // [[tls.certificates]] (an array of tables) is the same thing
  const d = parseConfig('[[tls.certificates]]\ncert = "a.pem"\nkey = "a.key"\n[[tls.certificates]]\ncert = "b.pem"\nkey = "b.key"\n', SRC);
  assert.deepEqual(d.tls.certificates, [
    { cert: 'a.pem', key: 'a.key' },
    { cert: 'b.pem', key: 'b.key' },
  ]);
});

test('[tls] errors name the key, down to the certificate entry', () => {
  rejects('[tls]\ncertificates = "a.pem"\n', /^mailroom\.toml: tls\.certificates: expected an array of tables .*got "a\.pem"$/);
  rejects('[tls]\ncertificates = [ { cert = "a.pem", key = "a.key" }, { cert = "b.pem" } ]\n', /^mailroom\.toml: tls\.certificates\[1\]\.key: missing: the path of the PEM private key file$/);
  rejects('[tls]\ncertificates = [ { cert = "a.pem", key = 5 } ]\n', 'mailroom.toml: tls.certificates[0].key: expected a file path, got 5');
  rejects('[tls]\ncertificates = [ { cert = "a.pem", key = "a.key", chain = "c.pem" } ]\n', /^mailroom\.toml: tls\.certificates\[0\]\.chain: unknown key/);
  rejects('[tls]\ncertificates = [ "a.pem" ]\n', /^mailroom\.toml: tls\.certificates\[0\]: expected a table/);
  rejects('[tls]\nmin_version = "TLSv1.1"\n', 'mailroom.toml: tls.min_version: expected one of "TLSv1.2", "TLSv1.3", got "TLSv1.1"');
  rejects('[tls]\nciphers = "NOT-A-CIPHER"\n', /^mailroom\.toml: tls\.ciphers: OpenSSL knows none of the ciphers in "NOT-A-CIPHER"/);
  rejects('[tls]\nself_signed = "yes"\n', 'mailroom.toml: tls.self_signed: expected true or false, got "yes"');
  rejects('[tls]\ncert = "a.pem"\n', /^mailroom\.toml: tls\.cert: unknown key/);
});
