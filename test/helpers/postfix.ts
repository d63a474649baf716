// A throwaway Postfix instance for interoperability tests, in the way of
// bench/postfix-baseline.sh: its own config, queue and data directories and
// Maildirs under one temporary directory (/tmp/mailroom-postfix-test-*, never
// the bench's /tmp/mailroom-postfix-bench), started with `postfix -c DIR` so
// /etc/postfix and the system instance are never touched. smtpd listens only
// on one loopback address (127.0.0.4 by default, bound by the smtpd line of
// master.cf: inet_interfaces takes only addresses an interface carries, so it
// is loopback-only) and a port picked here outside the kernel's ephemeral
// range, checked free and then checked to greet as this instance. It receives for virtual mailbox domains (Maildir,
// owned by nobody), relays chosen domains to fixed `[IP]:port` next hops
// (transport_maps with brackets: no MX lookup) and nothing else
// (default_transport is an error), uses no DNS at all
// (smtp_dns_support_level = disabled, no peer-name lookups), trusts
// 127.0.0.0/8 for relaying, and optionally does TLS with a self-signed
// certificate (smtpd `may`, smtp client `may`). stop() stops it and removes
// the directory; instances left behind by a test process that died are
// stopped and removed by the next start. Needs root (Postfix's master does)
// and the postfix package: `postfixUnavailable()` says why not, for a skip.

import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const PREFIX = 'mailroom-postfix-test-';
const MARKER = '.mailroom-postfix-test';
/** Delivered files belong to no real account. */
const VMAIL_UID = 65534;
const VMAIL_GID = 65534;

export interface PostfixOptions {
  /** Loopback address smtpd listens on (default 127.0.0.4). */
  address?: string;
  /** A fixed port; by default one is picked (20000-29999, checked free). */
  port?: number;
  /** myhostname (default mx.p.test). */
  hostname?: string;
  /** Virtual mailboxes (user@domain); their domains become virtual_mailbox_domains. */
  mailboxes: string[];
  /** Domains relayed to a fixed next hop: domain → "IP:port" (sent as smtp:[IP]:port). */
  relay?: Record<string, string>;
  /** smtpd offers STARTTLS with a self-signed certificate; the smtp client uses STARTTLS when offered. */
  tls?: boolean;
  /** Lines appended to main.cf. */
  extraMainCf?: string;
}

export interface MaildirMessage {
  file: string;
  content: string;
}

export interface PostfixInstance {
  address: string;
  port: number;
  hostname: string;
  version: string;
  /** The temporary directory that holds everything. */
  base: string;
  /** config_directory (pass to `postfix -c`, `postqueue -c`, `sendmail -C`). */
  etc: string;
  /** Messages delivered to a mailbox (Maildir new/ and cur/), oldest first. */
  maildir(mailbox: string): Promise<MaildirMessage[]>;
  /** Waits until a message in `mailbox` matches. */
  waitForMail(mailbox: string, match: (m: MaildirMessage) => boolean, timeoutMs?: number): Promise<MaildirMessage>;
  /** Postfix's own log (maillog_file). */
  log(): string;
  /** Files in the queue (incoming, active, deferred, hold, maildrop). */
  queued(): number;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

function which(cmd: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir || '.', cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

let postfixBin: string | null = null;
let postconfBin: string | null = null;

/** Why a throwaway Postfix cannot run here (for a test skip), or null when it can. */
export function postfixUnavailable(): string | null {
  postfixBin = which('postfix');
  postconfBin = which('postconf');
  if (!postfixBin || !postconfBin) return 'Postfix is not installed (apt-get install postfix)';
  if (process.getuid?.() !== 0) return "Postfix's master must start as root; these tests run as another user";
  let daemonDir: string;
  try {
    daemonDir = execFileSync(postconfBin, ['-d', '-h', 'daemon_directory'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'postconf does not work';
  }
  if (!fs.existsSync(path.join(daemonDir, 'master'))) return `Postfix's daemons are missing (${daemonDir}/master)`;
  try {
    execFileSync('id', ['postfix'], { stdio: 'ignore' });
    execFileSync('getent', ['group', 'postdrop'], { stdio: 'ignore' });
  } catch {
    return 'the postfix user or the postdrop group is missing';
  }
  return null;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The master's pid from its pid file, if that process is still a Postfix master. */
function masterPid(base: string): number | null {
  try {
    const pid = Number(fs.readFileSync(path.join(base, 'spool/pid/master.pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return null;
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'master' ? pid : null;
  } catch {
    return null;
  }
}

/** Stops an instance (synchronously, so it also works from an 'exit' handler). */
function stopSync(base: string): void {
  const etc = path.join(base, 'etc');
  if (postfixBin && fs.existsSync(path.join(etc, 'main.cf'))) {
    try {
      execFileSync(postfixBin, ['-c', etc, 'stop'], { stdio: 'ignore', timeout: 20_000 });
    } catch {
      /* not running, or already stopping */
    }
  }
  // A master that did not stop: by its pid file only, never by name.
  const deadline = Date.now() + 5000;
  for (let pid = masterPid(base); pid !== null; pid = masterPid(base)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      break;
    }
    execFileSync('sleep', ['0.1']);
  }
}

/** Instances whose test process died without stopping them. */
function reapStale(): void {
  let names: string[];
  try {
    names = fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith(PREFIX));
  } catch {
    return;
  }
  for (const n of names) {
    const base = path.join(os.tmpdir(), n);
    let owner: number;
    try {
      owner = Number(fs.readFileSync(path.join(base, MARKER), 'utf8').trim());
    } catch {
      continue; // not ours, or still being made
    }
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) continue;
    stopSync(base);
    fs.rmSync(base, { recursive: true, force: true });
  }
}

function portFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host, port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

/** Waits for a 220 greeting naming `hostname` at host:port. */
async function greets(host: string, port: number, hostname: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = await new Promise<string | null>((resolve) => {
      const s = net.connect({ host, port });
      let buf = '';
      const done = (v: string | null) => {
        s.destroy();
        resolve(v);
      };
      s.setTimeout(2000, () => done(null));
      s.on('error', () => done(null));
      s.on('data', (d) => {
        buf += d.toString('latin1');
        const nl = buf.indexOf('\r\n');
        if (nl >= 0) {
          s.write('QUIT\r\n');
          done(buf.slice(0, nl));
        }
      });
    });
    if (line !== null) return line.startsWith(`220 ${hostname} `);
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

function mainCf(o: {
  base: string;
  hostname: string;
  domains: string[];
  relay: Record<string, string>;
  tls: boolean;
  extra: string;
}): string {
  const etc = path.join(o.base, 'etc');
  const lines = [
    '# Throwaway test instance written by test/helpers/postfix.ts. Loopback only.',
    'compatibility_level = 3.6',
    `queue_directory = ${o.base}/spool`,
    `data_directory = ${o.base}/lib`,
    'mail_owner = postfix',
    'setgid_group = postdrop',
    `maillog_file = ${o.base}/log/maillog`,
    `maillog_file_prefixes = ${o.base}`,
    `myhostname = ${o.hostname}`,
    `mydomain = ${o.hostname.split('.').slice(1).join('.') || 'localdomain'}`,
    'myorigin = $myhostname',
    'mydestination =',
    // Postfix refuses an inet_interfaces address no interface carries, and
    // only 127.0.0.1 is assigned to lo: the smtpd service line in master.cf
    // binds the address explicitly instead; nothing else listens on the network.
    'inet_interfaces = loopback-only',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    // Clients on 127.0.0.1 count as "local" by default (permit_inet_interfaces)
    // and would get their headers rewritten: treat every client as remote.
    'local_header_rewrite_clients =',
    'relayhost =',
    'biff = no',
    'append_dot_mydomain = no',
    'readme_directory = no',
    'notify_classes =',
    // Nothing local; nothing relayed except the domains in transport_maps.
    'local_transport = error:local delivery is disabled',
    'local_recipient_maps =',
    'alias_maps =',
    'alias_database =',
    'default_transport = error:this test instance relays nowhere else',
    `relay_domains = ${Object.keys(o.relay).join(', ')}`,
    `transport_maps = texthash:${etc}/transport`,
    // No DNS: clients are not looked up, next hops are bracketed IP addresses.
    'smtpd_peername_lookup = no',
    'smtp_dns_support_level = disabled',
    'lmtp_dns_support_level = disabled',
    'smtp_host_lookup = native',
    // Retry soon if the next hop is down (the tests wait seconds, not minutes).
    'queue_run_delay = 1s',
    'minimal_backoff_time = 1s',
    'maximal_backoff_time = 2s',
    // Virtual mailboxes in Maildir (a map value ending in "/" means Maildir).
    `virtual_mailbox_domains = ${o.domains.join(', ')}`,
    `virtual_mailbox_maps = texthash:${etc}/vmailbox`,
    `virtual_mailbox_base = ${o.base}/vmail`,
    `virtual_uid_maps = static:${VMAIL_UID}`,
    `virtual_gid_maps = static:${VMAIL_GID}`,
    'virtual_minimum_uid = 100',
    'virtual_alias_maps =',
    'smtpd_client_restrictions =',
    'smtpd_helo_restrictions =',
    'smtpd_sender_restrictions =',
    'smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination',
    'smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination',
    'smtpd_client_connection_rate_limit = 0',
    'in_flow_delay = 0',
  ];
  if (o.tls) {
    lines.push(
      `smtpd_tls_cert_file = ${etc}/tls.pem`,
      `smtpd_tls_key_file = ${etc}/tls.key`,
      'smtpd_tls_security_level = may',
      'smtpd_tls_received_header = yes',
      'smtpd_tls_loglevel = 1',
      'smtp_tls_security_level = may',
      'smtp_tls_loglevel = 1',
    );
  } else {
    lines.push('smtpd_tls_security_level = none', 'smtp_tls_security_level = none');
  }
  if (o.extra) lines.push(o.extra);
  return lines.join('\n') + '\n';
}

function masterCf(address: string, port: number): string {
  // Debian's master.cf without chroot (our queue directory has no chroot files).
  return `# service type  private unpriv  chroot  wakeup  maxproc command
${address}:${port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
`;
}

const live = new Set<string>();
process.on('exit', () => {
  for (const base of live) {
    stopSync(base);
    fs.rmSync(base, { recursive: true, force: true });
  }
});

export async function startPostfix(o: PostfixOptions): Promise<PostfixInstance> {
  const why = postfixUnavailable();
  if (why) throw new Error(why);
  const postfix = postfixBin!;
  const address = o.address ?? '127.0.0.4';
  if (!address.startsWith('127.')) throw new Error('the test Postfix listens on loopback only');
  const hostname = o.hostname ?? 'mx.p.test';
  const relay = o.relay ?? {};
  const domains = [...new Set(o.mailboxes.map((m) => m.slice(m.lastIndexOf('@') + 1).toLowerCase()))];
  if (domains.length === 0) throw new Error('give at least one mailbox');
  const version = execFileSync(postconfBin!, ['-d', '-h', 'mail_version'], { encoding: 'utf8' }).trim();

  reapStale();
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), PREFIX));
  live.add(base);
  const etc = path.join(base, 'etc');
  try {
    await fsp.writeFile(path.join(base, MARKER), String(process.pid));
    for (const d of ['etc', 'spool', 'lib', 'vmail', 'log']) await fsp.mkdir(path.join(base, d));
    // Postfix's daemons (as postfix, or as nobody for Maildir delivery) must reach in.
    await fsp.chmod(base, 0o755);
    await fsp.chown(path.join(base, 'vmail'), VMAIL_UID, VMAIL_GID);
    const pf = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim());
    await fsp.chown(path.join(base, 'lib'), pf, -1);
    await fsp.chmod(path.join(base, 'lib'), 0o700);

    await fsp.writeFile(
      path.join(etc, 'vmailbox'),
      o.mailboxes.map((m) => `${m} ${m.slice(m.lastIndexOf('@') + 1)}/${m.slice(0, m.lastIndexOf('@'))}/\n`).join(''),
    );
    await fsp.writeFile(
      path.join(etc, 'transport'),
      Object.entries(relay)
        .map(([d, hop]) => {
          const i = hop.lastIndexOf(':');
          return `${d} smtp:[${hop.slice(0, i)}]:${hop.slice(i + 1)}\n`;
        })
        .join(''),
    );
    if (o.tls) {
      const r = await run('openssl', [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
        '-subj', `/CN=${hostname}`, '-addext', `subjectAltName=DNS:${hostname}`,
        '-keyout', path.join(etc, 'tls.key'), '-out', path.join(etc, 'tls.pem'),
      ]);
      if (r.code !== 0) throw new Error(`openssl could not make Postfix's certificate: ${r.out}`);
    }
    await fsp.writeFile(path.join(etc, 'main.cf'), mainCf({ base, hostname, domains, relay, tls: !!o.tls, extra: o.extraMainCf ?? '' }));

    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = o.port ?? 20000 + Math.floor(Math.random() * 10000);
      if (!(await portFree(address, port))) {
        if (o.port !== undefined || attempt >= 20) throw new Error(`no free port on ${address} for Postfix`);
        continue;
      }
      await fsp.writeFile(path.join(etc, 'master.cf'), masterCf(address, port));
      // `check` creates the queue directories with their owners and modes.
      const check = await run(postfix, ['-c', etc, 'check']);
      if (check.code !== 0) throw new Error(`postfix check failed: ${check.out}`);
      const start = await run(postfix, ['-c', etc, 'start']);
      if (start.code !== 0) throw new Error(`postfix start failed: ${start.out}\n${readLog(base)}`);
      if (await greets(address, port, hostname, 10_000)) break;
      // Someone took the port in between, or smtpd did not come up: try again elsewhere.
      stopSync(base);
      if (o.port !== undefined || attempt >= 5) throw new Error(`Postfix did not greet on ${address}:${port}\n${readLog(base)}`);
    }

    const vmail = path.join(base, 'vmail');
    const maildir = async (mailbox: string): Promise<MaildirMessage[]> => {
      const at = mailbox.lastIndexOf('@');
      const dir = path.join(vmail, mailbox.slice(at + 1), mailbox.slice(0, at));
      const out: { file: string; mtime: number }[] = [];
      for (const sub of ['new', 'cur']) {
        let names: string[] = [];
        try {
          names = await fsp.readdir(path.join(dir, sub));
        } catch {
          continue;
        }
        for (const n of names) {
          const file = path.join(dir, sub, n);
          out.push({ file, mtime: (await fsp.stat(file)).mtimeMs });
        }
      }
      out.sort((a, b) => a.mtime - b.mtime);
      return Promise.all(out.map(async (f) => ({ file: f.file, content: await fsp.readFile(f.file, 'utf8') })));
    };
    return {
      address,
      port,
      hostname,
      version,
      base,
      etc,
      maildir,
      async waitForMail(mailbox, match, timeoutMs = 15_000) {
        const deadline = Date.now() + timeoutMs;
        for (;;) {
          const m = (await maildir(mailbox)).find(match);
          if (m) return m;
          if (Date.now() > deadline) throw new Error(`no matching message for ${mailbox} in Postfix's Maildir\n--- Postfix log ---\n${readLog(base)}`);
          await new Promise((r) => setTimeout(r, 50));
        }
      },
      log: () => readLog(base),
      queued() {
        let n = 0;
        for (const q of ['incoming', 'active', 'deferred', 'hold', 'maildrop']) n += countFiles(path.join(base, 'spool', q));
        return n;
      },
      async stop() {
        if (!live.has(base)) return;
        live.delete(base);
        stopSync(base);
        await fsp.rm(base, { recursive: true, force: true });
      },
    };
  } catch (err) {
    live.delete(base);
    stopSync(base);
    await fsp.rm(base, { recursive: true, force: true });
    throw err;
  }
}

function readLog(base: string): string {
  try {
    return fs.readFileSync(path.join(base, 'log/maillog'), 'utf8');
  } catch {
    return '(no Postfix log)';
  }
}

function countFiles(dir: string): number {
  let n = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) n += e.isDirectory() ? countFiles(path.join(dir, e.name)) : 1;
  return n;
}
