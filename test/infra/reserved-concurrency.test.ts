import { Match } from 'aws-cdk-lib/assertions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

// Defect 12: no function had reserved concurrency, so long holds on the public gateway
// could take the account's whole concurrency and starve the worker, reaper and DLQ handler.
let synth: Synthesized
let small: Synthesized

beforeAll(async () => {
  synth = await synthSpillway()
  small = await synthSpillway({ props: { spillway: { reserveConcurrency: false } } })
})
afterAll(async () => {
  await synth.remove()
  await small.remove()
})

const functionWith = (description: string, concurrency: unknown) =>
  Match.objectLike({
    Properties: Match.objectLike({
      Description: Match.stringLikeRegexp(description),
      ReservedConcurrentExecutions: concurrency,
    }),
  })

describe('Reserved concurrency', () => {
  it('caps the gateway at 50 concurrent invocations by default', () => {
    synth.template.hasResource('AWS::Lambda::Function', functionWith('^Spillway gateway', 50))
  })

  it('reserves for the worker as many as its two event sources may run (5 each by default)', () => {
    synth.template.hasResource('AWS::Lambda::Function', functionWith('^Spillway worker', 10))
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      ScalingConfig: { MaximumConcurrency: 5 },
    })
  })

  it('reserves 4 for the DLQ handler and exactly 1 for the reaper, so sweeps never overlap', () => {
    synth.template.hasResource('AWS::Lambda::Function', functionWith('^Spillway DLQ handler', 4))
    synth.template.hasResource('AWS::Lambda::Function', functionWith('^Spillway reaper', 1))
  })

  it('reserves nothing when switched off, for accounts whose quota cannot spare any', () => {
    const functions = Object.values(small.template.findResources('AWS::Lambda::Function')) as {
      Properties: Record<string, unknown>
    }[]
    const spillway = functions.filter((f) => String(f.Properties.Description ?? '').startsWith('Spillway'))
    expect(spillway).toHaveLength(4)
    for (const f of spillway) expect(f.Properties.ReservedConcurrentExecutions).toBeUndefined()
  })
})
