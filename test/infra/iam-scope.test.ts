import type { Template } from 'aws-cdk-lib/assertions'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

/**
 * Each function's IAM policy, read back from the template as "logical id → actions":
 * a test names exactly the tables, queues and secrets a function may touch, so a grant
 * added to the wrong function (or a wildcard) fails here.
 */
type Statement = { Effect: string; Action: string | string[]; Resource: unknown }
type Resource = { Type: string; Properties: Record<string, unknown> }

let synth: Synthesized
let template: Template

beforeAll(async () => {
  synth = await synthSpillway()
  template = synth.template
})
afterAll(() => synth.remove())

type FunctionName = 'Gateway' | 'Worker' | 'DeadLetters' | 'Reaper'

function idOf(type: string, prefix: string): string {
  const ids = Object.keys(template.findResources(type)).filter((id) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  )
  expect(ids, `${type} ${prefix}`).toHaveLength(1)
  return ids[0]!
}

function roleOf(fn: FunctionName): string {
  const resource = template.findResources('AWS::Lambda::Function')[
    idOf('AWS::Lambda::Function', `Spillway${fn}`)
  ] as Resource
  return (resource.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]
}

function statementsOf(fn: FunctionName): Statement[] {
  const role = roleOf(fn)
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter((policy) => JSON.stringify(policy.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
}

/** Logical ids a policy resource entry points at (through Ref, GetAtt or a joined ARN). */
function referencedIds(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencedIds)
  if (value && typeof value === 'object') {
    const record = value as Record<string, unknown>
    if (typeof record.Ref === 'string') return record.Ref.startsWith('AWS::') ? [] : [record.Ref]
    if (Array.isArray(record['Fn::GetAtt'])) return [String(record['Fn::GetAtt'][0])]
    return Object.values(record).flatMap(referencedIds)
  }
  return []
}

function grantsOf(fn: FunctionName): Map<string, Set<string>> {
  const grants = new Map<string, Set<string>>()
  for (const statement of statementsOf(fn)) {
    expect(statement.Effect).toBe('Allow')
    const actions = [statement.Action].flat()
    for (const id of referencedIds(statement.Resource)) {
      const set = grants.get(id) ?? new Set<string>()
      for (const action of actions) set.add(action)
      grants.set(id, set)
    }
  }
  return grants
}

const table = (name: string) => idOf('AWS::DynamoDB::Table', `SpillwayTables${name}`)
const queue = (name: string) => idOf('AWS::SQS::Queue', `SpillwayQueues${name}`)
const secret = (name: string) => idOf('AWS::SecretsManager::Secret', `SpillwaySecrets${name}`)
const logs = (fn: FunctionName) => idOf('AWS::Logs::LogGroup', `Spillway${fn}Logs`)

const CONSUME = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']

describe('IAM scope', () => {
  it('gives the gateway its three tables, send on both queues, the depth of all four queues and the three secrets it reads', () => {
    const grants = grantsOf('Gateway')
    expect([...grants.keys()].sort()).toEqual(
      [
        logs('Gateway'),
        table('Backends'),
        table('Jobs'),
        table('Tenants'),
        queue('Interactive'),
        queue('Batch'),
        queue('InteractiveDeadLetter'),
        queue('BatchDeadLetter'),
        secret('AdminKey'),
        secret('AgentKey'),
        secret('BackendKey'),
      ].sort(),
    )
    for (const name of ['Interactive', 'Batch']) {
      expect(grants.get(queue(name))).toContain('sqs:SendMessage')
      for (const action of CONSUME) expect(grants.get(queue(name))).not.toContain(action)
    }
    // The dead-letter queues only for GET /admin/queues: their depth, never their messages.
    for (const name of ['InteractiveDeadLetter', 'BatchDeadLetter'])
      expect([...(grants.get(queue(name)) ?? [])]).toEqual(['sqs:GetQueueAttributes'])
    expect(grants.get(table('Tenants'))).toContain('dynamodb:UpdateItem')
    expect([...(grants.get(secret('AdminKey')) ?? [])].sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ])
  })

  it('lets the worker consume and re-send on both queues, with no access to tenants', () => {
    const grants = grantsOf('Worker')
    expect([...grants.keys()].sort()).toEqual(
      [
        logs('Worker'),
        table('Backends'),
        table('Jobs'),
        queue('Interactive'),
        queue('Batch'),
        secret('WebhookKey'),
        secret('BackendKey'),
      ].sort(),
    )
    for (const name of ['Interactive', 'Batch']) {
      for (const action of [...CONSUME, 'sqs:SendMessage']) expect(grants.get(queue(name))).toContain(action)
    }
  })

  // Defect 13: every writer had DeleteItem and BatchWriteItem on every table it wrote.
  it('grants DeleteItem only on the backends table, to the three functions that end tombstones, and BatchWriteItem to nobody', () => {
    const deleters: string[] = []
    for (const fn of ['Gateway', 'Worker', 'Reaper', 'DeadLetters'] as const) {
      for (const [id, actions] of grantsOf(fn)) {
        expect(actions, `${fn} on ${id}`).not.toContain('dynamodb:BatchWriteItem')
        if (actions.has('dynamodb:DeleteItem'))
          deleters.push(`${fn}:${id === table('Backends') ? 'Backends' : id}`)
      }
    }
    expect(deleters.sort()).toEqual(['Gateway:Backends', 'Reaper:Backends', 'Worker:Backends'])
  })

  it('never lets the gateway read the webhook signing key, which it does not use', () => {
    expect(grantsOf('Gateway').has(secret('WebhookKey'))).toBe(false)
  })

  it('lets the DLQ handler consume the dead-letter queues, write jobs and read the webhook key, nothing else', () => {
    const grants = grantsOf('DeadLetters')
    expect([...grants.keys()].sort()).toEqual(
      [
        logs('DeadLetters'),
        table('Jobs'),
        queue('InteractiveDeadLetter'),
        queue('BatchDeadLetter'),
        secret('WebhookKey'),
      ].sort(),
    )
    for (const name of ['InteractiveDeadLetter', 'BatchDeadLetter']) {
      for (const action of CONSUME) expect(grants.get(queue(name))).toContain(action)
      expect(grants.get(queue(name))).not.toContain('sqs:SendMessage')
    }
  })

  it('lets the reaper query the jobs indexes by name, send to both queues and read the webhook key', () => {
    const grants = grantsOf('Reaper')
    expect([...grants.keys()].sort()).toEqual(
      [
        logs('Reaper'),
        table('Backends'),
        table('Jobs'),
        queue('Interactive'),
        queue('Batch'),
        secret('WebhookKey'),
      ].sort(),
    )
    const indexStatement = statementsOf('Reaper').find((statement) =>
      JSON.stringify(statement.Resource).includes('/index/'),
    )
    for (const index of ['by-open-status', 'by-webhook-due'])
      expect(JSON.stringify(indexStatement?.Resource)).toContain(
        `{"Ref":"${table('Jobs')}"},"/index/${index}"`,
      )
    expect([indexStatement?.Action].flat()).toContain('dynamodb:Query')
  })

  it('lets the worker, the reaper and the DLQ handler only read the webhook key, never the admin or agent key', () => {
    for (const fn of ['Worker', 'Reaper', 'DeadLetters'] as const) {
      const grants = grantsOf(fn)
      expect([...(grants.get(secret('WebhookKey')) ?? [])].sort(), fn).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ])
      for (const other of ['AdminKey', 'AgentKey']) expect(grants.has(secret(other)), fn).toBe(false)
    }
  })

  it('never grants a wildcard resource or action, nor any table-level DynamoDB action', () => {
    const policies = JSON.stringify(template.findResources('AWS::IAM::Policy'))
    expect(policies).not.toMatch(/"Resource":"\*"/)
    expect(policies).not.toMatch(/"[a-z0-9-]+:\*"/)
    expect(policies).not.toMatch(/dynamodb:(CreateTable|DeleteTable|UpdateTable|CreateBackup|RestoreTable)/)
  })

  it('uses no AWS managed policy (each role writes only to its own log group)', () => {
    for (const role of Object.values(template.findResources('AWS::IAM::Role') as Record<string, Resource>)) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined()
    }
  })

  it('names exactly the indexes each function queries, each by its ARN', () => {
    const indexesOf = (fn: FunctionName) =>
      [...JSON.stringify(statementsOf(fn)).matchAll(/\/index\/([a-z-]+)/g)].map((m) => m[1]).sort()
    expect(indexesOf('Gateway')).toEqual(['by-open-status'])
    expect(indexesOf('Reaper')).toEqual(['by-open-status', 'by-webhook-due'])
    expect(indexesOf('Worker')).toEqual([])
    expect(indexesOf('DeadLetters')).toEqual([])
  })
})
