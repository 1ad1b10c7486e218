import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const ENTRY = fileURLToPath(new URL('../../functions/gateway/node.ts', import.meta.url))

export interface GatewayProcess {
  readonly url: string
  readonly child: ChildProcess
  kill(signal?: NodeJS.Signals): Promise<void>
}

/** A separate gateway process (`functions/gateway/node.ts`) joined to a local stack through its env. */
export async function spawnGateway(env: Record<string, string>): Promise<GatewayProcess> {
  const child = spawn(process.execPath, ['--experimental-strip-types', ENTRY], {
    env: { ...process.env, ...env, PORT: '0', LOG_LEVEL: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.on('line', (line) => {
      try {
        const parsed = JSON.parse(line) as { listening?: string }
        if (parsed.listening) resolve(parsed.listening)
      } catch {
        // Not the readiness line.
      }
    })
    child.once('exit', (code) => reject(new Error(`gateway exited with ${code} before listening`)))
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    url,
    child,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      await exited
    },
  }
}
