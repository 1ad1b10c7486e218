/**
 * API keys and tenant policies, against the local stack or a deployment:
 *
 *   npm run keys -- create --tenant acme [--models a,b] [--may-degrade] [--may-queue]
 *                  [--priority batch] [--rate-limit 600] [--default-wait 30] [--job-deadline 3600]
 *                  [--config spillway.config.json]
 *   npm run keys -- list
 *   npm run keys -- revoke <hint | key id | key>
 *
 * Table: SPILLWAY_TABLE_TENANTS (default spillway-local-tenants). Endpoint:
 * SPILLWAY_DYNAMODB_ENDPOINT (the local stack prints it), else the AWS default
 * chain (AWS_ENDPOINT_URL, a profile, real credentials). The plain key is printed
 * once, alone on stdout; only its SHA-256 is stored. Listings show the hint and
 * a short key id (a hash prefix, useless for authenticating) for `revoke`.
 */
import { parseArgs } from 'node:util'
import { createAwsClients, destroyAwsClients } from '../shared/aws/clients.ts'
import { resolveGatewayConfig } from '../shared/config/config-source.ts'
import type { TenantDefaults } from '../shared/config/tenant-defaults.ts'
import { generateApiKey, hashApiKey, KEY_PREFIX, keyHint } from '../shared/tenants/api-keys.ts'
import { DynamoTenantStore } from '../shared/tenants/dynamo-tenant-store.ts'
import { type TenantPolicy, TenantPolicySchema } from '../shared/tenants/tenant-policy.ts'
import type { ApiKeyRecord, TenantStore } from '../shared/tenants/tenant-store.ts'

const USAGE = `Usage:
  npm run keys -- create --tenant <id> [--models a,b|*] [--[no-]may-degrade] [--[no-]may-queue]
                 [--priority interactive|batch] [--rate-limit <per minute>] [--default-wait <s>]
                 [--job-deadline <s>] [--config <file>]
      Creates the tenant (or updates the options given) and prints a new key once. A new
      tenant starts from the config file's tenantDefaults (--config, else SPILLWAY_CONFIG_FILE,
      else ./spillway.config.json).
  npm run keys -- list
  npm run keys -- revoke <hint (sk-spw-AbCd) | key id | the key itself>

Environment: SPILLWAY_TABLE_TENANTS (default spillway-local-tenants), SPILLWAY_DYNAMODB_ENDPOINT
(local stack) or the AWS default chain (AWS_REGION, AWS_ENDPOINT_URL, credentials).`

const KEY_ID_LENGTH = 12

class UsageError extends Error {}

const keyId = (record: ApiKeyRecord) => record.keyHash.slice(0, KEY_ID_LENGTH)
const err = (line: string) => process.stderr.write(`${line}\n`)

async function create(
  tenants: TenantStore,
  values: Record<string, string | boolean | undefined>,
  tenantDefaults: TenantDefaults | undefined,
): Promise<number> {
  if (typeof values.tenant !== 'string') throw new UsageError('create needs --tenant <id>')
  const id = TenantPolicySchema.shape.id.safeParse(values.tenant)
  if (!id.success) throw new UsageError(`invalid tenant id: ${id.error.issues[0]?.message ?? 'invalid'}`)
  const number = (name: string) => (typeof values[name] === 'string' ? Number(values[name]) : undefined)
  const given = {
    models: typeof values.models === 'string' ? values.models.split(',').map((m) => m.trim()) : undefined,
    mayDegrade: values['may-degrade'],
    mayQueue: values['may-queue'],
    priority: values.priority,
    rateLimitPerMinute: number('rate-limit'),
    defaultWaitSeconds: number('default-wait'),
    jobDeadlineSeconds: number('job-deadline'),
  }
  const existing = await tenants.getTenant(values.tenant)
  const parsed = TenantPolicySchema.safeParse({
    // Defaults shape new tenants only: an update changes just the options given.
    ...(existing ?? tenantDefaults),
    ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)),
    id: values.tenant,
  })
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  - ${i.path.join('.') || 'tenant'}: ${i.message}`)
    throw new UsageError(`invalid tenant policy:\n${problems.join('\n')}`)
  }
  const key = generateApiKey()
  await tenants.putTenant(parsed.data)
  await tenants.putKey({
    keyHash: hashApiKey(key),
    tenantId: parsed.data.id,
    hint: keyHint(key),
    createdAt: Date.now(),
  })
  err(`${existing ? 'Updated' : 'Created'} tenant ${describePolicy(parsed.data)}`)
  err(
    `New key ${keyHint(key)} (id ${hashApiKey(key).slice(0, KEY_ID_LENGTH)}). It is shown once; store it now:`,
  )
  process.stdout.write(`${key}\n`)
  return 0
}

async function list(tenants: TenantStore): Promise<number> {
  const [policies, keys] = await Promise.all([tenants.listTenants(), tenants.listKeys()])
  const ids = [...new Set([...policies.map((p) => p.id), ...keys.map((k) => k.tenantId)])].sort()
  if (ids.length === 0) err('No tenants yet: npm run keys -- create --tenant <id>')
  for (const id of ids) {
    const policy = policies.find((p) => p.id === id)
    process.stdout.write(`${policy ? describePolicy(policy) : `${id} (no policy: its keys are refused)`}\n`)
    for (const key of keys.filter((k) => k.tenantId === id)) {
      const status = key.revokedAt === undefined ? 'active' : `revoked ${iso(key.revokedAt)}`
      process.stdout.write(
        `  ${key.hint.padEnd(14)} id ${keyId(key)}  created ${iso(key.createdAt)}  ${status}\n`,
      )
    }
  }
  return 0
}

async function revoke(tenants: TenantStore, target: string | undefined): Promise<number> {
  if (!target) throw new UsageError('revoke needs a key hint, a key id or the key')
  const matches = (await tenants.listKeys()).filter(matcher(target))
  if (matches.length === 0) {
    err(`No key matches "${target}". See: npm run keys -- list`)
    return 1
  }
  if (matches.length > 1) {
    err(`"${target}" matches ${matches.length} keys; give the key id instead:`)
    for (const k of matches) err(`  ${k.hint} id ${keyId(k)} (tenant ${k.tenantId})`)
    return 1
  }
  const [key] = matches as [ApiKeyRecord]
  if (key.revokedAt !== undefined) {
    err(`Key ${key.hint} (id ${keyId(key)}) was already revoked at ${iso(key.revokedAt)}.`)
    return 0
  }
  await tenants.revokeKey(key.keyHash, Date.now())
  err(
    `Revoked key ${key.hint} (id ${keyId(key)}) of tenant ${key.tenantId}. Gateways stop accepting it within their key cache time (10 s by default).`,
  )
  return 0
}

/** A whole key, a key id (hash prefix, at least 8 hex digits) or a hint, with or without its ellipsis. */
function matcher(target: string): (key: ApiKeyRecord) => boolean {
  const wanted = target.replace(/(…|\.\.\.)$/, '')
  if (wanted.startsWith(KEY_PREFIX) && wanted.length > keyHint(wanted).length - 1) {
    const hash = hashApiKey(wanted)
    return (key) => key.keyHash === hash
  }
  if (/^[0-9a-f]{8,64}$/i.test(wanted)) return (key) => key.keyHash.startsWith(wanted.toLowerCase())
  return (key) => key.hint.replace(/…$/, '') === wanted
}

function describePolicy(p: TenantPolicy): string {
  const flags = [
    `models ${p.models.join(',')}`,
    p.mayDegrade ? 'may degrade' : 'no degrade',
    p.mayQueue ? 'may queue' : 'no queue',
    `priority ${p.priority}`,
    p.rateLimitPerMinute === undefined ? 'no rate limit' : `rate limit ${p.rateLimitPerMinute}/min`,
    `max hold ${p.maxHoldSeconds}s`,
    `job deadline ${p.jobDeadlineSeconds}s`,
  ]
  return `${p.id}: ${flags.join(', ')}`
}

const iso = (ms: number) => new Date(ms).toISOString()

async function main(argv: readonly string[], env: Record<string, string | undefined>): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    allowNegative: true,
    options: {
      tenant: { type: 'string' },
      models: { type: 'string' },
      'may-degrade': { type: 'boolean' },
      'may-queue': { type: 'boolean' },
      priority: { type: 'string' },
      'rate-limit': { type: 'string' },
      'default-wait': { type: 'string' },
      'job-deadline': { type: 'string' },
      config: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [command, ...rest] = positionals
  if (values.help || !command) {
    err(USAGE)
    return values.help ? 0 : 2
  }
  const endpoint = env.SPILLWAY_DYNAMODB_ENDPOINT
  const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? (endpoint ? 'us-east-1' : undefined)
  const clients = createAwsClients({
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoints: { dynamodb: endpoint } } : {}),
  })
  const tenants = new DynamoTenantStore({
    doc: clients.doc,
    tableName: env.SPILLWAY_TABLE_TENANTS || 'spillway-local-tenants',
  })
  try {
    if (command === 'create') {
      const { config } = resolveGatewayConfig({ flag: values.config, env, cwd: process.cwd() })
      return await create(tenants, values, config.tenantDefaults)
    }
    if (command === 'list') return await list(tenants)
    if (command === 'revoke') return await revoke(tenants, rest[0])
    throw new UsageError(`unknown command "${command}"`)
  } finally {
    destroyAwsClients(clients)
  }
}

main(process.argv.slice(2), process.env).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    const usage =
      error instanceof UsageError || String((error as { code?: unknown })?.code).startsWith('ERR_PARSE_ARGS')
    err(`keys: ${error instanceof Error ? error.message : String(error)}${usage ? `\n\n${USAGE}` : ''}`)
    process.exitCode = usage ? 2 : 1
  },
)
