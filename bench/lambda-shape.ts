/**
 * 6. Lambda shape: each `functions/<name>/lambda.ts` bundled as the CDK stack
 * bundles it (ESM, node24, minified, AWS SDK left to the runtime), its size,
 * and its module-load time: a fresh Node process that imports the bundle with
 * the environment it needs (pointed at the emulators), timed from spawn, against
 * a process that imports nothing (Node's own start), interleaved.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { LAMBDA_ESBUILD_OPTIONS } from '../scripts/lambda-esbuild-options.ts'
import type { Progress } from './lib/progress.ts'
import { median, round } from './lib/stats.ts'

export const FUNCTIONS = ['gateway', 'worker', 'dlq', 'reaper'] as const

export interface LambdaShapeOptions {
  readonly root: string
  readonly env: Readonly<Record<string, string>>
  readonly rounds: number
  readonly progress: Progress
}

export interface FunctionShape {
  readonly name: string
  readonly bundleBytes: number
  readonly gzipBytes: number
  readonly sourceMapBytes: number
  /** Spawn to "imported", median over rounds. */
  readonly loadMs: number
  /** The same minus a Node process that imports nothing. */
  readonly addedLoadMs: number
  /** Measured inside the process: the `import()` alone. */
  readonly importMs: number
  /** The same `import()` without `--enable-source-maps` (the stack sets it for readable traces). */
  readonly importMsWithoutSourceMaps: number
  /** What the bundle is made of: the biggest packages by bytes in the output. */
  readonly largestInputs: readonly { readonly input: string; readonly bytes: number }[]
  readonly error?: string
}

export interface LambdaShapeResult {
  readonly nodeStartMs: number
  readonly functions: readonly FunctionShape[]
  readonly missing: readonly string[]
}

// Plain JS, so the measured process pays no type stripping. Stubs the two globals
// the Lambda runtime gives streaming handlers (Hono's `streamHandle` calls them at import).
const LOADER = `
const target = process.argv[2]
globalThis.awslambda = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: { from: (stream) => stream },
}
const started = performance.now()
if (target !== 'none') await import(new URL('./' + target + '/index.mjs', import.meta.url).href)
process.stdout.write(JSON.stringify({ importMs: performance.now() - started }) + '\\n')
process.exit(0)
`

export async function runLambdaShape(o: LambdaShapeOptions): Promise<LambdaShapeResult> {
  const dir = await mkdtemp(join(tmpdir(), 'spillway-bundles-'))
  try {
    // Lambda resolves the external `@aws-sdk/*` from its runtime; here, from the repository's node_modules.
    await symlink(join(o.root, 'node_modules'), join(dir, 'node_modules'), 'dir')
    await writeFile(join(dir, 'load.mjs'), LOADER)
    const present = FUNCTIONS.filter((name) => existsSync(join(o.root, 'functions', name, 'lambda.ts')))
    const missing = FUNCTIONS.filter((name) => !present.includes(name))
    const sizes = new Map<
      string,
      Pick<FunctionShape, 'bundleBytes' | 'gzipBytes' | 'sourceMapBytes' | 'largestInputs'>
    >()
    for (const name of present) {
      const outfile = join(dir, name, 'index.mjs')
      const largestInputs = await bundle(join(o.root, 'functions', name, 'lambda.ts'), outfile)
      const code = await readFile(outfile)
      sizes.set(name, {
        bundleBytes: code.length,
        gzipBytes: gzipSync(code, { level: 9 }).length,
        sourceMapBytes: (await stat(`${outfile}.map`)).size,
        largestInputs,
      })
    }
    o.progress.detail(
      `bundled ${present.join(', ')}${missing.length ? ` (no entry yet: ${missing.join(', ')})` : ''}`,
    )

    const runs = new Map<string, { wall: number[]; imported: number[]; bare: number[]; error?: string }>()
    const targets = ['none', ...present]
    for (let r = 0; r < o.rounds; r++) {
      for (const target of targets) {
        const entry = runs.get(target) ?? { wall: [], imported: [], bare: [] }
        const load = await timeLoad({ dir, target, env: o.env, sourceMaps: true })
        const bare = await timeLoad({ dir, target, env: o.env, sourceMaps: false })
        if ('error' in load) entry.error = load.error
        else {
          entry.wall.push(load.wallMs)
          entry.imported.push(load.importMs)
        }
        if (!('error' in bare)) entry.bare.push(bare.importMs)
        runs.set(target, entry)
      }
      o.progress.detail(
        `round ${r + 1}/${o.rounds}: ${targets.map((t) => `${t} ${runs.get(t)?.wall.at(-1)?.toFixed(0) ?? 'failed'} ms`).join(', ')}`,
      )
    }
    const nodeStartMs = round(median(runs.get('none')?.wall ?? []), 1)
    return {
      nodeStartMs,
      missing,
      functions: present.map((name) => {
        const run = runs.get(name)!
        const loadMs = round(median(run.wall), 1)
        return {
          name,
          ...sizes.get(name)!,
          loadMs,
          addedLoadMs: round(loadMs - nodeStartMs, 1),
          importMs: round(median(run.imported), 1),
          importMsWithoutSourceMaps: round(median(run.bare), 1),
          ...(run.error ? { error: run.error } : {}),
        }
      }),
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** The options of `infra/constructs/functions.ts` (BUNDLING), for esbuild directly. */
async function bundle(entry: string, outfile: string): Promise<FunctionShape['largestInputs']> {
  const { metafile } = await build({
    ...LAMBDA_ESBUILD_OPTIONS,
    entryPoints: [entry],
    outfile,
    metafile: true,
  })
  const byPackage = new Map<string, number>()
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const owner = packageOf(input)
      byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytesInOutput)
    }
  }
  return [...byPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([input, bytes]) => ({ input, bytes }))
}

/** `node_modules/@scope/pkg/…` → `@scope/pkg`; Spillway's own files → their top folder. */
function packageOf(input: string): string {
  const at = input.lastIndexOf('node_modules/')
  if (at < 0) return `spillway ${input.split('/')[0] ?? input}/`
  const parts = input.slice(at + 'node_modules/'.length).split('/')
  return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? input)
}

function timeLoad(options: {
  dir: string
  target: string
  env: Readonly<Record<string, string>>
  sourceMaps: boolean
}): Promise<{ wallMs: number; importMs: number } | { error: string }> {
  return new Promise((resolve) => {
    const started = performance.now()
    const child = spawn(process.execPath, [join(options.dir, 'load.mjs'), options.target], {
      // As deployed, the functions run with source maps enabled.
      env: {
        PATH: process.env.PATH ?? '',
        ...options.env,
        ...(options.sourceMaps ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
    })
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString()
    })
    child.once('exit', (code) => {
      const wallMs = performance.now() - started
      const line = out.trim().split('\n').at(-1) ?? ''
      try {
        const { importMs } = JSON.parse(line) as { importMs: number }
        resolve({ wallMs, importMs })
      } catch {
        resolve({ error: `exit ${code}: ${err.trim().split('\n').slice(-3).join(' ').slice(0, 300)}` })
      }
    })
  })
}
