import { BadRequestError } from '../errors.ts'
import * as z from '../validation/zod-mini.ts'

/**
 * Deeper nesting is refused before parsing: a valid request with a 5,000-deep
 * extra field would overflow the stack when re-serialised for the backend
 * (a 5xx that also opened the backend's circuit).
 */
export const MAX_JSON_DEPTH = 64

/** JSON text → validated value, or a 400 that names the first bad field. */
export function parseJsonBody<S extends z.core.$ZodType>(schema: S, text: string): z.output<S> {
  if (exceedsDepth(text, MAX_JSON_DEPTH)) {
    throw new BadRequestError(`The request body is nested more than ${MAX_JSON_DEPTH} levels deep.`, {
      code: 'invalid_json',
    })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new BadRequestError('The request body is not valid JSON.', { code: 'invalid_json' })
  }
  const parsed = z.safeParse(schema, value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const param = issue?.path.join('.') || null
    throw new BadRequestError(`Invalid request: ${param ?? 'body'}: ${issue?.message ?? 'invalid'}`, {
      param,
    })
  }
  return parsed.data
}

/** Bracket depth outside strings; an approximation on invalid JSON, which JSON.parse then refuses anyway. */
function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i)
    if (inString) {
      if (ch === 0x5c) i++
      else if (ch === 0x22) inString = false
    } else if (ch === 0x22) inString = true
    else if (ch === 0x5b || ch === 0x7b) {
      if (++depth > limit) return true
    } else if (ch === 0x5d || ch === 0x7d) depth--
  }
  return false
}
