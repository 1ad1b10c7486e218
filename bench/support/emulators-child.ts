/**
 * The embedded DynamoDB and SQS emulators in a process of their own, so their
 * work never runs on the load generator's event loop and distorts its clock.
 *
 *   child → { type: 'ready', env, endpoints }    parent → { type: 'stop' }
 */
import { startLocalAws } from '../../local/emulators.ts'

const aws = await startLocalAws({ prefix: process.env.SPILLWAY_BENCH_PREFIX ?? 'spillway-bench' })
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stop') void aws.stop().then(() => process.exit(0))
})
// The parent died without stopping us (killed, or its output pipe closed): do not linger.
process.on('disconnect', () => void aws.stop().finally(() => process.exit(0)))
process.send?.({ type: 'ready', env: aws.env, endpoints: aws.endpoints, queueUrls: aws.queueUrls })
