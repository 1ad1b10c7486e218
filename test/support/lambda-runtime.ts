import { Writable } from 'node:stream'

/**
 * The two globals the Lambda Node.js runtime gives streaming handlers, emulated:
 * `awslambda.streamifyResponse` marks the handler, `HttpResponseStream.from`
 * attaches the status and headers before the body. Enough to invoke a real
 * Function URL handler in a test and read what the client would receive.
 */
export interface CapturedResponse {
  metadata: { statusCode?: number; headers?: Record<string, string>; cookies?: string[] } | undefined
  body: string
  stream: Writable
}

export function installLambdaStreamingGlobals(): void {
  ;(globalThis as Record<string, unknown>).awslambda = {
    streamifyResponse: <T>(handler: T) => handler,
    HttpResponseStream: {
      from(stream: Writable & { metadata?: unknown }, metadata: unknown) {
        stream.metadata = metadata
        return stream
      },
    },
  }
}

/** A response stream that records what is written; `failAfterChunks` makes it behave like a client that left. */
export function captureResponse(options: { failAfterChunks?: number } = {}): CapturedResponse {
  const captured: CapturedResponse = {
    metadata: undefined,
    body: '',
    stream: undefined as unknown as Writable,
  }
  let chunks = 0
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks++
      if (options.failAfterChunks !== undefined && chunks > options.failAfterChunks) {
        callback(new Error('client disconnected'))
        return
      }
      captured.body += chunk.toString('utf8')
      callback()
    },
  })
  Object.defineProperty(captured, 'metadata', {
    get: () => (stream as Writable & { metadata?: CapturedResponse['metadata'] }).metadata,
  })
  captured.stream = stream
  return captured
}
