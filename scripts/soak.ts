import { parseArgs } from 'node:util'
import { runSoak } from './soak/run-soak.ts'

// `npm run soak -- --minutes N`: steady load with backend faults; RSS, open handles and
// latency over time, then a cool-down that must show no growth.
const { values } = parseArgs({
  options: { minutes: { type: 'string', default: '5' }, seed: { type: 'string', default: '1' } },
})
const minutes = Number(values.minutes)
const seed = Number(values.seed)
if (!(minutes > 0) || !Number.isInteger(seed)) {
  console.error('Usage: npm run soak -- --minutes N [--seed S]')
  process.exit(2)
}
const result = await runSoak({
  seconds: Math.round(minutes * 60),
  seed,
  sampleEverySeconds: minutes <= 1 ? 5 : 15,
  log: (line) => console.log(line),
})
for (const growth of result.growth) console.log(`growth: ${growth}`)
console.log(
  `soak: ${result.requests} requests, ${result.faults} faults, ${result.samples.length} samples, ` +
    `${result.growth.length === 0 ? 'no growth after the load' : `${result.growth.length} growth findings`}`,
)
process.exit(result.growth.length === 0 ? 0 : 1)
