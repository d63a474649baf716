// Entry point of the `mailroom` command (`node src/cli/main.ts ARGS`, and
// bin/mailroom.ts for `npx mailroom`): runs the command line and exits with
// its status. See run.ts for the commands and exit codes.

import { run } from './run.ts';

const code = await run(process.argv.slice(2));
// Exit explicitly (`serve` may leave timers behind), once what was written to
// stdout and stderr has been handed to the OS: an empty write's callback runs
// after every earlier write on that stream.
await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => s.write('', () => resolve()))));
process.exit(code);
