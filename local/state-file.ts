import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * What a running `npm start` tells the `spillway` CLI on the same machine, so
 * the CLI needs no setting: the gateway URL, the admin key and the emulators'
 * endpoints, tables and queues. Written once the stack is up, removed on exit.
 *
 * It holds the local admin key, which `npm start` also prints: the file is
 * created 0600 in a 0700 directory, so only this user reads it, as with the
 * console. The emulators' credentials in it are dummies (`local`). A deployment
 * never writes one.
 */
export interface LocalStackState {
  readonly version: 1
  readonly pid: number
  readonly startedAt: string
  readonly gatewayUrl: string
  readonly adminKey: string
  /** Region, endpoints, table and queue names, as the environment of a process joining the stack. */
  readonly aws: Readonly<Record<string, string>>
}

/** `SPILLWAY_STATE_FILE`, else `.spillway/local-stack.json` in the repository, whatever the working directory. */
export function stateFilePath(env: Record<string, string | undefined>): string {
  return env.SPILLWAY_STATE_FILE || fileURLToPath(new URL('../.spillway/local-stack.json', import.meta.url))
}

export function writeStateFile(path: string, state: LocalStackState): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  // Written whole then renamed, so a reader never sees half a file.
  const partial = `${path}.${state.pid}.tmp`
  writeFileSync(partial, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 })
  chmodSync(partial, 0o600)
  renameSync(partial, path)
}

/** Removes the file if it is still this process's (a second stack may have written its own since). Synchronous: runs on exit. */
export function removeStateFile(path: string, pid: number): void {
  try {
    const state = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalStackState>
    if (state.pid === pid) rmSync(path, { force: true })
  } catch {
    // Already gone or unreadable: nothing of ours to remove.
  }
}

export type StateFileRead =
  | { readonly ok: true; readonly state: LocalStackState }
  | { readonly ok: false; readonly reason: 'missing' | 'stale' | 'unreadable'; readonly detail: string }

/** The state of a running stack; a file whose process is gone (killed with SIGKILL) is stale. */
export function readStateFile(path: string): StateFileRead {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return { ok: false, reason: 'missing', detail: `no local stack state at ${path}` }
  }
  let state: LocalStackState
  try {
    state = JSON.parse(text) as LocalStackState
    if (state.version !== 1 || typeof state.gatewayUrl !== 'string') throw new Error('unknown format')
  } catch {
    return { ok: false, reason: 'unreadable', detail: `${path} is not a Spillway state file` }
  }
  if (!processAlive(state.pid)) {
    return {
      ok: false,
      reason: 'stale',
      detail: `${path} is left from process ${state.pid}, which has ended`,
    }
  }
  return { ok: true, state }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
