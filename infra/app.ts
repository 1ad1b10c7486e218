import { App, RemovalPolicy, Validations } from 'aws-cdk-lib'
import { AwsSolutionsChecks } from 'cdk-nag'
import { SpillwayStack } from './spillway-stack.ts'

/**
 * `cdk synth` / `cdk deploy` entry (see cdk.json). Context, all optional:
 *   -c stackName=Spillway  -c alarmEmail=ops@example.com  -c deletionProtection=true  -c retain=true
 * cdk-nag's AwsSolutions pack runs as a policy-validation plugin: any finding that is not
 * acknowledged (with a reason, next to its resource) fails the synthesis.
 */
const app = new App()
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key)
  return value === undefined || value === null || value === '' ? undefined : String(value)
}
const alarmEmail = context('alarmEmail')

new SpillwayStack(app, context('stackName') ?? 'Spillway', {
  spillway: {
    ...(alarmEmail ? { alarmEmail } : {}),
    deletionProtection: context('deletionProtection') === 'true',
    removalPolicy: context('retain') === 'true' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  },
})
Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
app.synth()
