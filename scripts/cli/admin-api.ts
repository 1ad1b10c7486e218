import { CliError } from './cli-error.ts'
import type { AdminTarget } from './target.ts'

/**
 * One call to the gateway's admin API; an error answer becomes a `CliError` with the
 * gateway's own message (OpenAI error shape), an unreachable gateway says so.
 */
export async function adminRequest<T>(
  target: AdminTarget,
  options: { method: 'GET' | 'POST' | 'DELETE'; path: string; body?: unknown },
): Promise<T> {
  let response: Response
  try {
    response = await fetch(`${target.gatewayUrl}${options.path}`, {
      method: options.method,
      headers: {
        authorization: `Bearer ${target.adminKey}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
      signal: AbortSignal.timeout(30_000),
    })
  } catch (error) {
    const code = (error as { cause?: { code?: string } }).cause?.code
    throw new CliError(`cannot reach the gateway at ${target.gatewayUrl}${code ? ` (${code})` : ''}`)
  }
  if (response.status === 204) return undefined as T
  const text = await response.text()
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new CliError(`the gateway answered ${response.status} with a body that is not JSON`)
  }
  if (!response.ok) {
    const message = (body as { error?: { message?: string } }).error?.message ?? 'no message'
    throw new CliError(
      `the gateway refused ${options.method} ${options.path} (${response.status}): ${message}`,
    )
  }
  return body as T
}
