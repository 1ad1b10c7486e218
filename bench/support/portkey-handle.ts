/**
 * The Portkey OSS gateway (`@portkey-ai/gateway`, a devDependency) as the
 * side-by-side peer: its published Node entry in a process of its own, proxying
 * to the same simulated backends as Spillway through its `openai` provider with
 * a custom host per backend (`x-portkey-custom-host`), no config, no cache, no
 * retries: a stateless proxy, the cost floor Spillway's admission is held to.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { spawnIpcChild } from '../../local/processes/ipc-child.ts'
import type { CallTarget } from '../lib/http-call.ts'
import { type MeasuredGateway, statsOf } from './gateway-handle.ts'

const PRELOAD = fileURLToPath(new URL('./portkey-preload.ts', import.meta.url))

export interface PortkeyPeer extends MeasuredGateway {
  readonly version: string
  /** One target per backend: the bench spreads calls round robin over them, as over the backends. */
  targetsFor(backendUrls: readonly string[]): CallTarget[]
}

export async function startPortkey(options: { core?: number } = {}): Promise<PortkeyPeer> {
  const require = createRequire(import.meta.url)
  const manifest = require.resolve('@portkey-ai/gateway/package.json')
  const { version } = require(manifest) as { version: string }
  const child = spawnIpcChild({
    script: join(dirname(manifest), 'build', 'start-server.js'),
    args: ['--port=0', '--headless'],
    nodeArgs: ['--import', PRELOAD],
    // Its start-up banner and spinner are not the bench's output.
    stdout: 'ignore',
    env: { NODE_ENV: 'production' },
    ...(options.core === undefined ? {} : { core: options.core }),
  })
  const ready = await child.next<{ type: 'ready'; url: string }>('ready')
  return {
    version,
    url: ready.url,
    stats: statsOf(child),
    stop: () => child.stop(),
    targetsFor: (backendUrls) =>
      backendUrls.map((backend) => ({
        url: new URL('/v1/chat/completions', ready.url),
        headers: {
          'x-portkey-provider': 'openai',
          'x-portkey-custom-host': new URL('/v1', backend).href,
          authorization: 'Bearer sk-bench-portkey',
        },
      })),
  }
}
