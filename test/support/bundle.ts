import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

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
    entryPoints: [join(ROOT, 'functions', key, 'lambda.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    mainFields: ['module', 'main'],
    banner: {
      js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
    },
    minify: true,
    sourcemap: 'linked',
    external: ['@aws-sdk/*'],
    logLevel: 'silent',
  })
  return outfile
}
