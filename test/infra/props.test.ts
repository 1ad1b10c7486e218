import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib'
import type { Template } from 'aws-cdk-lib/assertions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SpillwayQueues } from '../../infra/constructs/queues.ts'
import { SpillwayGateway } from '../../infra/constructs/spillway-gateway.ts'
import { DEFAULT_CONFIG } from '../../shared/config/gateway-config.ts'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string }

let synth: Synthesized
let template: Template

beforeAll(async () => {
  synth = await synthSpillway({
    props: {
      spillway: {
        removalPolicy: RemovalPolicy.RETAIN,
        deletionProtection: true,
        worker: { maxConcurrency: 12, batchSize: 2 },
        logLevel: 'DEBUG',
        config: { ...DEFAULT_CONFIG, leaseTtlSeconds: 30 },
        gateway: { corsOrigins: ['https://app.example.com'] },
      },
    },
  })
  template = synth.template
})
afterAll(() => synth.remove())

describe('SpillwayGateway props', () => {
  it('retains and protects the tables when asked', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table')) as Resource[]
    expect(tables).toHaveLength(3)
    for (const table of tables) {
      expect(table.DeletionPolicy).toBe('Retain')
      expect(table.Properties.DeletionProtectionEnabled).toBe(true)
    }
  })

  it('applies the worker concurrency and batch size to both event sources', () => {
    const mappings = Object.values(template.findResources('AWS::Lambda::EventSourceMapping')) as Resource[]
    const worker = mappings.filter((mapping) =>
      JSON.stringify(mapping.Properties.FunctionName).includes('SpillwayWorker'),
    )
    expect(worker).toHaveLength(2)
    for (const mapping of worker) {
      expect(mapping.Properties).toMatchObject({ BatchSize: 2, ScalingConfig: { MaximumConcurrency: 12 } })
    }
  })

  it('passes the typed config and log level to the functions', () => {
    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Resource[]
    for (const fn of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables
      expect(JSON.parse(variables.SPILLWAY_CONFIG ?? '{}')).toMatchObject({ leaseTtlSeconds: 30 })
      expect(variables.LOG_LEVEL).toBe('DEBUG')
    }
  })

  it('gives the gateway alone its CORS origins, and the Function URL no CORS of its own to answer in its place', () => {
    const functions = Object.entries(template.findResources('AWS::Lambda::Function')) as [string, Resource][]
    const origins = functions.map(([id, fn]) => [
      id.includes('Gateway'),
      (fn.Properties.Environment as { Variables: Record<string, string> }).Variables.SPILLWAY_CORS_ORIGINS,
    ])
    expect(origins.filter(([gateway]) => gateway).map(([, value]) => value)).toEqual([
      'https://app.example.com',
    ])
    expect(origins.filter(([gateway]) => !gateway).every(([, value]) => value === undefined)).toBe(true)
    const urls = Object.values(template.findResources('AWS::Lambda::Url')) as Resource[]
    expect(urls).toHaveLength(1)
    expect(urls[0]?.Properties.Cors).toBeUndefined()
  })

  it('refuses a CORS origin browsers would never send, at synth', () => {
    const stack = new Stack(new App(), 'BadOrigin')
    expect(
      () =>
        new SpillwayGateway(stack, 'Spillway', { gateway: { corsOrigins: ['https://app.example.com/'] } }),
    ).toThrow(/SPILLWAY_CORS_ORIGINS: not an origin .*"https:\/\/app.example.com\/"/)
  })

  it('refuses an invalid gateway config at synth, naming the problem', () => {
    const stack = new Stack(new App(), 'Broken')
    const config = { ...DEFAULT_CONFIG, models: [{ id: 'm', tiers: [{ hardware: ['tpu'], model: 'm' }] }] }
    expect(() => new SpillwayGateway(stack, 'Spillway', { config })).toThrow(/unknown hardware class "tpu"/)
  })

  it('refuses a worker timeout the queues visibility timeout cannot cover 6 times', () => {
    const app = new App()
    const stack = new Stack(app, 'SlowWorker')
    new SpillwayQueues(stack, 'Queues', {
      workerTimeout: Duration.minutes(6),
      deadLetterHandlerTimeout: Duration.seconds(30),
      removalPolicy: RemovalPolicy.DESTROY,
    })
    expect(() => app.synth()).toThrow(/visibility timeout 1800 s is under 6 x the worker timeout \(360 s\)/)
  })
})
