/**
 * Preloaded (`node --import`) into the Portkey gateway's own process: it binds
 * Portkey's server to 127.0.0.1 (Portkey listens on every interface), tells
 * the bench its port over IPC once it listens, and answers the same `stats`
 * messages as Spillway's gateway child, so both are measured the same way.
 */
import { Server } from 'node:net'
import { answerStatsOverIpc } from './process-stats.ts'

const listen = Server.prototype.listen
// Portkey's Node entry calls `serve({ fetch, port })`, which listens on `(port, callback)`.
Server.prototype.listen = function loopbackListen(this: Server, ...args: unknown[]) {
  if (typeof args[0] === 'number') {
    const callback = args.find((a) => typeof a === 'function')
    this.once('listening', () => {
      const address = this.address()
      if (address && typeof address === 'object')
        process.send?.({ type: 'ready', url: `http://127.0.0.1:${address.port}` })
    })
    const options = { port: args[0], host: '127.0.0.1' }
    return callback ? listen.call(this, options, callback as () => void) : listen.call(this, options)
  }
  return listen.apply(this, args as Parameters<typeof listen>) as Server
} as typeof listen

answerStatsOverIpc()
process.on('message', (message: { type?: string }) => {
  if (message?.type === 'stop') process.exit(0)
})
// The parent died without stopping us: do not linger.
process.on('disconnect', () => process.exit(0))
