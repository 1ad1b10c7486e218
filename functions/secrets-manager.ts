import { getSecret } from '@aws-lambda-powertools/parameters/secrets'
import type { SecretStore } from '../shared/runtime/secrets.ts'

/**
 * Secrets Manager through Powertools Parameters, each value cached 5 minutes so a warm
 * function does not pay a call per read. The AWS entry points pass it to `shared/runtime/secrets.ts`.
 */
export const secretsManager: SecretStore = async (arn) => {
  const value = await getSecret<string>(arn, { maxAge: 300 })
  if (typeof value !== 'string') throw new Error(`Secret ${arn} has no string value.`)
  return value
}
