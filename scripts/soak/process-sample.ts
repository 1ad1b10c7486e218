import { readdir, readFile } from 'node:fs/promises'

/** Resident memory and open file descriptors of one process, from Linux's /proc. */
export interface ProcessSample {
  readonly rssMb: number
  readonly openFds: number
}

/** Undefined where /proc is missing (not Linux) or the process is gone. */
export async function sampleProcess(pid: number): Promise<ProcessSample | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8')
    const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN)
    const fds = await readdir(`/proc/${pid}/fd`)
    return { rssMb: Math.round((rssKb / 1024) * 10) / 10, openFds: fds.length }
  } catch {
    return undefined
  }
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0
}
