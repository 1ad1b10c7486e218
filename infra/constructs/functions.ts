import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Duration, RemovalPolicy } from 'aws-cdk-lib'
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam'
import { Architecture, type ILayerVersion, Runtime } from 'aws-cdk-lib/aws-lambda'
import { type BundlingOptions, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs'
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs'
import type { Construct } from 'constructs'
import type { FunctionKey } from '../../shared/runtime/env-names.ts'

/** The repository root: entry paths, the lock file and esbuild's working directory hang off it. */
export const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url))

export type { FunctionKey } from '../../shared/runtime/env-names.ts'

export function entryPath(key: FunctionKey): string {
  return join(PROJECT_ROOT, 'functions', key, 'lambda.ts')
}

export interface SpillwayFunctionProps {
  /** Which entry point under `functions/` to bundle. */
  entry: FunctionKey
  description: string
  memorySize: number
  timeout: Duration
  environment: Record<string, string>
  /** Files the function reads at cold start (a config too big for the environment). */
  layers?: ILayerVersion[]
  logRetention: RetentionDays
  removalPolicy: RemovalPolicy
  /**
   * Concurrent executions reserved for (and capping) this function, so that long holds on
   * the public gateway cannot take the account's whole concurrency from the worker, the
   * reaper and the DLQ handler. Undefined: the unreserved pool, uncapped.
   */
  reservedConcurrency?: number
}

/**
 * A `NodejsFunction` with Spillway's defaults: Graviton, Node 24, ESM bundled by the
 * esbuild in node_modules (never Docker), the runtime's AWS SDK v3, source maps on.
 * Each function gets its own role and log group, so its IAM policy lists only what
 * it was granted (no `AWSLambdaBasicExecutionRole`, whose log grant is `*`).
 *
 * @example
 * const reaper = new SpillwayFunction(this, 'Reaper', {
 *   entry: 'reaper', description: 'Reclaims leases', memorySize: 256, timeout: Duration.seconds(50),
 *   environment: env, logRetention: RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY,
 * })
 * tables.grantItems(reaper, 'jobs', { access: 'readwrite' })
 */
export class SpillwayFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: SpillwayFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    })
    const role = new Role(scope, `${id}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Spillway ${props.entry} function`,
    })
    // Only its own log group: the managed basic-execution policy grants logs on `*`.
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    )
    super(scope, id, {
      entry: entryPath(props.entry),
      handler: 'handler',
      description: props.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role,
      logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
      layers: props.layers ?? [],
      bundling: BUNDLING,
      ...(props.reservedConcurrency === undefined
        ? {}
        : { reservedConcurrentExecutions: props.reservedConcurrency }),
    })
  }
}

/**
 * ESM output for Node 24. CJS dependencies bundled into ESM still call `require`
 * (Powertools' docs show the same banner), so a real one is made from `import.meta.url`.
 */
const BUNDLING: BundlingOptions = {
  format: OutputFormat.ESM,
  target: 'node24',
  mainFields: ['module', 'main'],
  banner: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
  minify: true,
  // A linked map (with its `sourceMappingURL` comment) for `--enable-source-maps`; stack
  // traces need the mappings, not the sources, so the zip stays small.
  sourceMap: true,
  sourcesContent: false,
  // The runtime ships AWS SDK v3: leaving it out keeps bundles small and cold starts short.
  externalModules: ['@aws-sdk/*'],
  forceDockerBundling: false,
  // Sizes are printed once, by scripts/synth-report.ts, after the synth.
  logLevel: LogLevel.WARNING,
}
