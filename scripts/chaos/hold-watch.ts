import { createAwsClients, destroyAwsClients } from '../../shared/aws/clients.ts'
import { DynamoTenantHoldStore } from '../../shared/holds/dynamo-tenant-hold-store.ts'

/**
 * Samples a tenant's concurrent holds in the tenants table while the chaos runs:
 * more live entries than its `maxConcurrentHolds` at any sample is a violation.
 * The store's own condition bounds the map's size, live or expired entries alike,
 * so neither a skewed clock nor a killed gateway may ever show more.
 */
export class HoldWatch {
  readonly violations: string[] = []
  /** The most live holds seen at once (the report shows the limit was reached). */
  peak = 0
  readonly #store: DynamoTenantHoldStore
  readonly #clients: ReturnType<typeof createAwsClients>
  readonly #tenantId: string
  readonly #limit: number
  #stopped = false

  constructor(options: {
    region: string
    endpoints: { dynamodb: string; sqs: string }
    tableName: string
    tenantId: string
    limit: number
  }) {
    this.#clients = createAwsClients({ region: options.region, endpoints: options.endpoints })
    this.#store = new DynamoTenantHoldStore({ doc: this.#clients.doc, tableName: options.tableName })
    this.#tenantId = options.tenantId
    this.#limit = options.limit
  }

  async run(keepGoing: () => boolean): Promise<void> {
    try {
      while (!this.#stopped && keepGoing()) {
        try {
          const live = await this.#store.live({ tenantId: this.#tenantId, now: Date.now() })
          this.peak = Math.max(this.peak, live)
          if (live > this.#limit)
            this.violations.push(`tenant ${this.#tenantId}: ${live} holds at once, above its ${this.#limit}`)
        } catch {
          // The emulator paused by a fault: sample again once it answers.
        }
        await new Promise((resolve) => setTimeout(resolve, 200))
      }
    } finally {
      destroyAwsClients(this.#clients)
    }
  }

  stop(): void {
    this.#stopped = true
  }
}
