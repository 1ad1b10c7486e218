/**
 * `spillway agent`: runs next to one model server, registers it with a
 * Spillway gateway and heartbeats its live load (see shared/agent/).
 *
 *   SPILLWAY_AGENT_KEY=… node scripts/cli/agent.ts --engine vllm \
 *     --backend-url http://127.0.0.1:8000 --gateway https://xyz.lambda-url.eu-west-1.on.aws \
 *     --id h20-a --hardware h20 --slots 64
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT, 1 a fatal problem (logged), 2 bad usage.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { type AgentLogger, startBackendAgent } from '../../shared/agent/backend-agent.ts'
import { ENGINES, isEngineName, positiveInt } from '../../shared/agent/engine-dialects.ts'
import { API_KINDS, type ApiKind, isApiKind } from '../../shared/backends/backend-apis.ts'

const USAGE = `Usage: spillway agent --engine ${ENGINES.join('|')} --backend-url URL --gateway URL --id ID --hardware CLASS [options]

  --engine ENGINE        the model server's metric dialect (openai: no metrics, health and models only)
  --backend-url URL      the model server, e.g. http://127.0.0.1:8000 (without /v1)
  --gateway URL          the Spillway gateway (local: http://127.0.0.1:8787)
  --id ID                backend id, unique in the fleet (letters, digits, . _ -)
  --hardware CLASS       hardware class from the gateway's configuration (h20, cpu, …)
  --models A,B           model ids to register (default: the server's /v1/models)
  --apis A,B             OpenAI APIs it serves: ${API_KINDS.join(', ')} (default: chat,completions;
                         vLLM: chat,completions,responses, or embeddings for an embedding model)
  --slots N              requests it runs at once (default: llama.cpp /props total_slots, or a
                         vLLM/SGLang config gauge when present; otherwise required)
  --advertise-url URL    the URL the gateway should call, if not --backend-url
  --interval-seconds N   heartbeat interval (default 5; keep it well under heartbeatStaleSeconds)
  --agent-key-file PATH  file holding the agent key (default: $SPILLWAY_AGENT_KEY)
  --backend-api-key-file PATH  key the server demands on /v1 (default: $SPILLWAY_BACKEND_API_KEY)
  --drain-on-exit        on SIGTERM, ask the gateway to drain the backend before exiting
  --verbose              one line per heartbeat, not only per state change
`

export interface AgentCommandOptions {
  readonly env?: Record<string, string | undefined>
  /** Stops the agent like SIGTERM (tests); the process signals do too. */
  readonly signal?: AbortSignal
  readonly logger?: AgentLogger & { error(line: string): void }
}

/** @example process.exitCode = await runAgentCommand(['--engine', 'llamacpp', '--backend-url', url, …]) */
export async function runAgentCommand(argv: string[], options: AgentCommandOptions = {}): Promise<number> {
  const env = options.env ?? process.env
  const logger = options.logger ?? console
  const parsed = parseFlags(argv, env)
  if (parsed === 'help') {
    logger.info(USAGE)
    return 0
  }
  if (typeof parsed === 'string') {
    logger.error(`spillway agent: ${parsed}\n\n${USAGE}`)
    return 2
  }

  const agent = startBackendAgent({ ...parsed.agent, logger })
  const stop = new AbortController()
  const onSignal = () => stop.abort()
  process.once('SIGTERM', onSignal)
  process.once('SIGINT', onSignal)
  options.signal?.addEventListener('abort', onSignal, { once: true })
  const stopped = new Promise<'stopped'>((resolve) => {
    if (stop.signal.aborted) resolve('stopped')
    stop.signal.addEventListener('abort', () => resolve('stopped'), { once: true })
  })
  try {
    const outcome = await Promise.race([agent.finished.then((status) => status.state), stopped])
    if (outcome === 'failed') return 1
    await agent.stop({ drain: parsed.drainOnExit })
    return 0
  } finally {
    process.off('SIGTERM', onSignal)
    process.off('SIGINT', onSignal)
    await agent.stop()
  }
}

type ParsedFlags = {
  readonly agent: Omit<Parameters<typeof startBackendAgent>[0], 'logger'>
  readonly drainOnExit: boolean
}

function parseFlags(argv: string[], env: Record<string, string | undefined>): ParsedFlags | 'help' | string {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: argv,
      strict: true,
      options: {
        engine: { type: 'string' },
        'backend-url': { type: 'string' },
        gateway: { type: 'string' },
        id: { type: 'string' },
        hardware: { type: 'string' },
        models: { type: 'string' },
        apis: { type: 'string' },
        slots: { type: 'string' },
        'advertise-url': { type: 'string' },
        'interval-seconds': { type: 'string', default: '5' },
        'agent-key-file': { type: 'string' },
        'backend-api-key-file': { type: 'string' },
        'drain-on-exit': { type: 'boolean', default: false },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values
  } catch (error) {
    return error instanceof Error ? error.message : String(error)
  }
  if (values.help) return 'help'
  const text = (name: string) => (typeof values[name] === 'string' ? (values[name] as string).trim() : '')
  const problems: string[] = []
  for (const name of ['engine', 'backend-url', 'gateway', 'id', 'hardware']) {
    if (!text(name)) problems.push(`--${name} is required`)
  }
  const engine = text('engine')
  if (engine && !isEngineName(engine)) problems.push(`--engine must be one of ${ENGINES.join(', ')}`)
  for (const name of ['backend-url', 'gateway', 'advertise-url']) {
    if (text(name) && !/^https?:\/\/[^/]/.test(text(name))) problems.push(`--${name} must be an http(s) URL`)
  }
  const slots = text('slots') ? positiveInt(text('slots')) : undefined
  if (text('slots') && slots === undefined) problems.push('--slots must be a whole number ≥ 1')
  if (slots === undefined && (engine === 'tgi' || engine === 'openai')) {
    problems.push(
      `--slots is required for --engine ${engine}: it does not report how many requests it runs at once`,
    )
  }
  const apis = text('apis')
    ? text('apis')
        .split(',')
        .map((api) => api.trim())
    : []
  const unknownApis = apis.filter((api) => !isApiKind(api))
  if (unknownApis.length > 0)
    problems.push(`--apis takes ${API_KINDS.join(', ')} (not ${unknownApis.join(', ')})`)
  const intervalSeconds = Number(text('interval-seconds'))
  if (!(intervalSeconds >= 0.05 && intervalSeconds <= 3600))
    problems.push('--interval-seconds must be 0.05..3600')
  const agentKey = readSecret(text('agent-key-file'), env.SPILLWAY_AGENT_KEY, '--agent-key-file', problems)
  if (!agentKey) problems.push('no agent key: set SPILLWAY_AGENT_KEY or pass --agent-key-file')
  const backendApiKey = readSecret(
    text('backend-api-key-file'),
    env.SPILLWAY_BACKEND_API_KEY,
    '--backend-api-key-file',
    problems,
  )
  if (problems.length > 0 || !isEngineName(engine) || !agentKey) return problems.join('; ')

  const models = text('models')
    .split(',')
    .map((model) => model.trim())
    .filter(Boolean)
  return {
    drainOnExit: values['drain-on-exit'] === true,
    agent: {
      engine,
      backendUrl: text('backend-url'),
      gatewayUrl: text('gateway'),
      agentKey,
      backendApiKey,
      id: text('id'),
      hardware: text('hardware'),
      models: models.length > 0 ? models : undefined,
      apis: apis.length > 0 ? [...new Set(apis as ApiKind[])] : undefined,
      slots,
      advertiseUrl: text('advertise-url') || undefined,
      intervalMs: Math.round(intervalSeconds * 1000),
      verbose: values.verbose === true,
    },
  }
}

/** Keys come from a file or the environment, never from argv, where `ps` would show them. */
function readSecret(
  path: string,
  fromEnv: string | undefined,
  flag: string,
  problems: string[],
): string | undefined {
  if (!path) return fromEnv?.trim() || undefined
  try {
    return readFileSync(path, 'utf8').trim() || undefined
  } catch (error) {
    problems.push(`${flag}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    return undefined
  }
}

if (import.meta.main) process.exitCode = await runAgentCommand(process.argv.slice(2))
