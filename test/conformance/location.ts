// Where the external conformance suites live: ../shared/conformance beside
// the checkout when it is there (the team's shared copy), otherwise the copy
// vendored in test/conformance/suites (same files, each with its SOURCE.md and
// licence), so a clean clone on a fresh CI machine runs every suite in full
// instead of skipping it.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const shared = resolve(repoRoot, '../shared/conformance');
const vendored = resolve(repoRoot, 'test/conformance/suites');

export const conformanceDir = existsSync(resolve(shared, 'README.md')) ? shared : vendored;
