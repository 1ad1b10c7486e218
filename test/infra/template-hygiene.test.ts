import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Synthesized, synthSpillway } from './synth-spillway.ts'

/**
 * What `cdk diff` and a reviewer rely on: no secret in the template, its parameters or a
 * function's environment, and the same source synthesizing to the same template (bundles
 * included: NodejsFunction hashes the esbuild output, so a nondeterministic bundle would
 * show up as a code change on every deploy).
 */
type Resource = { Type: string; Properties: Record<string, unknown> }

let first: Synthesized
let second: Synthesized

// Two bundled syntheses: minutes, not seconds, on a loaded 2-core machine.
beforeAll(async () => {
  first = await synthSpillway({ bundle: true })
  second = await synthSpillway({ bundle: true })
}, 300_000)
afterAll(async () => {
  await first.remove()
  await second.remove()
})

describe('template hygiene', () => {
  it('synthesizes the same template twice, bundle hashes included', () => {
    expect(second.template.toJSON()).toEqual(first.template.toJSON())
  })

  it('takes no parameter but the bootstrap version, so nothing secret is passed in', () => {
    expect(Object.keys(first.template.toJSON().Parameters ?? {})).toEqual(['BootstrapVersion'])
  })

  it('generates secret values at deploy time instead of carrying them in the template', () => {
    const secrets = Object.values(first.template.findResources('AWS::SecretsManager::Secret')) as Resource[]
    expect(secrets).toHaveLength(4)
    for (const secret of secrets) {
      expect(secret.Properties.SecretString).toBeUndefined()
      expect(secret.Properties.GenerateSecretString).toMatchObject({
        PasswordLength: 48,
        ExcludePunctuation: true,
      })
    }
    // A dynamic reference in an environment variable would put the plain value in the function config.
    expect(JSON.stringify(first.template.toJSON())).not.toContain('{{resolve:secretsmanager')
  })

  it('passes secrets to functions as ARNs, never as plain environment variables', () => {
    const secretIds = Object.keys(first.template.findResources('AWS::SecretsManager::Secret'))
    const functions = Object.values(first.template.findResources('AWS::Lambda::Function')) as Resource[]
    for (const fn of functions) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables
      // The local stack's plain-key variables must never reach a deployment.
      for (const plain of ['SPILLWAY_ADMIN_KEY', 'SPILLWAY_AGENT_KEY', 'SPILLWAY_WEBHOOK_SECRET']) {
        expect(variables[plain]).toBeUndefined()
      }
      for (const [name, value] of Object.entries(variables)) {
        if (!/SECRET|KEY|TOKEN|PASSWORD/.test(name)) continue
        expect(name).toMatch(/_SECRET_ARN$/)
        expect(secretIds).toContain((value as { Ref?: string }).Ref)
      }
    }
  })
})
