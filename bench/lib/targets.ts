import type { Agent } from 'node:http'
import type { Payload } from './bench-setup.ts'
import { type CallResult, type CallTarget, callCompletion } from './http-call.ts'

/** A function that sends one request of `payload`, spreading calls round robin over `targets`. */
export function caller(options: {
  agent: Agent
  targets: readonly CallTarget[]
  payload: Payload
}): (scheduledAt?: number) => Promise<CallResult> {
  let next = 0
  return (scheduledAt) => {
    const target = options.targets[next++ % options.targets.length]!
    return callCompletion({
      agent: options.agent,
      target,
      body: options.payload.body,
      stream: options.payload.stream,
      ...(scheduledAt === undefined ? {} : { startedAt: scheduledAt }),
    })
  }
}
