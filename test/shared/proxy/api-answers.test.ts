import { describe, expect, it } from 'vitest'
import { answerAsSse } from '../../../shared/proxy/answer-as-sse.ts'
import { readCompletion } from '../../../shared/proxy/read-completion.ts'
import { UpstreamTimers } from '../../../shared/proxy/upstream-timers.ts'

/** A body cut into pieces of `size` bytes (events split anywhere), as a backend would send it. */
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

async function read(text: string, api: 'completions' | 'responses', size = 5) {
  const timers = new UpstreamTimers({ firstByteMs: 5_000, idleMs: 5_000, totalMs: 5_000 })
  const events: string[] = []
  const result = await readCompletion(streamed(text, size), {
    timers,
    maxBytes: 1_000_000,
    api,
    onEvent: (event) => events.push(event),
  })
  timers.stop()
  return { result, events }
}

const sse = (events: readonly unknown[], done = true) =>
  `${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('')}${done ? 'data: [DONE]\n\n' : ''}`

const RESPONSE = {
  id: 'resp_1',
  object: 'response',
  created_at: 1764630000,
  model: 'm',
  status: 'completed',
  output: [
    {
      id: 'msg_1',
      type: 'message',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: 'Hello there', annotations: [] }],
    },
  ],
  usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 },
}

describe('Function: readCompletion (completions)', () => {
  it('folds text_completion chunks: text joined, logprobs lists concatenated, finish reason and usage kept', async () => {
    const base = { id: 'cmpl-1', object: 'text_completion', created: 1, model: 'm' }
    const text = sse([
      {
        ...base,
        choices: [
          {
            index: 0,
            text: 'Hel',
            logprobs: { tokens: ['Hel'], token_logprobs: [-0.1] },
            finish_reason: null,
          },
        ],
      },
      {
        ...base,
        choices: [
          { index: 0, text: 'lo', logprobs: { tokens: ['lo'], token_logprobs: [-0.2] }, finish_reason: null },
        ],
      },
      { ...base, choices: [{ index: 0, text: '', finish_reason: 'length', stop_reason: null }] },
      { ...base, choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
    ])
    for (const size of [1, 9, 10_000]) {
      const { result } = await read(text, 'completions', size)
      expect(result).toMatchObject({ ok: true })
      if (!result.ok) continue
      expect(result.completion).toEqual({
        ...base,
        choices: [
          {
            index: 0,
            text: 'Hello',
            logprobs: { tokens: ['Hel', 'lo'], token_logprobs: [-0.1, -0.2] },
            finish_reason: 'length',
            stop_reason: null,
          },
        ],
        usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
      })
    }
  })
})

describe('Function: readCompletion (responses)', () => {
  it('takes the whole response from response.completed, with no [DONE], passing each event on', async () => {
    const replay = await new Response(
      answerAsSse({ api: 'responses', result: RESPONSE, includeUsage: false }),
    ).text()
    const { result, events } = await read(replay, 'responses')
    expect(result).toMatchObject({ ok: true, completion: RESPONSE })
    expect(events.join('')).toBe(replay)
  })

  it('fails a stream cut before its terminal event, or ending with response.failed, as the backend’s fault', async () => {
    const replay = await new Response(
      answerAsSse({ api: 'responses', result: RESPONSE, includeUsage: false }),
    ).text()
    const cut = replay.slice(0, replay.lastIndexOf('event: response.completed'))
    expect((await read(cut, 'responses')).result).toMatchObject({ ok: false, failure: 'backend' })
    const failed = `${cut}event: response.failed\ndata: ${JSON.stringify({ type: 'response.failed', sequence_number: 99, response: { ...RESPONSE, status: 'failed' } })}\n\n`
    const { result, events } = await read(failed, 'responses')
    expect(result).toMatchObject({ ok: false, failure: 'backend' })
    expect(events.join('')).not.toContain('response.failed')
  })
})

describe('Function: answerAsSse', () => {
  it('replays a stored response as the typed event sequence the Responses API streams', async () => {
    const text = await new Response(
      answerAsSse({ api: 'responses', result: RESPONSE, includeUsage: false }),
    ).text()
    const events = text
      .trim()
      .split('\n\n')
      .map((block) => {
        const [eventLine, dataLine] = block.split('\n')
        return {
          event: eventLine?.slice('event: '.length),
          data: JSON.parse(dataLine?.slice('data: '.length) ?? '{}'),
        }
      })
    expect(events.map((e) => e.event)).toEqual([
      'response.created',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ])
    for (const [i, e] of events.entries()) expect(e.data).toMatchObject({ type: e.event, sequence_number: i })
    expect(events[3]?.data.delta).toBe('Hello there')
    expect(events.at(-1)?.data.response).toEqual(RESPONSE)
    expect(text).not.toContain('[DONE]')
  })

  it('replays a stored text completion as text_completion chunks, usage only when asked, then [DONE]', async () => {
    const result = {
      id: 'cmpl-1',
      object: 'text_completion',
      created: 1,
      model: 'm',
      choices: [{ index: 0, text: 'Hello', logprobs: null, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    }
    const withUsage = await new Response(
      answerAsSse({ api: 'completions', result, includeUsage: true }),
    ).text()
    const { result: folded } = await read(withUsage, 'completions')
    expect(folded).toMatchObject({ ok: true, completion: result })
    const without = await new Response(
      answerAsSse({ api: 'completions', result, includeUsage: false }),
    ).text()
    expect(without).not.toContain('"usage"')
    expect(without.endsWith('data: [DONE]\n\n')).toBe(true)
  })
})
