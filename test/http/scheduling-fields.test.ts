import { describe, expect, it } from 'vitest'
import { SCHEDULING_FIELDS } from '../../shared/http/chat-request.ts'
import { MODEL, memoryGateway, postJson } from '../support/memory-gateway.ts'

/**
 * Defect 11: engine fields that change scheduling (vLLM's `priority`, …) passed
 * through from any tenant, so one tenant could put its requests ahead of
 * everyone's on a shared backend. Now a tenant policy flag, off by default.
 */
const tenants = [
  { key: 'sk-test-plain', policy: { id: 'plain' } },
  { key: 'sk-test-trusted', policy: { id: 'trusted', passSchedulingFields: true } },
]
const withSchedulingFields = {
  model: MODEL,
  messages: [{ role: 'user', content: 'hi' }],
  priority: -100,
  request_id: 'everyone-elses-id',
  rid: 'sglang-id',
  kv_transfer_params: { do_remote_prefill: true },
  top_k: 20,
}

describe('scheduling fields in a chat request', () => {
  it('are dropped before the backend for a tenant whose policy does not allow them; other extras pass', async () => {
    const { app, reached } = await memoryGateway({ tenants })

    const res = await postJson(app, '/v1/chat/completions', 'sk-test-plain', withSchedulingFields)

    expect(res.status).toBe(200)
    const sent = reached[0]?.body ?? {}
    for (const field of SCHEDULING_FIELDS) expect(sent).not.toHaveProperty(field)
    expect(sent.top_k).toBe(20)
  })

  it('reach the backend for a tenant with passSchedulingFields', async () => {
    const { app, reached } = await memoryGateway({ tenants })

    const res = await postJson(app, '/v1/chat/completions', 'sk-test-trusted', withSchedulingFields)

    expect(res.status).toBe(200)
    expect(reached[0]?.body).toMatchObject({ priority: -100, request_id: 'everyone-elses-id', top_k: 20 })
  })
})
