// Starts a real Mailroom server in-process on an ephemeral loopback port with
// a temporary data directory, for end-to-end tests. Log lines are captured so
// tests can assert on them.
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/types.ts';
import { createLogger } from '../../src/log/logger.ts';
import { startServer, type RunningServer } from '../../src/server/server.ts';
import { hashCredentials } from '../../src/auth/credentials.ts';
import { tempDir } from './temp-dir.ts';
import type { Store } from '../../src/store/store.ts';

export interface TestServer {
  server: RunningServer;
  config: Config;
  port: number;
  /** The IMAP listener's port, when the toml has `imap = "127.0.0.1:0"` under [listen]. */
  imapPort: number;
  dataDir: string;
  logs: Record<string, unknown>[];
  stop(): Promise<void>;
}

export interface TestServerOptions {
  /** Extra TOML appended to the base config (sections allowed). */
  toml?: string;
  domains?: string[];
  /** address → password */
  users?: Record<string, string>;
  quotas?: Record<string, number>;
  aliases?: Record<string, string[]>;
  /** Passed to startServer: wrap the store (fault injection). */
  wrapStore?: (store: Store) => Store;
  /** Injected clock. */
  now?: () => Date;
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const tmp = await tempDir();
  const toml = `hostname = "mx.test.example"\ndata_dir = ${JSON.stringify(tmp.dir)}\n${o.toml ?? ''}\n`;
  const withListen = /\[listen\]/.test(toml) ? toml : toml + '[listen]\nsmtp = "127.0.0.1:0"\n';
  // Never ask a real DNS server from a test: a dead loopback port unless the test brings its own.
  const withDns = /\[dns\]/.test(withListen) ? withListen : withListen + '[dns]\nservers = ["127.0.0.1:9"]\ntimeout = "300ms"\n';
  // Sender authentication (SPF/DKIM/DMARC) only where a test asks for it: with the dead DNS
  // above every message would wait for DNS timeouts and be deferred (temperror).
  const withAuth = /\[auth_checks\]/.test(withDns) ? withDns : withDns + '[auth_checks]\nenabled = false\n';
  // Abuse defences (rate limits, spam scoring) only where a test asks for them: many tests send
  // bursts from 127.0.0.1 and compare stored bytes, which limits and X-Spam headers would change.
  const withAbuse = ['rate_limit', 'spam'].reduce((t, sec) => (new RegExp(`\\[${sec}\\]`).test(t) ? t : t + `[${sec}]\nenabled = false\n`), withAuth);
  const config = parseConfig(withAbuse, 'test.toml');
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger({ level: 'debug', write: (line) => void logs.push(JSON.parse(line)) });
  const server = await startServer(config, { logger, wrapStore: o.wrapStore, now: o.now });
  const store = server.store;
  for (const d of o.domains ?? ['example.org']) await store.addDomain(d);
  for (const [address, pw] of Object.entries(o.users ?? {})) {
    const { passwordHash, scram } = await hashCredentials(pw);
    await store.addAccount({ address, passwordHash, scram, quotaBytes: o.quotas?.[address] ?? 0 });
  }
  for (const [src, targets] of Object.entries(o.aliases ?? {})) await store.addAlias(src, targets);
  return {
    server,
    config,
    port: server.ports.smtp!,
    imapPort: server.ports.imap!,
    dataDir: tmp.dir,
    logs,
    async stop() {
      await server.close('test done');
      await tmp.remove();
    },
  };
}

/** Messages in an account's INBOX, with their bytes. */
export async function inbox(ts: TestServer, address: string): Promise<{ uid: number; content: string }[]> {
  const store = ts.server.store;
  const acc = await store.getAccount(address);
  if (!acc) throw new Error(`no account ${address}`);
  const mb = await store.getMailbox(acc.id, 'INBOX');
  const msgs = await store.listMessages(mb!.id);
  return Promise.all(msgs.map(async (m) => ({ uid: m.uid, content: (await store.readBlob(m.blobId)).toString('utf8') })));
}
