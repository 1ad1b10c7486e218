import { execFileSync } from 'node:child_process'
import { cpus, loadavg, totalmem } from 'node:os'

export interface MachineInfo {
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGb: number
  readonly platform: string
  readonly arch: string
  readonly node: string
  readonly commit: string
  /** Uncommitted changes in the work tree when the run started. */
  readonly dirty: boolean
  /** 1-minute load average when the run started: a busy machine makes every figure worse. */
  readonly loadAverageAtStart: number
}

export function machineInfo(root: string): MachineInfo {
  const list = cpus()
  return {
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    platform: process.platform,
    arch: process.arch,
    node: process.version,
    commit: git(root, ['rev-parse', 'HEAD']) ?? 'unknown',
    dirty: (git(root, ['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    loadAverageAtStart: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  }
}

function git(cwd: string, args: string[]): string | undefined {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    // Not a git checkout (a tarball): the figure still stands, without provenance.
    return undefined
  }
}
