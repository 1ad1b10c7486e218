import { describe, expect, it } from 'vitest'
import { judgeBackendStatus, rejectionMessage } from '../../../shared/backends/backend-status.ts'

describe('Function: judgeBackendStatus', () => {
  it('reads a 2xx as an answer', () => {
    for (const status of [200, 201]) expect(judgeBackendStatus(status)).toEqual({ kind: 'ok' })
  })

  it('retries elsewhere on load without holding it against the backend', () => {
    expect(judgeBackendStatus(429)).toMatchObject({ kind: 'retry', countsAgainstBackend: false })
  })

  it('passes on only the 4xx that describe the request itself', () => {
    for (const status of [400, 413, 422]) expect(judgeBackendStatus(status)).toEqual({ kind: 'rejected' })
  })

  it("fails over and counts against the backend for errors that are the backend's: 404, 401/403, 405, 3xx, 408, 5xx", () => {
    for (const status of [301, 302, 307, 308, 401, 403, 404, 405, 406, 408, 410, 415, 500, 502, 503]) {
      expect(judgeBackendStatus(status)).toMatchObject({ kind: 'retry', countsAgainstBackend: true })
    }
    expect(judgeBackendStatus(404)).toMatchObject({ reason: expect.stringMatching(/does not serve/) })
    expect(judgeBackendStatus(401)).toMatchObject({ reason: expect.stringMatching(/API key/) })
    expect(judgeBackendStatus(302)).toMatchObject({ reason: expect.stringMatching(/redirect/) })
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
