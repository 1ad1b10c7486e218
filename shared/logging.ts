/**
 * The logging the domain needs, narrowed so Powertools' Logger (on Lambda) and a
 * console logger (locally, in tests) both fit. Never pass secrets or backend
 * URLs meant for clients through here without thinking: logs are internal, but
 * keys are never logged at all.
 */
export interface AppLogger {
  debug(message: string, ...extra: object[]): void
  info(message: string, ...extra: object[]): void
  warn(message: string, ...extra: object[]): void
  error(message: string, ...extra: object[]): void
}

export const silentLogger: AppLogger = { debug() {}, info() {}, warn() {}, error() {} }

/** One JSON line per entry on stderr, at or above `level`. */
export function consoleLogger(options: { level?: 'debug' | 'info' | 'warn' | 'error'; service?: string } = {}): AppLogger {
  const order = ['debug', 'info', 'warn', 'error'] as const
  const min = order.indexOf(options.level ?? 'info')
  const write = (level: (typeof order)[number]) => (message: string, ...extra: object[]) => {
    if (order.indexOf(level) < min) return
    const fields = Object.assign({}, ...extra.map((e) => (e instanceof Error ? { error: e.message } : e)))
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level, service: options.service, message, ...fields })}\n`,
    )
  }
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') }
}
