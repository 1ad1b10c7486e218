import type { JobStore } from '../../../shared/jobs/job-store.ts'
import type { QueueDepthReader } from '../../../shared/queue/queue-depth.ts'

/**
 * Ports present only so that `createApp` registers the routes that need them
 * (the route-list test reads `app.routes`); calling one is a test bug.
 */
const unused = <T extends object>(name: string): T =>
  new Proxy({} as T, {
    get: (_target, method) => () => {
      throw new Error(`${name}.${String(method)} is not part of this test`)
    },
  })

export const jobStoreStub: JobStore = unused<JobStore>('JobStore')
export const queueDepthStub: QueueDepthReader = unused<QueueDepthReader>('QueueDepthReader')
