/**
 * Runs one bundled Lambda handler the way the Node.js runtime would, in its own process
 * (the bundle reads its environment at import, as on a cold start), and prints the result
 * as one JSON line on stdout.
 *
 *   node test/infra/lambda-harness.ts <bundle dir> <event.json> [buffered|stream]
 *
 * `stream` provides the `awslambda` global that response-streaming handlers (Hono's
 * `streamHandle`) call at import: `streamifyResponse` and `HttpResponseStream.from`.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { pathToFileURL } from 'node:url'

type Handler = (...args: unknown[]) => Promise<unknown>

const [dir, eventFile, mode = 'buffered'] = process.argv.slice(2)
if (!dir || !eventFile)
  throw new Error('usage: lambda-harness.ts <bundle dir> <event.json> [buffered|stream]')

const chunks: Buffer[] = []
let metadata: unknown
if (mode === 'stream') {
  Object.assign(globalThis, {
    awslambda: {
      streamifyResponse: (handler: Handler) => handler,
      HttpResponseStream: {
        from: (stream: Writable, prelude: unknown) => {
          metadata = prelude
          return stream
        },
      },
    },
  })
}

const context = {
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e812345678',
  functionName: 'bundle-under-test',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:bundle-under-test',
  memoryLimitInMB: '256',
  logGroupName: '/aws/lambda/bundle-under-test',
  logStreamName: 'harness',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
}

const { handler } = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as { handler: Handler }
const event: unknown = JSON.parse(readFileSync(eventFile, 'utf8'))

if (mode === 'stream') {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk))
      done()
    },
  })
  await handler(event, sink, context)
  const body = Buffer.concat(chunks).toString('utf8')
  process.stdout.write(`${JSON.stringify({ metadata, body })}\n`)
} else {
  process.stdout.write(`${JSON.stringify({ result: (await handler(event, context)) ?? null })}\n`)
}
// The bundle's SDK clients keep sockets alive; a Lambda sandbox would be frozen here.
process.exit(0)
