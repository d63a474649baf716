// Guards `npm test` against running on an older system Node: the pinned `node`
// devDependency must be first on PATH (npm puts node_modules/.bin there).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`mailroom needs Node.js 24 or newer; this is ${process.versions.node}. Run \`npm ci\` so the pinned Node is installed.`);
  process.exit(1);
}
