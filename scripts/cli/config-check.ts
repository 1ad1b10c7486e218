import { readFileSync } from 'node:fs'
import { ConfigError, parseGatewayConfig } from '../../shared/config/gateway-config.ts'
import { CliError } from './cli-error.ts'
import type { Subcommand } from './command.ts'
import { printJson } from './output.ts'

/**
 * The one place the CLI validates a config file. Engineer "config" adds
 * `checkConfigFile(path)` in `shared/config/`; once merged, this calls it instead.
 */
function checkConfigFile(path: string) {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    throw new CliError(
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    )
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return { ok: false as const, problems: [`not valid JSON: ${(error as Error).message}`] }
  }
  try {
    return { ok: true as const, config: parseGatewayConfig(json) }
  } catch (error) {
    if (error instanceof ConfigError) {
      // The message is a heading, then one `  - path: problem` line per problem.
      const lines = error.message.split('\n').filter((line) => /^\s+-/.test(line))
      return { ok: false as const, problems: lines.length > 0 ? lines : [error.message] }
    }
    throw error
  }
}

/** `spillway config check FILE`: exit 0 and a summary when the gateway would start with it, else 1 and every problem. */
export const configCheckCommand: Subcommand = {
  synopsis: 'config check FILE',
  positionals: ['FILE'],
  async run(context, { positionals: [path = ''] }) {
    const result = checkConfigFile(path)
    if (context.json) {
      printJson(context.io, result.ok ? { ok: true, models: result.config.models.map((m) => m.id) } : result)
      return result.ok ? 0 : 1
    }
    if (!result.ok) {
      context.io.err(`${path}: invalid`)
      for (const problem of result.problems) context.io.err(`  - ${problem.replace(/^\s*-\s*/, '')}`)
      return 1
    }
    const { models, hardwareClasses } = result.config
    context.io.out(
      `${path}: ok (${models.length} models: ${models.map((m) => m.id).join(', ')}; ${hardwareClasses.length} hardware classes)`,
    )
    return 0
  },
}
