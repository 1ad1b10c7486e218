import type { BuildOptions } from 'esbuild'

/**
 * The esbuild options CDK applies to every function (`BUNDLING` in
 * `infra/constructs/functions.ts`), for tests and benchmarks that bundle the
 * Lambda entry points themselves. Keep the two in step.
 */
export const LAMBDA_ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  // CJS dependencies bundled into ESM still call `require`.
  banner: {
    js: "import { createRequire } from 'node:module';const require = createRequire(import.meta.url);",
  },
  minify: true,
  sourcemap: 'linked',
  sourcesContent: false,
  // The Lambda runtime ships AWS SDK v3.
  external: ['@aws-sdk/*'],
  logLevel: 'silent',
} as const satisfies BuildOptions
