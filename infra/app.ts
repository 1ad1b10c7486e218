import { App, RemovalPolicy, Validations } from 'aws-cdk-lib'
import { AwsSolutionsChecks } from 'cdk-nag'
import { findConfigSource } from '../shared/config/config-source.ts'
import { ConfigError } from '../shared/config/gateway-config.ts'
import { SpillwayStack } from './spillway-stack.ts'

/**
 * `cdk synth` / `cdk deploy` entry (see cdk.json). Context, all optional:
 *   -c stackName=Spillway  -c alarmEmail=ops@example.com  -c deletionProtection=true  -c retain=true
 *   -c spillwayConfigFile=my.config.json  (else SPILLWAY_CONFIG_FILE, else ./spillway.config.json)
 * cdk-nag's AwsSolutions pack runs as a policy-validation plugin: any finding that is not
 * acknowledged (with a reason, next to its resource) fails the synthesis.
 */
const app = new App()
const context = (key: string): string | undefined => {
  const value: unknown = app.node.tryGetContext(key)
  return value === undefined || value === null || value === '' ? undefined : String(value)
}
const alarmEmail = context('alarmEmail')
// Read and validated by the stack: a broken file fails the synth with its path and every problem.
const configSource = findConfigSource({
  flag: context('spillwayConfigFile'),
  env: process.env,
  cwd: process.cwd(),
})

try {
  new SpillwayStack(app, context('stackName') ?? 'Spillway', {
    spillway: {
      ...(alarmEmail ? { alarmEmail } : {}),
      ...(configSource.kind === 'file' ? { configFile: configSource.file } : {}),
      deletionProtection: context('deletionProtection') === 'true',
      removalPolicy: context('retain') === 'true' ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    },
  })
} catch (error) {
  // The problems are the message; a stack trace into the CDK app would only bury them.
  if (!(error instanceof ConfigError)) throw error
  console.error(error.message)
  process.exit(1)
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app))
app.synth()
