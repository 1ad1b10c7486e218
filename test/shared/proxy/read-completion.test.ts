import { readFileSync } from 'node:fs'
import { createServer, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { readCompletion, streamingBody } from '../../../shared/proxy/read-completion.ts'
import { eventData, SseEventSplitter } from '../../../shared/proxy/sse-events.ts'
import { UpstreamTimers } from '../../../shared/proxy/upstream-timers.ts'

/**
 * A reasoning model calling two tools, in the chunk shape vLLM's OpenAI server
 * (serving_chat.py) streams: reasoning_content deltas, tool-call deltas keyed by
 * index with the arguments in pieces, per-chunk logprobs, finish_reason with
 * vLLM's stop_reason, a last usage chunk with no choices.
 */
const FIXTURE = readFileSync(new URL('../../fixtures/vllm/reasoning-tool-call.sse', import.meta.url), 'utf8')

/** The fixture as a backend would send it, cut into pieces of `size` bytes (events split anywhere). */
function streamed(text: string, size: number): Response {
  const bytes = new TextEncoder().encode(text)
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.subarray(i, i + size))
      controller.close()
    },
  })
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } })
}

const timers = () => new UpstreamTimers({ firstByteMs: 5_000, idleMs: 5_000, totalMs: 5_000 })

describe('Function: readCompletion', () => {
  it('folds a streamed answer into the chat.completion, keeping reasoning, tool calls, logprobs and usage', async () => {
    for (const size of [1, 7, 64, 100_000]) {
      const t = timers()
      const read = await readCompletion(streamed(FIXTURE, size), { timers: t, maxBytes: 1_000_000 })
      t.stop()
      expect(read).toMatchObject({ ok: true })
      if (!read.ok) continue
      expect(read.completion).toEqual({
        id: 'chatcmpl-7f3c',
        object: 'chat.completion',
        created: 1764630000,
        model: 'deepseek-r1-distill-llama-8b',
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: '',
              reasoning_content: 'The user wants the weather.',
              tool_calls: [
                {
                  id: 'chatcmpl-tool-91ab',
                  type: 'function',
                  function: { name: 'get_weather', arguments: '{"city": "Hangzhou"}' },
                },
                {
                  id: 'chatcmpl-tool-22cd',
                  type: 'function',
                  function: { name: 'get_time', arguments: '{}' },
                },
              ],
            },
            logprobs: {
              content: [
                { token: 'The', logprob: -0.01, bytes: [84, 104, 101], top_logprobs: [] },
                { token: ' user', logprob: -0.2, bytes: [32, 117, 115, 101, 114], top_logprobs: [] },
                { token: ' the', logprob: -0.05, bytes: [32, 116, 104, 101], top_logprobs: [] },
              ],
            },
            finish_reason: 'tool_calls',
            stop_reason: 128008,
          },
        ],
        usage: { prompt_tokens: 31, total_tokens: 58, completion_tokens: 27, prompt_tokens_details: null },
      })
    }
  })

  it('fails a stream that ends before [DONE] or carries an error event, as the backend’s fault', async () => {
    const cut = FIXTURE.slice(0, FIXTURE.indexOf('data: [DONE]') - 30)
    const withError = 'data: {"error":{"message":"boom","code":500}}\n\n'
    for (const text of [cut, withError]) {
      const t = timers()
      const read = await readCompletion(streamed(text, 50), { timers: t, maxBytes: 1_000_000 })
      t.stop()
      expect(read).toMatchObject({ ok: false, failure: 'backend' })
    }
  })

  it('stops reading past maxBytes', async () => {
    const t = timers()
    const read = await readCompletion(streamed(FIXTURE, 64), { timers: t, maxBytes: 512 })
    t.stop()
    expect(read).toMatchObject({ ok: false, failure: 'too-large' })
  })

  it('says a read stopped by the total clock is a timeout, and by the idle clock the backend’s fault', async () => {
    for (const [clock, failure] of [
      [{ totalMs: 30, idleMs: 5_000 }, 'timeout'],
      [{ totalMs: 5_000, idleMs: 30 }, 'backend'],
    ] as const) {
      const t = new UpstreamTimers({ firstByteMs: 5_000, ...clock })
      // A stream that sends its first event and then nothing; aborting it errors the body, as fetch does.
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(`${FIXTURE.split('\n\n')[0]}\n\n`))
          t.signal.addEventListener('abort', () => controller.error(t.signal.reason))
        },
      })
      const res = new Response(body, { headers: { 'content-type': 'text/event-stream' } })
      const read = await readCompletion(res, { timers: t, maxBytes: 1_000_000 })
      t.stop()
      expect(read).toMatchObject({ ok: false, failure })
    }
  })
})

describe('Function: streamingBody', () => {
  it('asks for a stream with usage, keeping the other stream options', () => {
    expect(streamingBody({ model: 'm', stream_options: { continuous_usage_stats: true } })).toEqual({
      model: 'm',
      stream: true,
      stream_options: { continuous_usage_stats: true, include_usage: true },
    })
  })
})

describe('Class: SseEventSplitter', () => {
  it('hands on only whole events, whatever the chunking, and knows when one is cut', () => {
    const splitter = new SseEventSplitter()
    const encoder = new TextEncoder()
    expect(splitter.push(encoder.encode('data: {"a":'))).toEqual([])
    expect(splitter.partial).toBe(true)
    expect(splitter.push(encoder.encode('1}\n\n: comment\r\n\r\ndata: x'))).toEqual([
      'data: {"a":1}\n\n',
      ': comment\r\n\r\n',
    ])
    expect(splitter.push(encoder.encode('\n\n'))).toEqual(['data: x\n\n'])
    expect(splitter.partial).toBe(false)
    expect(eventData('data: {"a":1}\n\n')).toBe('{"a":1}')
    expect(eventData(': comment\n\n')).toBeUndefined()
  })
})

describe('Function: readCompletion, at the end of a stream', () => {
  // The fold used to cancel the body at `[DONE]` even when its end came next: fetch then
  // aborts the exchange, which builds an AbortError (with its stack) for every answer.
  it('reads the body to its end when the end follows the last event, instead of cancelling it', async () => {
    const bytes = new TextEncoder().encode(FIXTURE)
    let sent = false
    let cancelled = false
    const body = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (sent) controller.close()
          else controller.enqueue(bytes)
          sent = true
        },
        cancel() {
          cancelled = true
        },
        // Pulled only when read, as a socket's next packet: the end is there only if asked for.
      },
      { highWaterMark: 0 },
    )
    const t = timers()

    const read = await readCompletion(
      new Response(body, { headers: { 'content-type': 'text/event-stream' } }),
      {
        timers: t,
        maxBytes: 1_000_000,
      },
    )
    t.stop()

    expect(read.ok).toBe(true)
    expect(cancelled).toBe(false)
  })
})

describe('Function: readCompletion, over HTTP', () => {
  const serve = async (handler: (res: ServerResponse) => void) => {
    const closed: boolean[] = []
    const server = createServer((req, res) => {
      req.resume()
      res.on('close', () => closed.push(res.writableFinished))
      handler(res)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`
    const stop = () => {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    }
    return { url, closed, stop }
  }
  const read = async (url: string) => {
    const t = timers()
    const res = await fetch(url, { method: 'POST', body: '{}', signal: t.signal })
    const result = await readCompletion(res, { timers: t, maxBytes: 1_000_000 })
    t.stop()
    return result
  }

  it('still answers, and cancels the body, when a backend keeps it open after the last event', async () => {
    const backend = await serve((res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' })
      res.write(FIXTURE)
    })
    try {
      expect((await read(backend.url)).ok).toBe(true)
      for (let i = 0; i < 100 && backend.closed.length === 0; i++) await new Promise((r) => setTimeout(r, 10))
      expect(backend.closed).toEqual([false])
    } finally {
      await backend.stop()
    }
  })
})
