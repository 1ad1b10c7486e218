/**
 * The child's side of a local-stack process (emulators, fleet, workers): it
 * stops when the parent asks (`{ type: 'stop' }`) or when the parent is gone
 * (the IPC channel closes), and never on its own Ctrl-C. A terminal's Ctrl-C
 * signals the whole process group; the parent stops the gateway first and then
 * each child in order, so a child that quit on SIGINT would pull the emulators
 * from under requests still in flight.
 */
export function stopWithParent(stop: () => Promise<void>): void {
  let stopping = false
  const stopAndExit = () => {
    if (stopping) return
    stopping = true
    void stop()
      .catch((error: unknown) => console.error(`stopping ${process.title}: ${String(error)}`))
      .finally(() => process.exit(0))
  }
  process.on('SIGINT', () => {})
  process.on('SIGTERM', stopAndExit)
  process.on('message', (message: { type?: string }) => {
    if (message?.type === 'stop') stopAndExit()
  })
  process.on('disconnect', stopAndExit)
}

/** The JSON options the parent put in the child's environment. */
export function childOptions<T>(): T {
  const raw = process.env.SPILLWAY_LOCAL_CHILD
  if (!raw) throw new Error('SPILLWAY_LOCAL_CHILD is not set: this file is started by local/process-stack.ts')
  return JSON.parse(raw) as T
}
