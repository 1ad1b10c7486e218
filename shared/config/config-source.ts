import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { CONFIG_FILE_NAME, loadGatewayConfigFile } from './config-file.ts'
import { DEFAULT_CONFIG, type GatewayConfig, parseGatewayConfig } from './gateway-config.ts'

/** Where a tool's configuration came from, for the line it prints at start-up. */
export type ConfigSource =
  | {
      readonly kind: 'file'
      readonly file: string
      readonly from: '--config' | 'SPILLWAY_CONFIG_FILE' | 'cwd'
    }
  | { readonly kind: 'built-in' }

export interface ResolveConfigOptions {
  /** A path given on the command line (`--config FILE`); it wins over the environment. */
  readonly flag?: string | undefined
  readonly env: Readonly<Record<string, string | undefined>>
  /** Where `spillway.config.json` is looked for when neither names a file. */
  readonly cwd: string
}

export interface ResolvedConfig {
  readonly config: GatewayConfig
  readonly source: ConfigSource
}

/**
 * The configuration of a command-line tool (`npm start`, `npm run keys`, the CDK app):
 * the `--config` file, else `SPILLWAY_CONFIG_FILE`, else `spillway.config.json` in the
 * working directory if there is one, else the built-in default. A named file that is
 * missing is an error, never a silent fallback to the default.
 *
 * @throws {ConfigFileError} when the chosen file is missing or invalid.
 * @example
 * const { config, source } = resolveGatewayConfig({ flag: args.config, env: process.env, cwd: process.cwd() })
 */
export function resolveGatewayConfig(options: ResolveConfigOptions): ResolvedConfig {
  const source = findConfigSource(options)
  const config =
    source.kind === 'file' ? loadGatewayConfigFile(source.file) : parseGatewayConfig(DEFAULT_CONFIG)
  return { config, source }
}

export function findConfigSource(options: ResolveConfigOptions): ConfigSource {
  if (options.flag) return { kind: 'file', file: resolve(options.cwd, options.flag), from: '--config' }
  const fromEnv = options.env.SPILLWAY_CONFIG_FILE
  if (fromEnv) return { kind: 'file', file: resolve(options.cwd, fromEnv), from: 'SPILLWAY_CONFIG_FILE' }
  const inCwd = join(options.cwd, CONFIG_FILE_NAME)
  return existsSync(inCwd) ? { kind: 'file', file: inCwd, from: 'cwd' } : { kind: 'built-in' }
}

/** `/path/spillway.config.json (from --config)` or `built-in default`. */
export function describeConfigSource(source: ConfigSource): string {
  if (source.kind === 'built-in') return `built-in default (no ${CONFIG_FILE_NAME} here)`
  const from = source.from === 'cwd' ? 'working directory' : source.from
  return `${source.file} (from ${from})`
}
