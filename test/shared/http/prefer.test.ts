import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePrefer } from '../../../shared/http/prefer.ts'

/** Characters that make up real and broken Prefer headers, so generated ones hit the parser's corners. */
const preferChar = fc.constantFrom(
  ...'respond-async wait=0123456789;,"\t handling=lenient return=minimal xX'.split(''),
)

describe('Function: parsePrefer', () => {
  it('never throws, whatever the header', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'binary' }), fc.string({ unit: preferChar, maxLength: 80 })),
        (header) => {
          // Act
          const prefer = parsePrefer(header)

          // Assess
          expect(typeof prefer.respondAsync).toBe('boolean')
          if (prefer.waitSeconds !== undefined) {
            expect(Number.isInteger(prefer.waitSeconds)).toBe(true)
            expect(prefer.waitSeconds).toBeGreaterThanOrEqual(0)
          }
        },
      ),
    )
  })

  it('prefers nothing when the header is absent or empty', () => {
    expect(parsePrefer(undefined)).toEqual({ respondAsync: false })
    expect(parsePrefer(null)).toEqual({ respondAsync: false })
    expect(parsePrefer('')).toEqual({ respondAsync: false })
  })

  it('reads respond-async, in any case and with spaces around it', () => {
    expect(parsePrefer('respond-async')).toEqual({ respondAsync: true })
    expect(parsePrefer('  Respond-Async  ')).toEqual({ respondAsync: true })
  })

  it('reads wait=N as whole seconds, quoted or not', () => {
    fc.assert(
      fc.property(fc.nat({ max: 999_999 }), fc.boolean(), (seconds, quoted) => {
        // Prepare
        const value = quoted ? `"${seconds}"` : String(seconds)

        // Act
        const prefer = parsePrefer(`wait=${value}`)

        // Assess
        expect(prefer).toEqual({ respondAsync: false, waitSeconds: seconds })
      }),
    )
  })

  it('reads both preferences from one header or from a comma-joined list', () => {
    expect(parsePrefer('respond-async, wait=10')).toEqual({ respondAsync: true, waitSeconds: 10 })
    expect(parsePrefer('wait=5,respond-async')).toEqual({ respondAsync: true, waitSeconds: 5 })
  })

  it('ignores wait values that are not whole seconds', () => {
    for (const header of ['wait=', 'wait=-1', 'wait=1.5', 'wait=abc', 'wait=1e3', 'wait=1234567', 'wait']) {
      expect(parsePrefer(header)).toEqual({ respondAsync: false })
    }
  })

  it('ignores unknown preferences and their parameters, as RFC 7240 asks', () => {
    fc.assert(
      fc.property(
        fc
          .stringMatching(/^[a-z][a-z-]{0,15}$/)
          .filter((name) => name !== 'respond-async' && name !== 'wait'),
        fc.stringMatching(/^[a-z0-9]{0,8}$/),
        (name, value) => {
          // Act
          const alone = parsePrefer(`${name}=${value}`)
          const mixed = parsePrefer(`${name}=${value}; foo=bar, wait=7, handling=strict`)

          // Assess
          expect(alone).toEqual({ respondAsync: false })
          expect(mixed).toEqual({ respondAsync: false, waitSeconds: 7 })
        },
      ),
    )
  })
})
