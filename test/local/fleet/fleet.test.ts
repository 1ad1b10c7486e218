import { afterEach, describe, expect, it } from 'vitest'
import { type Fleet, startFleet } from '../../../local/fleet/fleet.ts'
import { CPU_MODEL, GPU_MODEL } from '../../../local/fleet/hardware-profiles.ts'
import { clientFor, user } from './sim-client.ts'

let fleet: Fleet | undefined
afterEach(() => fleet?.stop())

describe('startFleet', () => {
  it('starts one vLLM-like server per backend of the spec, numbered per class', async () => {
    fleet = await startFleet({ spec: 'h20=2x4,cpu=1x2', speed: 0 })
    expect(
      fleet.backends.map(({ id, hardware, models, maxConcurrency }) => ({
        id,
        hardware,
        models,
        maxConcurrency,
      })),
    ).toEqual([
      { id: 'h20-1', hardware: 'h20', models: [GPU_MODEL], maxConcurrency: 4 },
      { id: 'h20-2', hardware: 'h20', models: [GPU_MODEL], maxConcurrency: 4 },
      { id: 'cpu-1', hardware: 'cpu', models: [CPU_MODEL], maxConcurrency: 2 },
    ])
    expect(new Set(fleet.backends.map((backend) => backend.url)).size).toBe(3)
    for (const backend of fleet.backends) {
      expect(backend.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect((await fetch(`${backend.url}/health`)).status).toBe(200)
      const completion = await clientFor(backend.url).chat.completions.create({
        model: backend.models[0] ?? '',
        messages: user('hi'),
      })
      expect(completion.model).toBe(backend.models[0])
    }
  })

  it('takes a model map and faults by backend id, class or everyone', async () => {
    fleet = await startFleet({
      spec: 'h20=2x1,h100=1x1,cpu=1x1',
      speed: 0,
      models: { h20: ['llama-3.1-8b'], cpu: ['tiny'] },
      faults: {
        '*': { retryAfterSeconds: 5 },
        h20: { errorRate: 0.25, seed: 3 },
        'h20-2': { errorRate: 1 },
      },
    })
    const faults = Object.fromEntries(fleet.backends.map((backend) => [backend.id, backend.state().faults]))
    expect(faults['h20-1']).toMatchObject({ errorRate: 0.25, seed: 3, retryAfterSeconds: 5 })
    expect(faults['h20-2']).toMatchObject({ errorRate: 1, seed: 3, retryAfterSeconds: 5 })
    expect(faults['h100-1']).toMatchObject({ errorRate: 0, retryAfterSeconds: 5 })
    expect(fleet.backends.map((backend) => backend.models)).toEqual([
      ['llama-3.1-8b'],
      ['llama-3.1-8b'],
      [GPU_MODEL],
      ['tiny'],
    ])
  })

  it('starts nothing for a bad spec', async () => {
    await expect(startFleet({ spec: 'h20=2' })).rejects.toThrow(/invalid fleet spec/)
  })
})
