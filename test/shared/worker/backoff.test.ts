import { describe, expect, it } from 'vitest'
import { backoffSeconds } from '../../../shared/worker/backoff.ts'

describe('Function: backoffSeconds', () => {
  it('doubles with each attempt up to the cap, between half and all of it', () => {
    const at = (attempt: number, random: number) =>
      backoffSeconds({ attempt, baseSeconds: 2, maxSeconds: 20, random: () => random })
    expect([0, 1, 2, 3, 4, 9].map((a) => at(a, 0.999))).toEqual([2, 4, 8, 16, 20, 20])
    expect([0, 1, 2, 3, 4, 9].map((a) => at(a, 0))).toEqual([1, 2, 4, 8, 10, 10])
  })

  it('never answers less than one second (SQS delays are whole seconds; 0 would spin)', () => {
    expect(backoffSeconds({ attempt: 0, baseSeconds: 0.1, maxSeconds: 1, random: () => 0 })).toBe(1)
  })
})
