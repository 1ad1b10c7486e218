import { App, type PolicyValidationPluginReport, Stack, Validations } from 'aws-cdk-lib'
import { Queue } from 'aws-cdk-lib/aws-sqs'
import { AwsSolutionsChecks } from 'cdk-nag'
import type { IConstruct } from 'constructs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

/**
 * cdk-nag v3 is a policy-validation plugin (`Validations.of(app).addPlugins`), and
 * acknowledgements are `Validations.of(construct).acknowledge({ id, reason })`.
 * `validateScope` runs the same rules over the construct tree and returns the report.
 */
let synth: Synthesized

beforeAll(async () => {
  synth = await synthSpillway()
})
afterAll(() => synth.remove())

function findings(report: PolicyValidationPluginReport): string[] {
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map(
      (resource) =>
        `${violation.severity} ${violation.ruleName} at ${resource.constructPath}: ${violation.description}`,
    ),
  )
}

/** Every acknowledgement in the tree: `{ path, id, reason }`. */
function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  )
}

describe('cdk-nag AwsSolutionsChecks', () => {
  it('reports no unacknowledged error or warning on the Spillway stack', () => {
    const report = new AwsSolutionsChecks(synth.app).validateScope(synth.app)
    expect(findings(report)).toEqual([])
    expect(report.success).toBe(true)
  })

  it('gives every acknowledgement a written reason', () => {
    const acks = acknowledgements(synth.app)
    expect(acks.length).toBeGreaterThan(0)
    for (const ack of acks) {
      expect(ack.id, ack.path).toMatch(/^AwsSolutions-/)
      expect(ack.reason.length, `${ack.id} at ${ack.path}`).toBeGreaterThanOrEqual(40)
    }
  })

  it('lets the app synthesize with the plugin registered, as `cdk synth` does', () => {
    Validations.of(synth.app).addPlugins(new AwsSolutionsChecks(synth.app))
    expect(() => synth.app.synth({ force: true })).not.toThrow()
  })

  it('does catch a finding: a queue without DLQ or TLS policy is reported', () => {
    // Guards against a vacuous pass (a pack that checks nothing also reports nothing).
    const app = new App()
    new Queue(new Stack(app, 'Bad'), 'Plain')
    const rules = new AwsSolutionsChecks(app)
      .validateScope(app)
      .violations.map((violation) => violation.ruleName)
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-SQS3', 'AwsSolutions-SQS4']))
  })
})
