/**
 * The logging the domain needs, narrowed so Powertools' Logger (on Lambda) and a
 * console logger (locally, in tests) both fit. Never pass secrets or backend
 * URLs meant for clients through here without thinking: logs are internal, but
 * keys are never logged at all.
 */
export type LogFields = Record<string, unknown>

export interface AppLogger {
  debug(message: string, ...extra: LogFields[]): void
  info(message: string, ...extra: LogFields[]): void
  warn(message: string, ...extra: LogFields[]): void
  error(message: string, ...extra: LogFields[]): void
}

export const silentLogger: AppLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** One JSON line per entry on stderr, at or above `level`. */
export function consoleLogger(
  options: { level?: 'debug' | 'info' | 'warn' | 'error'; service?: string } = {},
): AppLogger {
  const order = ['debug', 'info', 'warn', 'error'] as const
  const min = order.indexOf(options.level ?? 'info')
  const write =
    (level: (typeof order)[number]) =>
    (message: string, ...extra: LogFields[]) => {
      if (order.indexOf(level) < min) return
      const fields = Object.assign({}, ...extra)
      process.stderr.write(
        `${JSON.stringify({ time: new Date().toISOString(), level, service: options.service, message, ...fields })}\n`,
      )
    }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}

/** An error as log fields: message and stack, never a response body. */
export function errorFields(error: unknown): LogFields {
  return error instanceof Error ? { error: error.message, stack: error.stack } : { error: String(error) }
}
