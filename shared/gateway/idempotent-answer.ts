import type { ApiKind } from '../backends/backend-apis.ts'
import type { JobStore } from '../jobs/job-store.ts'
import { type AppLogger, errorFields } from '../logging.ts'
import { streamFold } from '../proxy/api-answers.ts'
import type { Served } from '../proxy/forward-completion.ts'
import { eventData, SseEventSplitter } from '../proxy/sse-events.ts'

/** A stored answer shares the key's item with the request fingerprint: keep it well under 400 KB. */
const MAX_STORED_BYTES = 300 * 1024

export interface KeepAnswerOptions {
  readonly jobs: JobStore
  readonly tenantId: string
  readonly key: string
  readonly jobId: string
  /** Whose answer it is: how its stream folds into the stored answer. */
  readonly api: ApiKind
  readonly stream: boolean
  readonly response: Response
  readonly served: Served
  readonly log: AppLogger
}

/**
 * A directly served completion whose request carried an `Idempotency-Key`:
 * stored on the key's record (a stream is folded into its API's whole answer as
 * it passes, and stored before the stream closes), so a retry replays it with
 * the same completion id instead of running again. An answer that is not a
 * completion (a backend's 4xx, a broken stream) or too big to store frees the
 * key: a retry then runs, which is the only way it could succeed.
 */
export async function keepIdempotentAnswer(o: KeepAnswerOptions): Promise<Response> {
  const servedBy = { route: o.served.route, hardware: o.served.hardware, backendId: o.served.backendId }
  const release = () => o.jobs.releaseIdempotencyKey({ tenantId: o.tenantId, key: o.key, jobId: o.jobId })
  const settle = async (result: Record<string, unknown>, bytes: number) => {
    try {
      if (bytes > MAX_STORED_BYTES) return await release()
      await o.jobs.settleIdempotencyKey({
        tenantId: o.tenantId,
        key: o.key,
        jobId: o.jobId,
        result,
        servedBy,
      })
    } catch (error) {
      // The client still gets its answer; a retry would find the key in flight and wait, then 409.
      o.log.warn('idempotent answer not stored', { ...errorFields(error) })
    }
  }
  if (o.response.status !== 200) {
    await release()
    return o.response
  }
  if (!o.stream) {
    const text = await o.response.text()
    let result: Record<string, unknown> | undefined
    try {
      result = JSON.parse(text) as Record<string, unknown>
    } catch {
      result = undefined
    }
    if (result) await settle(result, Buffer.byteLength(text))
    else await release()
    return new Response(text, { status: 200, headers: o.response.headers })
  }
  const splitter = new SseEventSplitter()
  const fold = streamFold(o.api)
  let complete = false
  let failed = false
  let bytes = 0
  const reader = o.response.body?.getReader()
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const next = reader ? await reader.read() : { done: true as const, value: undefined }
        if (next.done) {
          // Stored before the client's stream closes: on Lambda nothing runs after.
          if (complete && !failed) await settle(fold.build(), bytes)
          else await release()
          controller.close()
          return
        }
        bytes += next.value.byteLength
        for (const event of splitter.push(next.value)) {
          const data = eventData(event)
          if (data === undefined || complete || failed) continue
          const step = fold.push(data)
          if (step.kind === 'done') complete = true
          else if (step.kind === 'failed') failed = true
        }
        controller.enqueue(next.value)
      },
      // The client left mid-stream: nothing to keep, and a retry must be free to run.
      async cancel(reason) {
        await reader?.cancel(reason)
        await release()
      },
    },
    { highWaterMark: 0 },
  )
  return new Response(body, { status: 200, headers: o.response.headers })
}
