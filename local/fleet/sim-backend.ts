/**
 * One simulated vLLM server on 127.0.0.1: the engine, its Hono app and a Node
 * HTTP server that can crash (drop every connection, stop listening) and come
 * back on the same port.
 */
import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createAdaptorServer } from '@hono/node-server'
import type { EngineName } from '../../shared/agent/engine-dialects.ts'
import type { ApiKind } from '../../shared/backends/backend-apis.ts'
import type { SimFaultOptions } from './faults.ts'
import { type HardwareClass, isEmbeddingModel } from './hardware-profiles.ts'
import { createSimApp } from './sim-app.ts'
import {
  type SetFaultsResult,
  SimEngine,
  type SimEngineOptions,
  type SimStateSnapshot,
} from './sim-engine.ts'

export interface SimBackendOptions extends SimEngineOptions {
  /** 0 (default) picks a free port. */
  readonly port?: number
  /** Require this bearer key on `/v1/*`, as vLLM's `--api-key` does. */
  readonly apiKey?: string
}

export interface SimBackend {
  readonly id: string
  readonly hardware: HardwareClass
  /** The metric dialect it speaks (`@engine` in a fleet spec). */
  readonly engine: EngineName
  /** `http://127.0.0.1:port`, the base of `/v1/...`, `/metrics` and `/health`. */
  readonly url: string
  readonly models: readonly string[]
  /** What it answers for its models: generation models chat, completions and responses; embedding models embeddings. */
  readonly apis: readonly ApiKind[]
  readonly maxConcurrency: number
  state(): SimStateSnapshot
  setFaults(patch: SimFaultOptions): SetFaultsResult
  reset(): void
  /** Drops every connection and stops listening, as a dying process would. */
  crash(): void
  /** Listens again on the same port after a crash, with the crash fault cleared. */
  restart(): Promise<void>
  stop(): Promise<void>
}

const HOST = '127.0.0.1'

export async function startSimBackend(options: SimBackendOptions): Promise<SimBackend> {
  const engine = new SimEngine(options)
  const app = createSimApp(engine, { apiKey: options.apiKey })
  const server = createAdaptorServer({ fetch: app.fetch }) as Server
  const sockets = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })

  const dropEverything = () => {
    if (server.listening) server.close()
    for (const socket of sockets) socket.destroy()
  }
  // Deferred a turn so a `/sim/faults {"crash":true}` call still gets its answer.
  engine.onCrash = () => {
    if (server.listening) server.close()
    setTimeout(dropEverything, 0)
  }

  const port = await listen(server, options.port ?? 0)
  if (engine.crashed) dropEverything()

  return {
    id: engine.id,
    hardware: engine.hardware,
    engine: engine.engine,
    url: `http://${HOST}:${port}`,
    models: engine.models,
    apis: simApis(engine.models),
    maxConcurrency: engine.scheduler.maxNumSeqs,
    state: () => engine.snapshot(),
    setFaults: (patch) => engine.setFaults(patch),
    reset: () => engine.reset(),
    crash: () => {
      engine.setFaults({ crash: true })
    },
    restart: async () => {
      if (server.listening) return
      engine.crashed = false
      engine.setFaults({ crash: false })
      await listen(server, port)
    },
    stop: async () => {
      const closed = new Promise<void>((resolve) => {
        if (server.listening) server.close(() => resolve())
        else resolve()
      })
      dropEverything()
      await closed
    },
  }
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen(port, HOST, () => {
      server.off('error', onError)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

function simApis(models: readonly string[]): ApiKind[] {
  const apis = new Set<ApiKind>()
  for (const model of models) {
    if (isEmbeddingModel(model)) apis.add('embeddings')
    else for (const api of ['chat', 'completions', 'responses'] as const) apis.add(api)
  }
  return [...apis]
}
