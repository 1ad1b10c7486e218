import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import { LAMBDA_ESBUILD_OPTIONS } from '../../scripts/lambda-esbuild-options.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/**
 * Bundles one Lambda entry point the way `infra/constructs/functions.ts` has CDK do
 * it (ESM, node24, minified, AWS SDK left to the runtime), into a folder inside the
 * repository so the bundle's `@aws-sdk/*` imports resolve from node_modules as they
 * would from the Lambda runtime.
 */
export async function bundleFunction(
  key: 'gateway' | 'worker' | 'dlq' | 'reaper',
  tag: string,
): Promise<string> {
  const outdir = join(ROOT, 'node_modules', '.cache', 'spillway-bundles', tag, key)
  await mkdir(outdir, { recursive: true })
  const outfile = join(outdir, 'index.mjs')
  await build({
    ...LAMBDA_ESBUILD_OPTIONS,
    entryPoints: [join(ROOT, 'functions', key, 'lambda.ts')],
    outfile,
  })
  return outfile
}
