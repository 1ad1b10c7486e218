import { type ChildProcess, spawn } from 'node:child_process'

export interface IpcChildOptions {
  /** A .ts entry, run by Node's type stripping (or a plain .js one). */
  readonly script: string
  readonly env: Readonly<Record<string, string>>
  /** Pin the process to this CPU with `taskset` (one core, as the issue asks). */
  readonly core?: number
  readonly nodeArgs?: readonly string[]
  /** Arguments after the script. */
  readonly args?: readonly string[]
  /** `ignore` for a child whose own console output is noise (a third-party server's banner). */
  readonly stdout?: 'inherit' | 'ignore'
}

export interface IpcChild {
  readonly child: ChildProcess
  /** The next message of this type (a reply, or the ready message). */
  next<T extends { type: string }>(type: T['type']): Promise<T>
  send(message: { type: string } & Record<string, unknown>): void
  /** Asks the child to stop and waits for it to exit (killed after `graceMs`). */
  stop(graceMs?: number): Promise<void>
}

/** Spawns a helper process (a benchmark gateway, a part of the local stack) with an IPC channel: no port or stdout protocol to parse. */
export function spawnIpcChild(options: IpcChildOptions): IpcChild {
  const node = [
    ...(options.nodeArgs ?? []),
    '--experimental-strip-types',
    options.script,
    ...(options.args ?? []),
  ]
  const [command, args] =
    options.core === undefined
      ? [process.execPath, node]
      : ['taskset', ['-c', String(options.core), process.execPath, ...node]]
  const child = spawn(command, args, {
    env: { ...process.env, ...options.env },
    stdio: ['ignore', options.stdout ?? 'inherit', 'inherit', 'ipc'],
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    child,
    next<T extends { type: string }>(type: T['type']) {
      return new Promise<T>((resolve, reject) => {
        const onMessage = (message: T) => {
          if (message?.type !== type) return
          child.off('message', onMessage)
          child.off('exit', onExit)
          resolve(message)
        }
        const onExit = (code: number | null) => reject(new Error(`${options.script} exited (${code})`))
        child.on('message', onMessage)
        child.once('exit', onExit)
      })
    },
    send(message) {
      if (child.connected) child.send(message)
    },
    async stop(graceMs = 5_000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      if (child.connected) child.send({ type: 'stop' })
      else child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    },
  }
}
