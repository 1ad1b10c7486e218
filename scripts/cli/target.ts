import { readFileSync } from 'node:fs'
import { readStateFile, stateFilePath } from '../../local/state-file.ts'
import type { AwsClients } from '../../shared/aws/clients.ts'
import { CliError, UsageError } from './cli-error.ts'

/**
 * Where the CLI's commands go, found in this order:
 *   1. flags: `--gateway URL` (+ `--admin-key-env VAR`), `--outputs cdk-outputs.json` [`--stack NAME`];
 *   2. the environment: `SPILLWAY_GATEWAY_URL` + `SPILLWAY_ADMIN_KEY`, and for the tables
 *      `SPILLWAY_DYNAMODB_ENDPOINT` / `SPILLWAY_TABLE_*` / `AWS_REGION` (what `npm run keys` read);
 *   3. the state file a running `npm start` leaves (`.spillway/local-stack.json`): no setting at all.
 * The gateway's admin API serves `backends` and `capacity`; `keys` and `jobs` read and write the
 * tables (AWS credentials on a deployment). Each part is resolved only when a command needs it,
 * and the AWS SDK is loaded only then: `config check` or `backends list` start in a fraction of the time.
 */
export interface TargetFlags {
  readonly gateway?: string
  readonly 'admin-key-env'?: string
  readonly outputs?: string
  readonly stack?: string
  readonly state?: string
}

export interface AdminTarget {
  readonly gatewayUrl: string
  readonly adminKey: string
}

export interface TablesTarget {
  readonly clients: AwsClients
  readonly tables: { readonly backends: string; readonly jobs: string; readonly tenants: string }
}

export interface Target {
  /** Human-readable: where the commands go. */
  describe(): string
  admin(): Promise<AdminTarget>
  tables(): Promise<TablesTarget>
  close(): void
}

type Outputs = Record<string, string>

export function resolveTarget(flags: TargetFlags, env: Record<string, string | undefined>): Target {
  const outputs = flags.outputs ? readOutputs(flags.outputs, flags.stack) : undefined
  const explicitAws = Boolean(
    env.SPILLWAY_DYNAMODB_ENDPOINT || env.SPILLWAY_TABLE_TENANTS || env.SPILLWAY_TABLE_JOBS,
  )
  const local = () => {
    const read = readStateFile(flags.state ?? stateFilePath(env))
    if (!read.ok) {
      throw new CliError(
        `no running local stack found (${read.detail}); start one with \`npm start\`, or point at a deployment with --outputs cdk-outputs.json or --gateway URL`,
      )
    }
    return read.state
  }
  let clients: AwsClients | undefined
  let destroy: ((clients: AwsClients) => void) | undefined

  return {
    describe() {
      if (flags.gateway) return flags.gateway
      if (outputs) return `stack outputs ${flags.outputs}`
      if (env.SPILLWAY_GATEWAY_URL) return env.SPILLWAY_GATEWAY_URL
      return 'the local stack'
    },
    async admin() {
      const gatewayUrl = flags.gateway ?? outputs?.Url ?? env.SPILLWAY_GATEWAY_URL
      const keyVar = flags['admin-key-env'] ?? 'SPILLWAY_ADMIN_KEY'
      if (gatewayUrl) {
        const adminKey = env[keyVar] ?? (outputs?.AdminKeySecretArn ? await readSecret(outputs) : undefined)
        if (!adminKey) throw new CliError(`no admin key: set ${keyVar} (or use --admin-key-env VAR)`)
        return { gatewayUrl: gatewayUrl.replace(/\/+$/, ''), adminKey }
      }
      const state = local()
      return { gatewayUrl: state.gatewayUrl, adminKey: state.adminKey }
    },
    async tables() {
      const source: Record<string, string | undefined> = outputs
        ? {
            AWS_REGION: outputs.Region ?? env.AWS_REGION,
            SPILLWAY_TABLE_BACKENDS: outputs.BackendsTable,
            SPILLWAY_TABLE_JOBS: outputs.JobsTable,
            SPILLWAY_TABLE_TENANTS: outputs.TenantsTable,
          }
        : explicitAws || flags.gateway
          ? env
          : local().aws
      const endpoint = source.SPILLWAY_DYNAMODB_ENDPOINT
      const region =
        source.AWS_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined)
      if (!region) throw new CliError('no AWS region: set AWS_REGION, or use --outputs cdk-outputs.json')
      // An endpoint means an emulator, and `createAwsClients` gives it dummy credentials.
      if (!clients) {
        const aws = await import('../../shared/aws/clients.ts')
        clients = aws.createAwsClients({ region, ...(endpoint ? { endpoints: { dynamodb: endpoint } } : {}) })
        destroy = aws.destroyAwsClients
      }
      return {
        clients,
        tables: {
          backends: source.SPILLWAY_TABLE_BACKENDS || 'spillway-local-backends',
          jobs: source.SPILLWAY_TABLE_JOBS || 'spillway-local-jobs',
          tenants: source.SPILLWAY_TABLE_TENANTS || 'spillway-local-tenants',
        },
      }
    },
    close() {
      if (clients) destroy?.(clients)
    },
  }
}

/** `cdk deploy --outputs-file FILE` writes `{ "<stack>": { "Url": …, … } }`. */
function readOutputs(path: string, stack: string | undefined): Outputs {
  let parsed: Record<string, Outputs>
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as Record<string, Outputs>
  } catch (error) {
    throw new CliError(`cannot read the stack outputs ${path}: ${(error as Error).message}`)
  }
  const names = Object.keys(parsed)
  const name = stack ?? (names.length === 1 ? names[0] : undefined)
  if (!name)
    throw new UsageError(`${path} holds several stacks (${names.join(', ')}); choose one with --stack NAME`)
  const outputs = parsed[name]
  if (!outputs) throw new CliError(`${path} has no stack named ${name} (it has ${names.join(', ')})`)
  return outputs
}

async function readSecret(outputs: Outputs): Promise<string | undefined> {
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager')
  const client = new SecretsManagerClient({ ...(outputs.Region ? { region: outputs.Region } : {}) })
  try {
    return (await client.send(new GetSecretValueCommand({ SecretId: outputs.AdminKeySecretArn })))
      .SecretString
  } catch (error) {
    throw new CliError(`cannot read the admin key from Secrets Manager: ${(error as Error).message}`)
  } finally {
    client.destroy()
  }
}
