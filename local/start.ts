import { randomBytes } from 'node:crypto'
import { parseArgs } from 'node:util'
import {
  describeConfigSource,
  type ResolvedConfig,
  resolveGatewayConfig,
} from '../shared/config/config-source.ts'
import { withTenantDefaults } from '../shared/config/tenant-defaults.ts'
import { generateWebhookSecret, parseWebhookSecret } from '../shared/jobs/webhook-secret.ts'
import { consoleLogger } from '../shared/logging.ts'
import { portInUse } from './port-check.ts'
import { startProcessStack } from './process-stack.ts'
import { removeStateFile, stateFilePath, writeStateFile } from './state-file.ts'

// `npm start`: the whole system on this machine, no AWS account, no Docker.
const USAGE = `Usage: npm start [-- --config FILE] [--data-dir DIR] [--speed N] [--dynamodb local]

  --config FILE   hardware classes, models and tenant defaults (else SPILLWAY_CONFIG_FILE,
                  else ./spillway.config.json, else the built-in default)
  --data-dir DIR  keep tables, jobs, backends and queued messages across restarts
  --speed N       simulator timing factor (1 = realistic, 0.1 = ten times faster)
  --dynamodb local  AWS's DynamoDB Local (needs Java 17) instead of dynalite: the real limits

Settings (environment): PORT, SPILLWAY_FLEET, SPILLWAY_DEV_KEY, SPILLWAY_ADMIN_KEY,
SPILLWAY_BACKEND_API_KEY, SPILLWAY_WEBHOOK_SECRET, SPILLWAY_STATE_FILE, SPILLWAY_CONFIG_FILE,
SPILLWAY_CORS_ORIGINS, AWS_ENDPOINT_URL`

/** A problem the user can fix: one line on stderr, no stack trace (2: bad invocation, 1: cannot start). */
function fail(message: string, code: 1 | 2): never {
  console.error(`spillway: ${message}`)
  if (code === 2) console.error('Run `npm start -- --help` for the options.')
  process.exit(code)
}

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        config: { type: 'string' },
        'data-dir': { type: 'string' },
        dynamodb: { type: 'string' },
        speed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }).values
  } catch (error) {
    return fail((error as Error).message, 2)
  }
}

// Captured before the (slow, on a loaded machine) start-up: a parent that dies meanwhile is noticed.
const parent = process.ppid
const args = parseCommandLine()
if (args.help) {
  console.log(USAGE)
  process.exit(0)
}

const port = Number(process.env.PORT ?? 8787)
if (!Number.isInteger(port) || port < 0 || port > 65_535)
  fail(`PORT must be a port number, not "${process.env.PORT}"`, 2)
const speed = args.speed === undefined ? 1 : Number(args.speed)
if (!(speed > 0)) fail(`--speed must be a positive number, not "${args.speed}"`, 2)
let webhookSecret: string
try {
  webhookSecret = process.env.SPILLWAY_WEBHOOK_SECRET
    ? parseWebhookSecret(process.env.SPILLWAY_WEBHOOK_SECRET)
    : generateWebhookSecret()
} catch (error) {
  fail(`SPILLWAY_WEBHOOK_SECRET: ${(error as Error).message}`, 2)
}

const settings = {
  port,
  fleet: process.env.SPILLWAY_FLEET ?? 'h20=2x4,cpu=1x2',
  devKey: process.env.SPILLWAY_DEV_KEY ?? 'sk-spillway-dev',
  adminKey: process.env.SPILLWAY_ADMIN_KEY ?? 'sk-spillway-admin',
  agentKey: process.env.SPILLWAY_AGENT_KEY ?? 'sk-spillway-agent',
  // The simulators demand it like vLLM's --api-key, so the local stack runs as a protected fleet would.
  backendApiKey:
    process.env.SPILLWAY_BACKEND_API_KEY ?? `sk-backend-${randomBytes(18).toString('base64url')}`,
  webhookSecret,
  webhookSecretGenerated: !process.env.SPILLWAY_WEBHOOK_SECRET,
  stateFile: stateFilePath(process.env),
}
let resolved: ResolvedConfig
try {
  resolved = resolveGatewayConfig({ flag: args.config, env: process.env, cwd: process.cwd() })
} catch (error) {
  console.error(`Spillway failed to start: ${error instanceof Error ? error.message : String(error)}`)
  process.exit(1)
}
const { config } = resolved
if (args.dynamodb !== undefined && args.dynamodb !== 'local' && args.dynamodb !== 'dynalite') {
  console.error(
    `Unknown --dynamodb "${args.dynamodb}": use local (DynamoDB Local) or dynalite (the default).`,
  )
  process.exit(2)
}
const dynamodb = args.dynamodb === 'local' ? 'local' : 'dynalite'
const startedAt = performance.now()
const step = (message: string) => process.stdout.write(`  … ${message}\n`)

// Checked before anything starts, so a busy port costs no emulator start-up and says so plainly.
if (settings.port !== 0 && (await portInUse(settings.port)))
  fail(
    `port ${settings.port} on 127.0.0.1 is in use; stop what holds it, or set PORT (PORT=0 picks a free one)`,
    1,
  )

console.log('Spillway: starting the local stack')
step(`config ${describeConfigSource(resolved.source)}: ${config.models.map((m) => m.id).join(', ')}`)
step(
  process.env.AWS_ENDPOINT_URL
    ? `using AWS endpoint ${process.env.AWS_ENDPOINT_URL}`
    : `embedded DynamoDB (${dynamodb === 'local' ? 'DynamoDB Local, Java' : 'dynalite'}) and SQS (fauxqs)`,
)
// The gateway alone in this process; emulators, fleet and workers in children of their own.
const stack = await startProcessStack({
  fleet: settings.fleet,
  speed,
  port: settings.port,
  config,
  ...(args['data-dir'] ? { dataDir: args['data-dir'] } : {}),
  dynamodb,
  ...(process.env.AWS_ENDPOINT_URL ? { endpointUrl: process.env.AWS_ENDPOINT_URL } : {}),
  adminKey: settings.adminKey,
  agentKey: settings.agentKey,
  backendApiKey: settings.backendApiKey,
  // Checked by the gateway's own env reader: a malformed origin stops the start with its name.
  ...(process.env.SPILLWAY_CORS_ORIGINS ? { corsOrigins: process.env.SPILLWAY_CORS_ORIGINS.split(',') } : {}),
  webhookSecret: settings.webhookSecret,
  workers: true,
  openDashboard: true,
  tenants: [
    {
      key: settings.devKey,
      policy: withTenantDefaults(config.tenantDefaults, {
        id: 'dev',
        mayDegrade: true,
        mayQueue: true,
        priority: 'interactive',
      }),
    },
  ],
  log: consoleLogger({ level: (process.env.LOG_LEVEL as 'info') ?? 'warn', service: 'local' }),
}).catch((error: unknown) =>
  fail(`failed to start: ${error instanceof Error ? error.message : String(error)}`, 1),
)

let stopping = false
const shutdown = async (reason: string, code: 0 | 1 = 0) => {
  if (stopping) return
  stopping = true
  removeStateFile(settings.stateFile, process.pid)
  console.log(`\n${reason}: stopping the gateway, the fleet and the emulators…`)
  const force = setTimeout(() => process.exit(1), 10_000)
  force.unref()
  await stack.stop()
  console.log('Spillway stopped.')
  process.exit(code)
}
process.on('SIGINT', () => void shutdown('SIGINT'))
process.on('SIGTERM', () => void shutdown('SIGTERM'))
process.on('SIGHUP', () => void shutdown('SIGHUP'))
// A part that dies (killed, crashed) leaves a stack that cannot serve: stop all of it, with a reason.
void stack.lostChild.then((name) => {
  console.error(`spillway: the ${name} process ended`)
  void shutdown('a local-stack process ended', 1)
})
// Whatever ends the process, the state file must not outlive it.
process.on('exit', () => removeStateFile(settings.stateFile, process.pid))
// Run through `npm start`, a signal may end npm and its shell but not this process: once the
// parent is gone (re-parented to init), stop as if signalled rather than keep holding the port.
setInterval(() => {
  if (process.ppid !== parent) void shutdown('parent process exited')
}, 500).unref()

step(`fleet ${settings.fleet}: waiting for ${stack.fleet.backends.length} backends to register`)
await stack.ready()
writeStateFile(settings.stateFile, {
  version: 1,
  pid: process.pid,
  startedAt: new Date().toISOString(),
  gatewayUrl: stack.gatewayUrl,
  adminKey: settings.adminKey,
  aws: stack.aws.env,
})

const url = stack.gatewayUrl
const lines = [
  '',
  `Spillway is up in ${((performance.now() - startedAt) / 1000).toFixed(1)} s`,
  '',
  `  gateway      ${url}   (OpenAI base URL: ${url}/v1; API docs: ${url}/docs)`,
  `  dashboard    ${url}/dashboard   (live pools, queue, routes; /metrics for Prometheus, no key locally)`,
  `  dynamodb     ${stack.aws.endpoints.dynamodb}${stack.aws.embedded ? `  (${dynamodb === 'local' ? 'DynamoDB Local' : 'dynalite'}, embedded)` : ''}`,
  `  sqs          ${stack.aws.endpoints.sqs}${stack.aws.embedded ? '  (fauxqs, embedded)' : ''}`,
  '  worker       polling the interactive and batch queues; DLQ handler and reaper running',
  `  processes    gateway ${process.pid} (alone on its event loop); emulators ${stack.pids.emulators}, fleet ${stack.pids.fleet}, workers ${stack.pids.workers}`,
  ...stack.fleet.backends.map(
    (b) =>
      `  backend      ${b.id.padEnd(8)} ${b.url}  ${b.hardware}, ${b.maxConcurrency} slots, ${b.models.join(', ')}`,
  ),
  '',
  `  dev key      ${settings.devKey}   (may fall back to CPU, may queue)`,
  `  admin key    ${settings.adminKey}`,
  `  webhook key  ${settings.webhookSecret}   (${settings.webhookSecretGenerated ? 'random per run; set SPILLWAY_WEBHOOK_SECRET to keep one' : 'from SPILLWAY_WEBHOOK_SECRET'}; verify with any Standard Webhooks library)`,
  '  backend key  the simulators require a bearer key on /v1 (SPILLWAY_BACKEND_API_KEY, random per run)',
  `  state file   ${settings.stateFile}   (the spillway CLI finds this stack through it)`,
  '',
  'Try:',
  `  curl -s ${url}/v1/chat/completions -H 'authorization: Bearer ${settings.devKey}' \\`,
  `    -H 'content-type: application/json' \\`,
  `    -d '{"model":"${config.models[0]?.id}","messages":[{"role":"user","content":"Hello"}]}' -i`,
  '  npm run spillway -- backends list',
  '  npm run spillway -- keys create --tenant t1 --may-queue',
  '  add  -H "prefer: respond-async"  to get a 202 and a job to poll at /v1/jobs/{id} when the GPUs are full',
  '',
  'Ctrl-C stops everything.',
]
console.log(lines.join('\n'))
