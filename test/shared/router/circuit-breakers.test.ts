import { describe, expect, it } from 'vitest'
import { CircuitBreakers } from '../../../shared/router/circuit-breakers.ts'

const T0 = 1_700_000_000_000
const COOL_DOWN_MS = 30_000

function openedCircuits(options: { failures: number; at: number }): CircuitBreakers {
  const circuits = new CircuitBreakers({ failureThreshold: 3, coolDownMs: COOL_DOWN_MS })
  for (let i = 0; i < options.failures; i++) circuits.onFailure('b1', options.at)
  return circuits
}

describe('Class: CircuitBreakers', () => {
  describe('Method: allows', () => {
    it('lets requests through to a backend it has never seen', () => {
      // Prepare
      const circuits = new CircuitBreakers({ failureThreshold: 3, coolDownMs: COOL_DOWN_MS })

      // Act & Assess
      expect(circuits.allows('b1', T0)).toBe(true)
      expect(circuits.isOpen('b1', T0)).toBe(false)
    })

    it('stays closed below the failure threshold', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 2, at: T0 })

      // Act & Assess
      expect(circuits.allows('b1', T0)).toBe(true)
    })

    it('opens after N consecutive failures', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 3, at: T0 })

      // Act & Assess
      expect(circuits.allows('b1', T0)).toBe(false)
      expect(circuits.isOpen('b1', T0)).toBe(true)
    })

    it('stays open for the whole cool-down, and only for that backend', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 3, at: T0 })

      // Act & Assess
      expect(circuits.allows('b1', T0 + COOL_DOWN_MS - 1)).toBe(false)
      expect(circuits.allows('b2', T0 + 1)).toBe(true)
    })

    it('forgets earlier failures after a success, so N new ones are needed to open', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 2, at: T0 })

      // Act
      circuits.onSuccess('b1')
      circuits.onFailure('b1', T0)
      circuits.onFailure('b1', T0)

      // Assess
      expect(circuits.allows('b1', T0)).toBe(true)
    })
  })

  describe('Method: onAttempt (half-open)', () => {
    it('lets exactly one probe through once the cool-down is over', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 3, at: T0 })
      const after = T0 + COOL_DOWN_MS

      // Act
      const firstMayProbe = circuits.allows('b1', after)
      circuits.onAttempt('b1', after)

      // Assess
      expect(firstMayProbe).toBe(true)
      expect(circuits.allows('b1', after)).toBe(false)
      // Until the probe reports or times out (defect 8: it used to block for good).
      expect(circuits.allows('b1', after + COOL_DOWN_MS - 1)).toBe(false)
    })

    it('claims nothing on a closed circuit', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 1, at: T0 })

      // Act
      circuits.onAttempt('b1', T0)

      // Assess
      expect(circuits.allows('b1', T0)).toBe(true)
    })
  })

  describe('Method: onSuccess', () => {
    it('closes the circuit when the probe succeeds', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 3, at: T0 })
      const after = T0 + COOL_DOWN_MS
      circuits.onAttempt('b1', after)

      // Act
      circuits.onSuccess('b1')

      // Assess
      expect(circuits.allows('b1', after)).toBe(true)
      circuits.onFailure('b1', after)
      expect(circuits.allows('b1', after)).toBe(true)
    })
  })

  describe('Method: onFailure', () => {
    it('re-opens the circuit for a new cool-down when the probe fails', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 3, at: T0 })
      const probeAt = T0 + COOL_DOWN_MS + 5_000
      circuits.onAttempt('b1', probeAt)

      // Act
      circuits.onFailure('b1', probeAt)

      // Assess
      expect(circuits.allows('b1', probeAt + COOL_DOWN_MS - 1)).toBe(false)
      expect(circuits.allows('b1', probeAt + COOL_DOWN_MS)).toBe(true)
    })
  })

  // Defect 8: a probe that ended in a 429, a client abort or a lost claim recorded neither
  // success nor failure, so the circuit stayed half-open with no further probe, for good.
  describe('Method: onNeutral', () => {
    it('hands the half-open probe back when its outcome is not the backend’s doing', () => {
      // Prepare
      const circuits = openedCircuits({ failures: 3, at: T0 })
      const probeAt = T0 + COOL_DOWN_MS
      circuits.onAttempt('b1', probeAt)
      const duringProbe = circuits.allows('b1', probeAt + 1)

      // Act
      circuits.onNeutral('b1')

      // Assess
      expect(duringProbe).toBe(false)
      expect(circuits.allows('b1', probeAt + 2)).toBe(true)
    })
  })

  describe('Option: probeTimeoutMs', () => {
    it('lets a new probe through once a probe has reported nothing for that long', () => {
      // Prepare
      const circuits = new CircuitBreakers({
        failureThreshold: 1,
        coolDownMs: COOL_DOWN_MS,
        probeTimeoutMs: 5_000,
      })
      circuits.onFailure('b1', T0)
      const probeAt = T0 + COOL_DOWN_MS
      circuits.onAttempt('b1', probeAt)

      // Act & Assess: the probe's request vanished without a word (its process lost track of it).
      expect(circuits.allows('b1', probeAt + 4_999)).toBe(false)
      expect(circuits.allows('b1', probeAt + 5_000)).toBe(true)
    })

    it('defaults to the cool-down', () => {
      const circuits = openedCircuits({ failures: 3, at: T0 })
      const probeAt = T0 + COOL_DOWN_MS
      circuits.onAttempt('b1', probeAt)

      expect(circuits.allows('b1', probeAt + COOL_DOWN_MS - 1)).toBe(false)
      expect(circuits.allows('b1', probeAt + COOL_DOWN_MS)).toBe(true)
    })
  })

  describe('Option: onOpen', () => {
    it('reports every opening with its end, so other processes can skip the backend too', () => {
      // Prepare
      const opened: [string, number][] = []
      const circuits = new CircuitBreakers({
        failureThreshold: 3,
        coolDownMs: COOL_DOWN_MS,
        onOpen: (backendId, until) => opened.push([backendId, until]),
      })

      // Act: two failures stay below the threshold; the third opens; a failed probe re-opens.
      circuits.onFailure('b1', T0)
      circuits.onFailure('b1', T0)
      expect(opened).toEqual([])
      circuits.onFailure('b1', T0 + 1)
      const probeAt = T0 + COOL_DOWN_MS + 10
      circuits.onAttempt('b1', probeAt)
      circuits.onFailure('b1', probeAt)

      // Assess
      expect(opened).toEqual([
        ['b1', T0 + 1 + COOL_DOWN_MS],
        ['b1', probeAt + COOL_DOWN_MS],
      ])
    })
  })
})
