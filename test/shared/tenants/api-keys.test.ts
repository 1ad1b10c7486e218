import { describe, expect, it } from 'vitest'
import { hashApiKey, hashIsAccepted } from '../../../shared/tenants/api-keys.ts'

describe('Function: hashIsAccepted', () => {
  it('accepts exactly the listed hashes, and refuses malformed or empty ones', () => {
    const admin = hashApiKey('sk-admin')
    const agent = hashApiKey('sk-agent')
    expect(hashIsAccepted(admin, [admin, agent])).toBe(true)
    expect(hashIsAccepted(agent, [admin, agent])).toBe(true)
    expect(hashIsAccepted(hashApiKey('sk-other'), [admin, agent])).toBe(false)
    // A prefix of a real hash, or a hash of another length, never matches.
    expect(hashIsAccepted(admin.slice(0, 32), [admin])).toBe(false)
    expect(hashIsAccepted('', [admin])).toBe(false)
    expect(hashIsAccepted(admin, [])).toBe(false)
  })
})
