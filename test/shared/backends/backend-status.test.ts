import { describe, expect, it } from 'vitest'
import { judgeBackendStatus, rejectionMessage } from '../../../shared/backends/backend-status.ts'

describe('Function: judgeBackendStatus', () => {
  it('retries elsewhere on load, faults and a refused key; only faults and refusals count against the backend', () => {
    expect(judgeBackendStatus(200)).toEqual({ kind: 'ok' })
    expect(judgeBackendStatus(429)).toMatchObject({ kind: 'retry', countsAgainstBackend: false })
    for (const status of [408, 500, 502, 503])
      expect(judgeBackendStatus(status)).toMatchObject({ kind: 'retry', countsAgainstBackend: true })
    for (const status of [401, 403])
      expect(judgeBackendStatus(status)).toEqual({
        kind: 'retry',
        reason: `status ${status}: the backend refused our API key`,
        countsAgainstBackend: true,
      })
    for (const status of [400, 404, 413, 422])
      expect(judgeBackendStatus(status)).toEqual({ kind: 'rejected' })
  })
})

describe('Function: rejectionMessage', () => {
  it("passes on the backend's message, cut to 500 characters, and never a raw body", () => {
    expect(rejectionMessage('{"error":{"message":"context too long"}}')).toBe('context too long')
    expect(rejectionMessage(JSON.stringify({ message: 'x'.repeat(900) }))).toHaveLength(500)
    expect(rejectionMessage('<html>stack trace at /srv/internal</html>')).toBe(
      'The model backend rejected the request.',
    )
  })
})
