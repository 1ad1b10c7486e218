import { describe, expect, it } from 'vitest'
import { Scheduler, type StartResult } from '../../../local/fleet/scheduler.ts'

async function startedNow(scheduler: Scheduler, signal = new AbortController().signal) {
  const admitted = scheduler.admit(signal)
  if (!admitted.ok) throw new Error('refused')
  return admitted.started
}

describe('Scheduler', () => {
  it('runs up to maxNumSeqs at once and queues the rest in arrival order', async () => {
    const scheduler = new Scheduler({ maxNumSeqs: 2, maxWaiting: 10 })
    const order: number[] = []
    const starts: Promise<StartResult>[] = []
    for (let i = 0; i < 5; i++) {
      const started = startedNow(scheduler)
      started.then(() => order.push(i))
      starts.push(started)
    }
    expect(scheduler.running).toBe(2)
    expect(scheduler.waiting).toBe(3)
    expect(scheduler.peak).toBe(5)

    for (const started of starts) {
      const result = await started
      if (result.ok) result.sequence.release()
    }
    expect(order).toEqual([0, 1, 2, 3, 4])
    expect(scheduler.running).toBe(0)
    expect(scheduler.peakRunning).toBe(2)
  })

  it('refuses a request when the waiting queue is full', async () => {
    const scheduler = new Scheduler({ maxNumSeqs: 1, maxWaiting: 1 })
    await startedNow(scheduler)
    void startedNow(scheduler)
    expect(scheduler.admit(new AbortController().signal)).toEqual({ ok: false, reason: 'queue-full' })
  })

  it('drops a waiter whose client left, and the next one takes the freed slot', async () => {
    const scheduler = new Scheduler({ maxNumSeqs: 1, maxWaiting: 5 })
    const first = await startedNow(scheduler)
    const leaving = new AbortController()
    const gone = startedNow(scheduler, leaving.signal)
    const next = startedNow(scheduler)
    leaving.abort()
    expect(await gone).toEqual({ ok: false, reason: 'aborted' })
    expect(scheduler.waiting).toBe(1)
    if (first.ok) first.sequence.release()
    expect((await next).ok).toBe(true)
    expect(scheduler.running).toBe(1)
  })

  it('releases a sequence once however often release is called', async () => {
    const scheduler = new Scheduler({ maxNumSeqs: 1, maxWaiting: 5 })
    const first = await startedNow(scheduler)
    void startedNow(scheduler)
    if (first.ok) {
      first.sequence.release()
      first.sequence.release()
    }
    expect(scheduler.running).toBe(1)
    expect(scheduler.waiting).toBe(0)
  })
})
