import type { z } from 'zod'
import { BadRequestError } from '../errors.ts'

/** JSON text → validated value, or a 400 that names the first bad field. */
export function parseJsonBody<S extends z.ZodType>(schema: S, text: string): z.output<S> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new BadRequestError('The request body is not valid JSON.', { code: 'invalid_json' })
  }
  const parsed = schema.safeParse(value)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]
    const param = issue?.path.join('.') || null
    throw new BadRequestError(`Invalid request: ${param ?? 'body'}: ${issue?.message ?? 'invalid'}`, {
      param,
    })
  }
  return parsed.data
}
