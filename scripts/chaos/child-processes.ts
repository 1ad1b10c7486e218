import { type ChildProcess, spawn } from 'node:child_process'
import { openSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const GATEWAY = fileURLToPath(new URL('../../functions/gateway/node.ts', import.meta.url))
const WORKER = fileURLToPath(new URL('../../local/worker-poller.ts', import.meta.url))
const SKEWED_CLOCK = fileURLToPath(new URL('./skewed-clock.ts', import.meta.url))

/** `SPILLWAY_CHAOS_LOG_DIR`: each process's log (level info) goes to a file there, to read a violation's story. */
const LOG_DIR = process.env.SPILLWAY_CHAOS_LOG_DIR

/** A gateway or worker process joined to the local stack through its environment. */
export interface SpillwayProcess {
  readonly kind: 'gateway' | 'worker'
  /** The gateway's base URL; empty for a worker. */
  readonly url: string
  readonly pid: number
  readonly clockSkewMs: number
  /** Resolves when the process has exited, however. */
  readonly exited: Promise<void>
  kill(signal?: NodeJS.Signals): Promise<void>
}

/**
 * Starts `functions/gateway/node.ts` (which prints `{"listening": url}`) or the local SQS
 * poller `local/worker-poller.ts` (which prints `{"workers":"ready"}`), and resolves once
 * it said so.
 */
export async function startSpillwayProcess(options: {
  kind: 'gateway' | 'worker'
  env: Record<string, string>
  /** This process's wall clock runs this far ahead (negative: behind); see skewed-clock.ts. */
  clockSkewMs?: number
}): Promise<SpillwayProcess> {
  const skew = options.clockSkewMs ?? 0
  const logFile = LOG_DIR
    ? join(LOG_DIR, `${options.kind}-${Date.now()}-${Math.random().toString(36).slice(2, 6)}.log`)
    : undefined
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--experimental-strip-types',
      '--no-warnings',
      ...(skew === 0 ? [] : ['--import', SKEWED_CLOCK]),
      options.kind === 'gateway' ? GATEWAY : WORKER,
    ],
    {
      env: {
        ...process.env,
        ...options.env,
        PORT: '0',
        LOG_LEVEL: LOG_DIR ? 'info' : 'error',
        ...(skew === 0 ? {} : { SPILLWAY_CLOCK_SKEW_MS: String(skew) }),
      },
      stdio: ['ignore', 'pipe', logFile ? openSync(logFile, 'a') : 'ignore'],
    },
  )
  // Named by pid, as the violations name gateways.
  if (logFile && child.pid) renameSync(logFile, join(LOG_DIR!, `${options.kind}-${child.pid}.log`))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { listening?: string; workers?: string }
        if (parsed.listening) resolve(parsed.listening)
        if (parsed.workers === 'ready') resolve('')
      } catch {
        // Not the readiness line.
      }
    })
    child.once('exit', (code) => reject(new Error(`${options.kind} exited with ${code} before it was ready`)))
  })
  return {
    kind: options.kind,
    url,
    pid: child.pid ?? 0,
    clockSkewMs: skew,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}
