import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'
import { JOB_ATTR } from './job-item.ts'

/** A failed condition is a lost race or a state already left: an expected outcome, not an error. */
export async function unlessConditionFails<T>(write: () => Promise<T>): Promise<T | undefined> {
  try {
    return await write()
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined
    throw error
  }
}

/** DynamoDB rejects unused placeholders, so each command gets exactly the names it mentions. */
export function namesIn(expressions: string): Record<string, string> {
  const attrs: Record<string, string> = JOB_ATTR
  const names: Record<string, string> = {}
  for (const [token, key] of expressions.matchAll(/#([A-Za-z]+)/g)) {
    const attr = key ? attrs[key] : undefined
    if (!attr) throw new Error(`unknown job attribute placeholder ${token}`)
    names[token] = attr
  }
  return names
}

export function valuesIn(expressions: string, values: Record<string, unknown>): Record<string, unknown> {
  const used: Record<string, unknown> = {}
  for (const [token] of expressions.matchAll(/:[A-Za-z]+/g)) {
    if (values[token] === undefined) throw new Error(`no value for ${token}`)
    used[token] = values[token]
  }
  return used
}
