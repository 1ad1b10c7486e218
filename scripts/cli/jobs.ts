import { isJobId, type JobRecord } from '../../shared/jobs/job-record.ts'
import { jobView } from '../../shared/jobs/job-view.ts'
import { CliError } from './cli-error.ts'
import type { CommandContext, Subcommand } from './command.ts'
import { formatTable, printJson } from './output.ts'

/**
 * `spillway jobs show|cancel ID`: any tenant's job, for operators, read from the jobs
 * table (the HTTP jobs API answers each tenant for its own jobs only).
 */
const jobStore = async (context: CommandContext) => {
  const { clients, tables } = await context.target.tables()
  const { DynamoJobStore } = await import('../../shared/jobs/dynamo-job-store.ts')
  return new DynamoJobStore({ doc: clients.doc, tableName: tables.jobs })
}

async function load(context: CommandContext, id: string): Promise<JobRecord> {
  const job = isJobId(id) ? await (await jobStore(context)).get(id) : undefined
  if (!job) throw new CliError(`no job with id "${id}"`)
  return job
}

function printJob(context: CommandContext, job: JobRecord): void {
  const view = jobView(job)
  if (context.json) {
    printJson(context.io, { ...view, tenant: job.tenantId })
    return
  }
  const at = (seconds: number | null) => (seconds === null ? null : new Date(seconds * 1000).toISOString())
  context.io.out(
    formatTable(
      ['FIELD', 'VALUE'],
      [
        ['id', view.id],
        ['tenant', job.tenantId],
        ['status', view.status],
        ['model', view.model],
        ['priority', view.priority],
        ['attempts', view.attempts],
        ['created', at(view.created_at)],
        ['started', at(view.started_at)],
        ['finished', at(view.finished_at)],
        ['deadline', at(view.deadline_at)],
        ['served by', view.backend ? `${view.backend} (${view.hardware})` : null],
        ['error', view.error ? `${view.error.code}: ${view.error.message}` : null],
        ['webhook', view.webhook ? `${view.webhook.status} after ${view.webhook.attempts} attempts` : null],
      ],
    ),
  )
}

export const jobsCommands: Record<string, Subcommand> = {
  show: {
    synopsis: 'jobs show ID',
    positionals: ['ID'],
    async run(context, { positionals: [id = ''] }) {
      printJob(context, await load(context, id))
      return 0
    },
  },
  cancel: {
    synopsis: 'jobs cancel ID',
    positionals: ['ID'],
    async run(context, { positionals: [id = ''] }) {
      const job = await load(context, id)
      const store = await jobStore(context)
      const cancelled = await store.cancel({ id: job.id, tenantId: job.tenantId, now: Date.now() })
      const latest = cancelled ?? (await store.get(job.id)) ?? job
      if (!cancelled && latest.status !== 'cancelled') {
        throw new CliError(`job ${job.id} has already ended (${latest.status})`)
      }
      printJob(context, latest)
      return 0
    },
  },
}
