import { Logger } from '@aws-lambda-powertools/logger'
import type { RuntimeEnv } from '../shared/runtime/runtime-env.ts'

const POWERTOOLS_LEVELS = { debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const

/**
 * The Powertools logger every Lambda entry point writes through, at the level
 * `LOG_LEVEL` asked for (Powertools wants its own upper-case names).
 *
 * @example
 * const log = lambdaLogger({ serviceName: 'spillway-reaper', env })
 */
export function lambdaLogger(options: { serviceName: string; env: Pick<RuntimeEnv, 'logLevel'> }): Logger {
  return new Logger({ serviceName: options.serviceName, logLevel: POWERTOOLS_LEVELS[options.env.logLevel] })
}
