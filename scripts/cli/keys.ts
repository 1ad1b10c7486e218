import { resolveGatewayConfig } from '../../shared/config/config-source.ts'
import { createTenantKey, describeKey, revokeTenantKey } from '../../shared/tenants/tenant-keys.ts'
import type { TenantPolicy } from '../../shared/tenants/tenant-policy.ts'
import { CliError, UsageError } from './cli-error.ts'
import { type CommandContext, intFlag, type Subcommand } from './command.ts'
import { formatTable, printJson } from './output.ts'

/**
 * `spillway keys create|list|revoke`: tenants and API keys, in the tenants table
 * (the same logic as `/admin/keys`). The plain key is printed once, alone on
 * stdout; only its SHA-256 is stored.
 */
const tenantStore = async (context: CommandContext) => {
  const { clients, tables } = await context.target.tables()
  const { DynamoTenantStore } = await import('../../shared/tenants/dynamo-tenant-store.ts')
  return new DynamoTenantStore({ doc: clients.doc, tableName: tables.tenants })
}

/** How long gateways may keep accepting a revoked key: their key cache (`keyCacheMs`, 10 s by default). */
const REVOKE_BOUND = 'within 10 s (the gateways\u2019 key cache time)'

/** A new tenant starts from the config file's `tenantDefaults` (--config, else SPILLWAY_CONFIG_FILE, else ./spillway.config.json). */
function tenantDefaults(flag: unknown) {
  try {
    const { config } = resolveGatewayConfig({
      flag: typeof flag === 'string' ? flag : undefined,
      env: process.env,
      cwd: process.cwd(),
    })
    return config.tenantDefaults
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error))
  }
}

export const keysCommands: Record<string, Subcommand> = {
  create: {
    synopsis:
      'keys create --tenant ID [--models a,b|*] [--[no-]may-degrade] [--[no-]may-queue] [--priority interactive|batch] [--rate-limit N] [--max-hold S] [--max-concurrent-holds N] [--job-deadline S] [--config FILE]',
    options: {
      tenant: { type: 'string' },
      models: { type: 'string' },
      'may-degrade': { type: 'boolean' },
      'may-queue': { type: 'boolean' },
      priority: { type: 'string' },
      'rate-limit': { type: 'string' },
      'max-hold': { type: 'string' },
      'max-concurrent-holds': { type: 'string' },
      'job-deadline': { type: 'string' },
      config: { type: 'string' },
    },
    async run(context, { values }) {
      if (typeof values.tenant !== 'string') throw new UsageError('keys create needs --tenant ID')
      const created = await createTenantKey({
        tenants: await tenantStore(context),
        tenantId: values.tenant,
        changes: {
          ...(typeof values.models === 'string'
            ? { models: values.models.split(',').map((m) => m.trim()) }
            : {}),
          ...(typeof values['may-degrade'] === 'boolean' ? { mayDegrade: values['may-degrade'] } : {}),
          ...(typeof values['may-queue'] === 'boolean' ? { mayQueue: values['may-queue'] } : {}),
          ...(typeof values.priority === 'string' ? { priority: values.priority as 'batch' } : {}),
          rateLimitPerMinute: intFlag(values, 'rate-limit', 1),
          maxHoldSeconds: intFlag(values, 'max-hold'),
          maxConcurrentHolds: intFlag(values, 'max-concurrent-holds'),
          jobDeadlineSeconds: intFlag(values, 'job-deadline', 1),
        },
        defaults: tenantDefaults(values.config),
        now: Date.now(),
      })
      if (!created.ok) throw new UsageError(`invalid tenant policy: ${created.problems.join('; ')}`)
      if (context.json) {
        printJson(context.io, { key: created.key, ...describeKey(created.record), policy: created.tenant })
        return 0
      }
      context.io.err(
        `${created.createdTenant ? 'Created' : 'Updated'} tenant ${describePolicy(created.tenant)}`,
      )
      context.io.err(
        `New key ${created.record.hint} (id ${describeKey(created.record).id}); it is shown once, store it now:`,
      )
      context.io.out(created.key)
      return 0
    },
  },
  list: {
    synopsis: 'keys list',
    async run(context) {
      const tenants = await tenantStore(context)
      const [policies, keys] = await Promise.all([tenants.listTenants(), tenants.listKeys()])
      const views = keys.sort((a, b) => a.createdAt - b.createdAt).map(describeKey)
      if (context.json) {
        printJson(context.io, { tenants: policies.sort((a, b) => a.id.localeCompare(b.id)), data: views })
        return 0
      }
      if (policies.length === 0 && keys.length === 0) {
        context.io.err('No tenants yet: spillway keys create --tenant ID')
        return 0
      }
      context.io.out(
        formatTable(
          ['TENANT', 'MODELS', 'DEGRADE', 'QUEUE', 'PRIORITY', 'RATE/MIN', 'WAIT S', 'DEADLINE S'],
          policies.map((p) => [
            p.id,
            p.models.join(','),
            p.mayDegrade,
            p.mayQueue,
            p.priority,
            p.rateLimitPerMinute,
            p.defaultWaitSeconds,
            p.jobDeadlineSeconds,
          ]),
        ),
      )
      context.io.out('')
      context.io.out(
        formatTable(
          ['KEY', 'ID', 'TENANT', 'CREATED', 'STATUS'],
          views.map((k) => [
            k.hint,
            k.id,
            policies.some((p) => p.id === k.tenant) ? k.tenant : `${k.tenant} (no policy: refused)`,
            k.createdAt,
            k.revokedAt ? `revoked ${k.revokedAt}` : 'active',
          ]),
        ),
      )
      return 0
    },
  },
  revoke: {
    synopsis: 'keys revoke KEY-ID|HINT|KEY',
    positionals: ['KEY-ID'],
    async run(context, { positionals: [target = ''] }) {
      const revoked = await revokeTenantKey({ tenants: await tenantStore(context), target, now: Date.now() })
      if (!revoked.ok && revoked.reason === 'not-found')
        throw new CliError(`no key matches "${target}" (see: spillway keys list)`)
      if (!revoked.ok) {
        const ids = revoked.matches.map((k) => describeKey(k).id).join(', ')
        throw new CliError(`"${target}" matches ${revoked.matches.length} keys (${ids}); give the key id`)
      }
      const view = describeKey(revoked.record)
      if (context.json) printJson(context.io, { ...view, alreadyRevoked: revoked.alreadyRevoked })
      else if (revoked.alreadyRevoked)
        context.io.err(`Key ${view.hint} (id ${view.id}) was already revoked at ${view.revokedAt}.`)
      else
        context.io.err(
          `Revoked key ${view.hint} (id ${view.id}) of tenant ${view.tenant}; gateways refuse it ${REVOKE_BOUND}.`,
        )
      return 0
    },
  },
}

function describePolicy(p: TenantPolicy): string {
  const flags = [
    `models ${p.models.join(',')}`,
    p.mayDegrade ? 'may degrade' : 'no degrade',
    p.mayQueue ? 'may queue' : 'no queue',
    `priority ${p.priority}`,
    p.rateLimitPerMinute === undefined ? 'no rate limit' : `rate limit ${p.rateLimitPerMinute}/min`,
    p.maxConcurrentHolds === undefined ? 'no hold limit' : `at most ${p.maxConcurrentHolds} held at once`,
    `default wait ${p.defaultWaitSeconds}s`,
    `job deadline ${p.jobDeadlineSeconds}s`,
  ]
  return `${p.id}: ${flags.join(', ')}`
}
