// Plain JavaScript on purpose: it must run, and explain itself, on any Node.
// npm scripts run on the pinned `node` devDependency (node_modules/.bin comes
// first on PATH); this catches a script started some other way, or an install
// whose `node` package did not set up. Spillway runs its TypeScript sources
// directly (type stripping without a flag from 22.18) and the SQS emulator
// needs node:sqlite.
const [major, minor] = process.versions.node.split('.').map(Number)
const ok = major > 22 || (major === 22 && minor >= 18)
if (!ok) {
  console.error(
    `Spillway needs Node.js 24 (at least 22.18); this is Node.js ${process.versions.node}.\n` +
      'Run it through npm (npm start, npm test, npm run …), which uses the pinned Node 24 in\n' +
      'node_modules/.bin after npm ci; or install Node 24 (https://nodejs.org, nvm install 24).',
  )
  process.exit(1)
}
