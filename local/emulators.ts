import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { createAwsClients, destroyAwsClients } from '../shared/aws/clients.ts'
import { DEAD_LETTER_QUEUE_ENV, ENV, QUEUE_ENV, TABLE_ENV } from '../shared/runtime/env-names.ts'
import { bootstrapResources, type QueueUrls, type ResourceNames } from './bootstrap.ts'
import { startDynamoDbLocal } from './dynamodb-local.ts'

/** `dynalite` (in-process, no dependency) or `local`: AWS's DynamoDB Local, which needs Java 17. */
export type DynamoEngine = 'dynalite' | 'local'

export interface StartLocalAwsOptions {
  /** Persist tables, items, queues and messages here; in memory when omitted. */
  dataDir?: string
  /** Resource name prefix (`{prefix}-jobs`, …). */
  prefix?: string
  /** An external endpoint (LocalStack): nothing is embedded, resources are created there. */
  endpointUrl?: string
  region?: string
  /** Which embedded DynamoDB emulator; dynalite by default. */
  dynamodb?: DynamoEngine
  log?: (line: string) => void
}

export interface LocalAws {
  region: string
  endpoints: { dynamodb: string; sqs: string }
  names: ResourceNames
  queueUrls: QueueUrls
  /** What a child process (gateway, worker) needs in its environment to reach this stack. */
  env: Record<string, string>
  embedded: boolean
  /** The embedded DynamoDB emulator, and its pid when it is a child process (DynamoDB Local). */
  dynamodb: { engine: DynamoEngine | 'external'; pid?: number }
  stop(): Promise<void>
}

export const LOCAL_PREFIX = 'spillway-local'
export const LOCAL_REGION = 'us-east-1'

interface Emulator {
  endpoint: string
  pid?: number
  stop(): Promise<void>
}

/**
 * Starts the local AWS stack: dynalite (or DynamoDB Local as a Java child process) and
 * fauxqs in-process on free loopback ports (or an external endpoint), with Spillway's
 * tables and queues created in it.
 *
 * @example
 * const aws = await startLocalAws({ dataDir: '.data/aws' })
 * spawn('node', ['functions/gateway/node.ts'], { env: { ...process.env, ...aws.env } })
 * // …
 * await aws.stop()
 */
export async function startLocalAws(options: StartLocalAwsOptions = {}): Promise<LocalAws> {
  const region = options.region ?? LOCAL_REGION
  const prefix = options.prefix ?? LOCAL_PREFIX
  const log = options.log ?? (() => {})
  const engine = options.dynamodb ?? 'dynalite'
  const emulators: Emulator[] = []
  let unlock: (() => Promise<void>) | undefined
  const stopEmulators = async () => {
    await Promise.all(emulators.map((emulator) => emulator.stop()))
    await unlock?.()
  }
  let clients: ReturnType<typeof createAwsClients> | undefined
  try {
    let endpoints: LocalAws['endpoints']
    let dynamodbPid: number | undefined
    if (options.endpointUrl) {
      endpoints = { dynamodb: options.endpointUrl, sqs: options.endpointUrl }
    } else {
      const dataDir = options.dataDir
      if (dataDir) unlock = await lockDataDir(dataDir)
      // Tracked as each one starts, so a failure of the other still stops it.
      const track = (emulator: Emulator) => {
        emulators.push(emulator)
        return emulator
      }
      const dynamodbDir = dataDir && join(dataDir, engine === 'local' ? 'dynamodb-local' : 'dynamodb')
      const [dynamodb, sqs] = await Promise.all([
        (engine === 'local'
          ? startDynamoDbLocal(dynamodbDir ? { dataDir: dynamodbDir } : {})
          : startDynalite(dynamodbDir)
        ).then(track),
        startFauxqs({ dataDir: dataDir && join(dataDir, 'sqs'), region }).then(track),
      ])
      endpoints = { dynamodb: dynamodb.endpoint, sqs: sqs.endpoint }
      dynamodbPid = dynamodb.pid
      log(
        `${engine === 'local' ? 'DynamoDB Local' : 'dynalite'} on ${dynamodb.endpoint}, fauxqs on ${sqs.endpoint}, ${dataDir ? `data in ${dataDir}` : 'in memory'}`,
      )
    }
    clients = createAwsClients({ region, endpoints })
    const bootstrapped = await bootstrapResources({ clients, prefix })
    destroyAwsClients(clients)
    const { names } = bootstrapped
    const queueUrls = options.endpointUrl
      ? bootstrapped.queueUrls
      : atEndpoint(bootstrapped.queueUrls, endpoints.sqs)
    log(`tables and queues ready (prefix ${prefix})`)

    let stopping: Promise<void> | undefined
    return {
      region,
      endpoints,
      names,
      queueUrls,
      env: localAwsEnv({ region, endpoints, names, queueUrls }),
      embedded: !options.endpointUrl,
      dynamodb: options.endpointUrl
        ? { engine: 'external' }
        : { engine, ...(dynamodbPid ? { pid: dynamodbPid } : {}) },
      stop: () => {
        stopping ??= stopEmulators()
        return stopping
      },
    }
  } catch (error) {
    if (clients) destroyAwsClients(clients)
    await stopEmulators()
    throw error
  }
}

/**
 * fauxqs names queues `http://sqs.{region}.localhost:{port at creation}/…`: a persisted
 * queue keeps a dead port after a restart, and `*.localhost` does not resolve everywhere.
 * fauxqs finds a queue by the URL's path whatever its host, so the live endpoint serves.
 */
function atEndpoint(urls: QueueUrls, endpoint: string): QueueUrls {
  const rebase = (url: string) => new URL(new URL(url).pathname, endpoint).href
  return {
    interactive: rebase(urls.interactive),
    batch: rebase(urls.batch),
    interactiveDlq: rebase(urls.interactiveDlq),
    batchDlq: rebase(urls.batchDlq),
  }
}

function localAwsEnv(
  stack: Pick<LocalAws, 'region' | 'endpoints' | 'names' | 'queueUrls'>,
): Record<string, string> {
  const { tables } = stack.names
  return {
    [ENV.region]: stack.region,
    // Emulators accept any credentials; set so the SDK never looks for real ones.
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    [ENV.dynamodbEndpoint]: stack.endpoints.dynamodb,
    [ENV.sqsEndpoint]: stack.endpoints.sqs,
    [TABLE_ENV.backends]: tables.backends,
    [TABLE_ENV.jobs]: tables.jobs,
    [TABLE_ENV.tenants]: tables.tenants,
    [QUEUE_ENV.interactive]: stack.queueUrls.interactive,
    [QUEUE_ENV.batch]: stack.queueUrls.batch,
    [DEAD_LETTER_QUEUE_ENV.interactive]: stack.queueUrls.interactiveDlq,
    [DEAD_LETTER_QUEUE_ENV.batch]: stack.queueUrls.batchDlq,
  }
}

/**
 * LevelDB allows one opener: a second stack on the same directory would crash the
 * process from inside dynalite ("Database is closed") instead of failing to start.
 */
async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true })
  const pidFile = join(dataDir, 'spillway.pid')
  for (;;) {
    try {
      await writeFile(pidFile, String(process.pid), { flag: 'wx' })
      return () => rm(pidFile, { force: true })
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    const holder = Number(await readFile(pidFile, 'utf8').catch(() => ''))
    if (holder && isAlive(holder)) {
      throw new Error(`${dataDir} is in use by process ${holder}: stop it or choose another data directory`)
    }
    // Left behind by a process that died without stopping the stack.
    await rm(pidFile, { force: true })
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** dynalite ships no type declarations; this is the part of its API used here. */
type Dynalite = (options: {
  path?: string
  createTableMs: number
  deleteTableMs: number
  updateTableMs: number
}) => Server

async function startDynalite(path: string | undefined): Promise<Emulator> {
  if (path) await mkdir(path, { recursive: true })
  // A dev dependency, loaded only when embedding, so an external endpoint needs none of it.
  const dynalite = createRequire(import.meta.url)('dynalite') as Dynalite
  // Tables become ACTIVE on the next tick instead of after dynalite's default 500 ms.
  const server = dynalite({ path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  // dynalite finishes a request's write even after its socket is gone, and throws "Database is
  // closed" (uncaught, from inside dynalite) if the store closed first: so sockets are cut only
  // at a moment no request is in progress, or after a bound.
  let inFlight = 0
  server.on('request', (_request, response) => {
    inFlight++
    response.once('close', () => inFlight--)
  })
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        const done = (error?: Error) => (error ? reject(error) : resolve())
        // dynalite's close() also closes its LevelDB, which a restart on the same path needs. An
        // in-memory store needs no closing: only its listener is closed, so a write that lands
        // late (its client gone) meets an open store instead of an uncaught "Database is closed".
        if (path) server.close(done)
        else Server.prototype.close.call(server, done)
        // Keep-alive sockets of clients in other processes would hold close() open.
        server.closeIdleConnections()
        const startedAt = Date.now()
        const cut = setInterval(() => {
          if (inFlight > 0 && Date.now() - startedAt < 3_000) return
          clearInterval(cut)
          server.closeAllConnections()
        }, 10)
        cut.unref()
      }),
  }
}

async function startFauxqs(options: { dataDir: string | undefined; region: string }): Promise<Emulator> {
  const { startFauxqs } = await import('fauxqs')
  const server = await startFauxqs({
    port: 0,
    logger: false,
    defaultRegion: options.region,
    ...(options.dataDir ? { dataDir: options.dataDir } : {}),
  })
  return { endpoint: `http://127.0.0.1:${server.port}`, stop: () => server.stop() }
}
