import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb'

/**
 * What every DynamoDB adapter of Spillway writes the same way: conditional writes
 * whose failed condition is a value, and expression placeholders sent only when
 * the expression names them.
 *
 * @example
 * const expressions = `${update} ${condition}`
 * const out = await unlessConditionFails(() => doc.send(new UpdateCommand({
 *   TableName, Key, UpdateExpression: update, ConditionExpression: condition,
 *   ExpressionAttributeNames: expressionNames(expressions, { '#state': 'state' }),
 *   ExpressionAttributeValues: expressionValues(expressions, { ':now': now }),
 * })))
 * if (!out) return { ok: false, reason: 'lost-race' }
 */

/** A failed condition is a lost race or a state already left: an expected outcome, not an error. */
export async function unlessConditionFails<T>(write: () => Promise<T>): Promise<T | undefined> {
  try {
    return await write()
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return undefined
    throw error
  }
}

/** True when the conditional write went through, false when its condition failed. */
export async function conditionHeld(write: () => Promise<unknown>): Promise<boolean> {
  const written = await unlessConditionFails(async () => {
    await write()
    return true
  })
  return written ?? false
}

/**
 * The `#name` → attribute map an expression needs, from the adapter's full map: DynamoDB
 * refuses a placeholder the expression does not use, and a typo must fail here, not there.
 */
export function expressionNames(
  expressions: string,
  attributes: Readonly<Record<string, string>>,
): Record<string, string> {
  const names: Record<string, string> = {}
  for (const [token] of expressions.matchAll(/#[A-Za-z][A-Za-z0-9]*/g)) {
    const attribute = attributes[token]
    if (!attribute) throw new Error(`unknown attribute placeholder ${token}`)
    names[token] = attribute
  }
  return names
}

/** The `:value` map an expression needs (DynamoDB refuses unused ones; a missing one throws). */
export function expressionValues(
  expressions: string,
  values: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const used: Record<string, unknown> = {}
  for (const [token] of expressions.matchAll(/:[A-Za-z][A-Za-z0-9]*/g)) {
    if (values[token] === undefined) throw new Error(`no value for ${token}`)
    used[token] = values[token]
  }
  return used
}

/** `{ status: 'status' }` → `{ '#status': 'status' }`: an attribute map as `expressionNames` takes it. */
export function placeholdersFor(attributes: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(Object.entries(attributes).map(([key, attribute]) => [`#${key}`, attribute]))
}

/**
 * Document paths to keys of one map attribute (`#leases.#r0`, …) with the names they
 * need: keys are data (lease ids), so each gets its own placeholder rather than
 * being spliced into the expression.
 */
export function mapKeyPaths(
  map: string,
  keys: readonly string[],
  prefix = '#k',
): { paths: string[]; names: Record<string, string> } {
  const names: Record<string, string> = {}
  const paths = keys.map((key, i) => {
    names[`${prefix}${i}`] = key
    return `${map}.${prefix}${i}`
  })
  return { paths, names }
}
