import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import {
  type LocalStackState,
  readStateFile,
  removeStateFile,
  stateFilePath,
  writeStateFile,
} from '../../local/state-file.ts'

const dir = mkdtempSync(join(tmpdir(), 'state-file-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const state = (pid: number): LocalStackState => ({
  version: 1,
  pid,
  startedAt: new Date().toISOString(),
  gatewayUrl: 'http://127.0.0.1:8787',
  adminKey: 'sk-spillway-admin',
  aws: { AWS_REGION: 'us-east-1' },
})

describe('Module: state-file', () => {
  it('lives in the repository by default, wherever the CLI is run from, unless SPILLWAY_STATE_FILE says otherwise', () => {
    expect(stateFilePath({})).toBe(
      fileURLToPath(new URL('../../.spillway/local-stack.json', import.meta.url)),
    )
    expect(stateFilePath({ SPILLWAY_STATE_FILE: '/x/y.json' })).toBe('/x/y.json')
  })

  it('is readable by its owner only, since it holds the local admin key', () => {
    const path = join(dir, 'nested', 'state.json')
    const written = state(process.pid)
    writeStateFile(path, written)
    expect(statSync(path).mode & 0o777).toBe(0o600)
    expect(statSync(join(dir, 'nested')).mode & 0o777).toBe(0o700)
    expect(readStateFile(path)).toEqual({ ok: true, state: written })
  })

  it('reports a file left by a process that has ended as stale, and removes only its own', () => {
    const path = join(dir, 'stale.json')
    // Far above any pid_max: no process has it.
    writeStateFile(path, state(2 ** 30))
    expect(readStateFile(path)).toMatchObject({ ok: false, reason: 'stale' })
    removeStateFile(path, process.pid)
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(2 ** 30)
    removeStateFile(path, 2 ** 30)
    expect(readStateFile(path)).toMatchObject({ ok: false, reason: 'missing' })
    writeFileSync(path, 'not json')
    expect(readStateFile(path)).toMatchObject({ ok: false, reason: 'unreadable' })
  })
})
