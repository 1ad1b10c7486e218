/**
 * The embedded DynamoDB and SQS emulators in a process of their own under
 * `npm start`, so their work never runs on the gateway's event loop.
 *
 *   child → { type: 'ready', aws }    parent → { type: 'stop' }
 */
import { type StartLocalAwsOptions, startLocalAws } from '../emulators.ts'
import { childOptions, stopWithParent } from './child-lifecycle.ts'

process.title = 'spillway-emulators'
const aws = await startLocalAws(childOptions<StartLocalAwsOptions>())
stopWithParent(() => aws.stop())
const { stop: _stop, ...info } = aws
process.send?.({ type: 'ready', aws: info })
