import { adminRequest } from './admin-api.ts'
import type { Subcommand } from './command.ts'
import { formatTable, printJson } from './output.ts'

interface CapacityView {
  at: string
  hardware: Record<string, { backends: number; slots: number; leases: number }>
}
interface QueuesView {
  lanes: { lane: string; waiting: number; delayed: number; inFlight: number; deadLettered: number }[]
  jobs?: { queued: { count: number; capped: boolean }; running: { count: number; capped: boolean } }
}

/** `spillway capacity`: slots per hardware class and the overflow backlog, as the admin API reports them. */
export const capacityCommand: Subcommand = {
  synopsis: 'capacity',
  async run(context) {
    const admin = await context.target.admin()
    const [capacity, queues] = await Promise.all([
      adminRequest<CapacityView>(admin, { method: 'GET', path: '/admin/capacity' }),
      adminRequest<QueuesView>(admin, { method: 'GET', path: '/admin/queues' }),
    ])
    if (context.json) {
      printJson(context.io, { ...capacity, queues })
      return 0
    }
    context.io.out(
      formatTable(
        ['HARDWARE', 'BACKENDS', 'SLOTS', 'LEASED', 'FREE'],
        Object.entries(capacity.hardware).map(([hardware, c]) => [
          hardware,
          c.backends,
          c.slots,
          c.leases,
          Math.max(0, c.slots - c.leases),
        ]),
      ),
    )
    context.io.out('')
    context.io.out(
      formatTable(
        ['LANE', 'WAITING', 'DELAYED', 'IN FLIGHT', 'DEAD-LETTERED'],
        queues.lanes.map((l) => [l.lane, l.waiting, l.delayed, l.inFlight, l.deadLettered]),
      ),
    )
    if (queues.jobs) {
      const count = (c: { count: number; capped: boolean }) => `${c.count}${c.capped ? '+' : ''}`
      context.io.out(
        `\nopen jobs: ${count(queues.jobs.queued)} queued, ${count(queues.jobs.running)} running`,
      )
    }
    return 0
  },
}
