// Runs `mailroom serve` as a child process (so tests can kill -9 it) with a
// config in a temp directory, and learns the bound port from its log.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'src/cli/main.ts');

export interface ChildServer {
  proc: ChildProcess;
  port: number;
  stderr: string[];
  exited: Promise<number | null>;
}

export async function writeConfig(dir: string, extra = ''): Promise<string> {
  const file = path.join(dir, 'mailroom.toml');
  // A dead loopback DNS server unless the test brings one: tests never query real DNS.
  const dns = /\[dns\]/.test(extra) ? '' : '[dns]\nservers = ["127.0.0.1:9"]\ntimeout = "300ms"\n';
  // Sender authentication only where a test asks for it (with the dead DNS it would defer every message).
  const authChecks = /\[auth_checks\]/.test(extra) ? '' : '[auth_checks]\nenabled = false\n';
  // Abuse defences only where a test asks (crash tests send bursts from one IP).
  const abuse = ['rate_limit', 'spam'].filter((sec) => !new RegExp(`\\[${sec}\\]`).test(extra)).map((sec) => `[${sec}]\nenabled = false\n`).join('');
  await fs.writeFile(file, `hostname = "mx.test.example"\ndata_dir = ${JSON.stringify(path.join(dir, 'data'))}\n[listen]\nsmtp = "127.0.0.1:0"\n${dns}${authChecks}${abuse}${extra}\n`);
  return file;
}

export async function startChildServer(configFile: string, timeoutMs = 15000): Promise<ChildServer> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('server did not start: ' + stderr.join(''))), timeoutMs);
    let partial = '';
    const onData = (d: Buffer) => {
      partial += d.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        stderr.push(line);
        try {
          const rec = JSON.parse(line);
          if (rec.msg === 'listening' && rec.role === 'smtp') {
            clearTimeout(t);
            resolve(rec.port);
          }
        } catch {
          /* not a log line */
        }
      }
    };
    proc.stderr!.on('data', onData);
    proc.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`server exited with ${code}: ${stderr.join('\n')}`));
    });
  });
  return { proc, port, stderr, exited };
}

/** Runs the CLI to completion. */
export function runCli(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('exit', (code) => resolve({ code, stdout, stderr }));
    p.stdin.end(input ?? '');
  });
}
