#!/usr/bin/env node
// The installed `mailroom` command: hands over to the CLI entry point.
import '../src/cli/main.ts';
