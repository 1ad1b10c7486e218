import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const SHARED = join(import.meta.dirname, '..', '..', 'shared')
// Lambda types and Powertools belong to functions/; the domain runs the same locally, in tests and on AWS.
const LAMBDA_ONLY = /^(aws-lambda|@aws-lambda-powertools\/)/

function importsOf(source: string): string[] {
  return [...source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1] as string)
}

describe('Layout: shared/ imports nothing Lambda-only', () => {
  it('has no file importing aws-lambda or a Powertools package', () => {
    // Arrange
    const files = readdirSync(SHARED, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))
    // Act
    const offenders = files.flatMap((file) =>
      importsOf(readFileSync(join(SHARED, file), 'utf8'))
        .filter((spec) => LAMBDA_ONLY.test(spec))
        .map((spec) => `${file}: ${spec}`),
    )
    // Assess
    expect(files.length).toBeGreaterThan(50)
    expect(offenders).toEqual([])
  })
})
