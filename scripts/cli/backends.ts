import { adminRequest } from './admin-api.ts'
import { UsageError } from './cli-error.ts'
import { type CommandContext, intFlag, type Subcommand } from './command.ts'
import { formatTable, printJson } from './output.ts'

/** `spillway backends …`: the gateway's admin API for the backend registry. */
interface BackendView {
  id: string
  url: string
  hardware: string
  models: string[]
  state: string
  maxConcurrency: number
  leases: number
  freeSlots: number
  load: { running: number; waiting: number; kvCacheUsage: number }
  heartbeatAgeSeconds: number
  circuitOpenUntil?: string
}

function printBackends(context: CommandContext, backends: readonly BackendView[], one = false): void {
  if (context.json) {
    printJson(context.io, one ? backends[0] : { data: backends })
    return
  }
  context.io.out(
    formatTable(
      [
        'ID',
        'HARDWARE',
        'STATE',
        'SLOTS',
        'LEASED',
        'FREE',
        'RUNNING',
        'WAITING',
        'HEARTBEAT',
        'CIRCUIT',
        'MODELS',
        'URL',
      ],
      backends.map((b) => [
        b.id,
        b.hardware,
        b.state,
        b.maxConcurrency,
        b.leases,
        b.freeSlots,
        b.load.running,
        b.load.waiting,
        `${b.heartbeatAgeSeconds.toFixed(1)}s ago`,
        b.circuitOpenUntil ? `open until ${b.circuitOpenUntil}` : 'closed',
        b.models.join(','),
        b.url,
      ]),
    ),
  )
}

const stateChange = (verb: 'drain' | 'undrain', synopsis: string): Subcommand => ({
  synopsis,
  positionals: ['ID'],
  async run(context, { positionals: [id = ''] }) {
    const backend = await adminRequest<BackendView>(await context.target.admin(), {
      method: 'POST',
      path: `/admin/backends/${encodeURIComponent(id)}/${verb}`,
    })
    printBackends(context, [backend], true)
    return 0
  },
})

export const backendsCommands: Record<string, Subcommand> = {
  list: {
    synopsis: 'backends list',
    async run(context) {
      const { data } = await adminRequest<{ data: BackendView[] }>(await context.target.admin(), {
        method: 'GET',
        path: '/admin/backends',
      })
      printBackends(context, data)
      if (!context.json && data.length === 0) context.io.err('No backends registered.')
      return 0
    },
  },
  register: {
    synopsis: 'backends register --id ID --url URL --hardware CLASS --models a,b --slots N',
    options: {
      id: { type: 'string' },
      url: { type: 'string' },
      hardware: { type: 'string' },
      models: { type: 'string' },
      slots: { type: 'string' },
    },
    async run(context, { values }) {
      const missing = ['id', 'url', 'hardware', 'models', 'slots'].filter(
        (name) => typeof values[name] !== 'string',
      )
      if (missing.length > 0)
        throw new UsageError(`backends register needs ${missing.map((m) => `--${m}`).join(', ')}`)
      const backend = await adminRequest<BackendView>(await context.target.admin(), {
        method: 'POST',
        path: '/admin/backends',
        body: {
          id: values.id,
          url: values.url,
          hardware: values.hardware,
          models: String(values.models)
            .split(',')
            .map((m) => m.trim()),
          maxConcurrency: intFlag(values, 'slots', 1),
        },
      })
      printBackends(context, [backend], true)
      return 0
    },
  },
  drain: stateChange('drain', 'backends drain ID'),
  undrain: stateChange('undrain', 'backends undrain ID'),
  remove: {
    synopsis: 'backends remove ID',
    positionals: ['ID'],
    async run(context, { positionals: [id = ''] }) {
      await adminRequest(await context.target.admin(), {
        method: 'DELETE',
        path: `/admin/backends/${encodeURIComponent(id)}`,
      })
      if (context.json) printJson(context.io, { id, removed: true })
      else context.io.err(`Removed backend ${id}.`)
      return 0
    },
  },
}
