import { parseArgs } from 'node:util'
import { chaosSummary, runChaos } from './chaos/run-chaos.ts'

// `npm run chaos -- --minutes N [--seed S]`: the chaos suite against the local stack.
const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '5' },
    seed: { type: 'string' },
    quiet: { type: 'boolean' },
  },
})
const minutes = Number(values.minutes)
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
if (!(minutes > 0) || !Number.isInteger(seed) || seed < 0) {
  console.error('Usage: npm run chaos -- --minutes N [--seed S]   (N > 0, S a whole number)')
  process.exit(2)
}
const result = await runChaos({
  seconds: Math.round(minutes * 60),
  seed,
  ...(values.quiet ? {} : { log: (line: string) => console.log(line) }),
})
for (const violation of result.violations) console.log(`violation: ${violation}`)
console.log(`faults: ${JSON.stringify(result.faultsByKind)}`)
console.log(`outcomes: ${JSON.stringify(result.outcomes)}`)
console.log(chaosSummary(result))
process.exit(result.violations.length === 0 ? 0 : 1)
