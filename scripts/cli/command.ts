import { type ParseArgsOptionsConfig, parseArgs } from 'node:util'
import { UsageError } from './cli-error.ts'
import type { CliIo } from './output.ts'
import type { Target } from './target.ts'

export interface CommandContext {
  readonly io: CliIo
  readonly target: Target
  readonly json: boolean
}

/** One subcommand: its own flags, a one-line synopsis for the usage text, and what it does. */
export interface Subcommand {
  readonly synopsis: string
  readonly options?: ParseArgsOptionsConfig
  readonly positionals?: readonly string[]
  run(
    context: CommandContext,
    input: { values: Record<string, string | boolean | undefined>; positionals: string[] },
  ): Promise<number>
}

/** Flags every command takes. */
export const GLOBAL_OPTIONS = {
  json: { type: 'boolean' },
  gateway: { type: 'string' },
  'admin-key-env': { type: 'string' },
  outputs: { type: 'string' },
  stack: { type: 'string' },
  state: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsOptionsConfig

/** Strict parsing: an unknown flag or a missing value is a usage error, never ignored. */
export function parseCommandArgs(subcommand: Subcommand, argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    allowNegative: true,
    strict: true,
    options: { ...GLOBAL_OPTIONS, ...subcommand.options },
  })
  const wanted = subcommand.positionals ?? []
  if (!values.help && positionals.length !== wanted.length) {
    throw new UsageError(
      wanted.length === 0
        ? `unexpected argument "${positionals[0]}"`
        : positionals.length < wanted.length
          ? `missing ${wanted.slice(positionals.length).join(' ')}`
          : `unexpected argument "${positionals[wanted.length]}"`,
    )
  }
  return { values: values as Record<string, string | boolean | undefined>, positionals }
}

/** A flag that must be a whole number within bounds. */
export function intFlag(values: Record<string, unknown>, name: string, min = 0): number | undefined {
  const raw = values[name]
  if (raw === undefined) return undefined
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) < min)
    throw new UsageError(`--${name} must be a whole number of at least ${min}, not "${String(raw)}"`)
  return Number(raw)
}
