import { describe } from 'vitest'
import type { Lane } from '../../shared/queue/job-queue.ts'
import { MemoryJobQueue } from '../../shared/queue/memory-job-queue.ts'
import { jobQueueContract } from './job-queue-contract.ts'

describe('Class: MemoryJobQueue', () => {
  jobQueueContract(() => {
    const queue = new MemoryJobQueue()
    return {
      queue,
      // As a long poll: look again until a message is visible or the wait is over.
      async receive(lane: Lane, waitSeconds: number) {
        const until = Date.now() + waitSeconds * 1000
        for (;;) {
          const message = queue.receive(lane)
          if (message || Date.now() >= until) return message
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      },
    }
  })
})
