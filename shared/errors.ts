/**
 * One error family for the whole HTTP surface. Every error a client can see has
 * the OpenAI shape `{"error":{"message","type","param","code"}}`, so SDKs map it
 * to their typed errors; `app.onError` is the only place that turns errors into
 * responses.
 */

export type ErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'server_error'
  | 'service_unavailable_error'

export interface SpillwayErrorOptions {
  code?: string
  param?: string | null
  headers?: Record<string, string>
  cause?: unknown
}

export class SpillwayError extends Error {
  override name = 'SpillwayError'
  readonly status: number
  readonly type: ErrorType
  readonly code: string
  readonly param: string | null
  readonly headers: Record<string, string>

  constructor(status: number, type: ErrorType, message: string, options: SpillwayErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.status = status
    this.type = type
    this.code = options.code ?? type
    this.param = options.param ?? null
    this.headers = options.headers ?? {}
  }

  toJSON(): { error: { message: string; type: ErrorType; param: string | null; code: string } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } }
  }

  toResponse(extraHeaders: Record<string, string> = {}): Response {
    return Response.json(this.toJSON(), {
      status: this.status,
      headers: { ...this.headers, ...extraHeaders },
    })
  }
}

export class BadRequestError extends SpillwayError {
  override name = 'BadRequestError'
  constructor(message: string, options: SpillwayErrorOptions = {}) {
    super(400, 'invalid_request_error', message, { code: 'invalid_request', ...options })
  }
}

export class AuthenticationError extends SpillwayError {
  override name = 'AuthenticationError'
  constructor(message = 'Missing or invalid API key. Send "Authorization: Bearer <key>".') {
    super(401, 'authentication_error', message, { code: 'invalid_api_key' })
  }
}

export class PermissionDeniedError extends SpillwayError {
  override name = 'PermissionDeniedError'
  constructor(message: string, options: SpillwayErrorOptions = {}) {
    super(403, 'permission_error', message, { code: 'forbidden', ...options })
  }
}

export class NotFoundError extends SpillwayError {
  override name = 'NotFoundError'
  constructor(message: string, options: SpillwayErrorOptions = {}) {
    super(404, 'not_found_error', message, { code: 'not_found', ...options })
  }
}

export class PayloadTooLargeError extends SpillwayError {
  override name = 'PayloadTooLargeError'
  constructor(limitBytes: number) {
    super(413, 'invalid_request_error', `Request body is larger than ${limitBytes} bytes.`, {
      code: 'request_too_large',
    })
  }
}

export class UnprocessableError extends SpillwayError {
  override name = 'UnprocessableError'
  constructor(message: string, options: SpillwayErrorOptions = {}) {
    super(422, 'invalid_request_error', message, { code: 'unprocessable', ...options })
  }
}

/** Saturated and not allowed to wait, or over the tenant's rate limit. */
export class RateLimitedError extends SpillwayError {
  override name = 'RateLimitedError'
  readonly retryAfterSeconds: number
  constructor(message: string, options: { retryAfterSeconds: number; code: string }) {
    const retryAfter = String(Math.max(1, Math.ceil(options.retryAfterSeconds)))
    super(429, 'rate_limit_error', message, { code: options.code, headers: { 'retry-after': retryAfter } })
    this.retryAfterSeconds = Number(retryAfter)
  }
}

/** No healthy backend can serve the model at all; retrying at once will not help. */
export class ServiceUnavailableError extends SpillwayError {
  override name = 'ServiceUnavailableError'
  constructor(message: string, options: SpillwayErrorOptions = {}) {
    super(503, 'service_unavailable_error', message, { code: 'no_backend', ...options })
  }
}

/** A backend failed and no other could take the request. The backend's own text stays internal. */
export class UpstreamError extends SpillwayError {
  override name = 'UpstreamError'
  constructor(message = 'The model backend failed to answer.', options: SpillwayErrorOptions = {}) {
    super(502, 'server_error', message, { code: 'upstream_error', ...options })
  }
}

export function internalError(): SpillwayError {
  return new SpillwayError(500, 'server_error', 'Internal error. The request id identifies it in the logs.', {
    code: 'internal_error',
  })
}
