import { runAgentCommand } from './agent.ts'
import { backendsCommands } from './backends.ts'
import { capacityCommand } from './capacity.ts'
import { CliError, UsageError } from './cli-error.ts'
import { parseCommandArgs, type Subcommand } from './command.ts'
import { configCheckCommand } from './config-check.ts'
import { jobsCommands } from './jobs.ts'
import { keysCommands } from './keys.ts'
import { type CliIo, processIo } from './output.ts'
import { resolveTarget, type TargetFlags } from './target.ts'

/**
 * The command table: `spillway <group> <command>`, or a group that is itself one
 * command (`capacity`). A group may also be delegated whole to a module with its
 * own parser (`agent`, below).
 */
const COMMANDS: Record<string, Subcommand | Record<string, Subcommand>> = {
  keys: keysCommands,
  backends: backendsCommands,
  jobs: jobsCommands,
  capacity: capacityCommand,
  config: { check: configCheckCommand },
}

/** Groups that parse their own arguments: `(argv) => exit code`. */
const DELEGATED: Record<string, (argv: string[]) => Promise<number>> = {
  agent: (argv) => runAgentCommand(argv),
}

const isSubcommand = (entry: Subcommand | Record<string, Subcommand>): entry is Subcommand =>
  typeof (entry as Subcommand).run === 'function'

export function usage(): string {
  const lines: string[] = []
  for (const entry of Object.values(COMMANDS)) {
    for (const sub of isSubcommand(entry) ? [entry] : Object.values(entry))
      lines.push(`  spillway ${sub.synopsis}`)
  }
  for (const name of Object.keys(DELEGATED))
    lines.push(`  spillway ${name} …        (spillway ${name} --help)`)
  return `Usage:
${lines.join('\n')}

Every command takes --json (output for scripts) and, to choose where it goes:
  (nothing)                       the local stack that \`npm start\` is running (its state file)
  --outputs cdk-outputs.json      a deployment (\`cdk deploy --outputs-file cdk-outputs.json\`) [--stack NAME];
                                  keys and jobs use your AWS credentials, the admin key is read from
                                  Secrets Manager unless SPILLWAY_ADMIN_KEY is set
  --gateway URL                   any gateway, admin key from SPILLWAY_ADMIN_KEY or --admin-key-env VAR
Exit codes: 0 done, 1 failed, 2 bad command line.`
}

/**
 * Runs one CLI invocation and returns its exit code; every error is one line on
 * stderr (usage errors add a hint), never a stack trace.
 *
 * @example
 * process.exitCode = await runSpillway(['backends', 'list', '--json'], process.env)
 */
export async function runSpillway(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  io: CliIo = processIo,
): Promise<number> {
  const [group, ...rest] = argv
  if (!group || group === '--help' || group === '-h' || group === 'help') {
    ;(group ? io.out : io.err)(usage())
    return group ? 0 : 2
  }
  const delegated = DELEGATED[group]
  if (delegated) return delegated(rest)
  let target: ReturnType<typeof resolveTarget> | undefined
  try {
    const entry = COMMANDS[group]
    if (!entry) throw new UsageError(`unknown command "${group}"`)
    const [name, ...args] = isSubcommand(entry) ? [group, ...rest] : rest
    const subcommand = isSubcommand(entry) ? entry : entry[name ?? '']
    if (!subcommand) {
      throw new UsageError(
        name
          ? `unknown command "${group} ${name}"`
          : `${group} needs a command: ${Object.keys(entry).join(', ')}`,
      )
    }
    const input = parseCommandArgs(subcommand, args)
    if (input.values.help) {
      io.out(`Usage: spillway ${subcommand.synopsis}`)
      return 0
    }
    target = resolveTarget(input.values as TargetFlags, env)
    return await subcommand.run({ io, target, json: input.values.json === true }, input)
  } catch (error) {
    const usageError =
      error instanceof UsageError || String((error as { code?: unknown }).code).startsWith('ERR_PARSE_ARGS')
    const message = error instanceof Error ? error.message : String(error)
    io.err(`spillway: ${usageError || error instanceof CliError ? message : `failed: ${message}`}`)
    if (usageError) io.err('Run `spillway --help` for the commands.')
    return usageError ? 2 : 1
  } finally {
    target?.close()
  }
}
