// Gets a new password for `user add` and `user passwd`: either the first line
// of standard input (--password-stdin, for scripts) or an interactive prompt
// on the terminal (/dev/tty) with echo off, asked twice and compared. The
// password never appears on the command line, where `ps` would show it.

import { openSync } from 'node:fs';
import readline from 'node:readline';
import { Writable } from 'node:stream';
import tty from 'node:tty';
import { CliError, EXIT_USAGE } from './context.ts';

export async function newPassword(fromStdin: boolean): Promise<string> {
  const pw = fromStdin ? await firstLineOfStdin() : await promptTwice();
  if (pw === '') throw new CliError('the password is empty', EXIT_USAGE);
  return pw;
}

/** The first line of stdin without its line ending; the rest is ignored. */
export async function firstLineOfStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (chunk.includes(0x0a)) break; // leaving the loop destroys the stream
  }
  const text = Buffer.concat(chunks).toString('utf8');
  const nl = text.indexOf('\n');
  const line = nl < 0 ? text : text.slice(0, nl);
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

async function promptTwice(): Promise<string> {
  const term = openTerminal();
  try {
    const first = await term.ask('New password: ');
    if (first === '') throw new CliError('the password is empty', EXIT_USAGE);
    const second = await term.ask('Repeat the password: ');
    if (first !== second) throw new CliError('the passwords do not match');
    return first;
  } finally {
    term.close();
  }
}

interface Terminal {
  ask(prompt: string): Promise<string>;
  close(): void;
}

function openTerminal(): Terminal {
  let inFd: number;
  let outFd: number;
  try {
    inFd = openSync('/dev/tty', 'r');
    outFd = openSync('/dev/tty', 'w');
  } catch {
    throw new CliError('no terminal to ask for the password on: pipe it in with --password-stdin', EXIT_USAGE);
  }
  const input = new tty.ReadStream(inFd);
  const screen = new tty.WriteStream(outFd);
  // readline echoes what is typed to its output; while muted, drop it.
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) screen.write(chunk);
      done();
    },
  });
  return {
    ask(prompt) {
      return new Promise((resolve, reject) => {
        const rl = readline.createInterface({ input, output, terminal: true, historySize: 0 });
        rl.on('SIGINT', () => {
          rl.close();
          screen.write('\n');
          reject(new CliError('cancelled', 130));
        });
        muted = false;
        rl.question(prompt, (answer) => {
          muted = false;
          screen.write('\n');
          rl.close();
          resolve(answer);
        });
        muted = true;
      });
    },
    close() {
      input.destroy();
      screen.destroy();
    },
  };
}
