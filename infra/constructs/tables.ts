import { type RemovalPolicy, Stack } from 'aws-cdk-lib'
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb'
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam'
import { Construct } from 'constructs'
import { type AttributeDefinition, TABLES, type TableDefinition, type TableKey } from '../../shared/tables.ts'

export interface SpillwayTablesProps {
  /** Refuse `DeleteTable` (and so `cdk destroy`) until it is turned off again. */
  deletionProtection: boolean
  /** DESTROY suits a personal account; RETAIN keeps the data when the stack goes. */
  removalPolicy: RemovalPolicy
}

export type ItemAccess = 'read' | 'readwrite'

export interface GrantItemsOptions {
  access: ItemAccess
  /** Global secondary indexes the grantee queries; none by default. */
  indexes?: readonly string[]
  /** DeleteItem too (writers only): only backends are ever deleted, by whoever ends a tombstone. */
  delete?: boolean
}

/** Item-level actions only: nothing here can alter, back up or delete a table. */
const READ_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:BatchGetItem',
  'dynamodb:Query',
  'dynamodb:Scan',
  'dynamodb:ConditionCheckItem',
  'dynamodb:DescribeTable',
]
/** Spillway writes items one at a time and never in batches: no BatchWriteItem for anyone. */
const WRITE_ACTIONS = ['dynamodb:PutItem', 'dynamodb:UpdateItem']

/**
 * Spillway's DynamoDB tables, built from the shared definitions the local stack uses:
 * on-demand, point-in-time recovery, TTL for garbage collection, encrypted at rest with
 * the AWS-managed KMS key.
 */
export class SpillwayTables extends Construct {
  readonly tables: Readonly<Record<TableKey, Table>>

  constructor(scope: Construct, id: string, props: SpillwayTablesProps) {
    super(scope, id)
    const build = (definition: TableDefinition) => {
      const table = new Table(this, pascal(definition.key), {
        partitionKey: attribute(definition.partitionKey),
        ...(definition.sortKey ? { sortKey: attribute(definition.sortKey) } : {}),
        billingMode: BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.deletionProtection,
        timeToLiveAttribute: definition.ttlAttribute,
        // The AWS-managed key (aws/dynamodb): no key to pay for or manage, and the template
        // says KMS encryption explicitly (the AWS-owned default renders as `SSEEnabled: false`).
        encryption: TableEncryption.AWS_MANAGED,
        removalPolicy: props.removalPolicy,
      })
      for (const index of definition.globalIndexes) {
        table.addGlobalSecondaryIndex({
          indexName: index.indexName,
          partitionKey: attribute(index.partitionKey),
          ...(index.sortKey ? { sortKey: attribute(index.sortKey) } : {}),
        })
      }
      return table
    }
    this.tables = {
      backends: build(TABLES.backends),
      jobs: build(TABLES.jobs),
      tenants: build(TABLES.tenants),
    }
  }

  /**
   * Grants item reads (and writes) on one table, naming each index ARN rather than
   * `index/*`, so a policy never holds a wildcard resource.
   */
  grantItems(grantee: IGrantable, key: TableKey, options: GrantItemsOptions): void {
    const table = this.tables[key]
    const known = new Set(TABLES[key].globalIndexes.map((index) => index.indexName))
    const indexes = options.indexes ?? []
    for (const name of indexes) {
      if (!known.has(name)) throw new Error(`table "${key}" has no index "${name}"`)
    }
    const stack = Stack.of(this)
    const indexArns = indexes.map((name) =>
      stack.formatArn({
        service: 'dynamodb',
        resource: 'table',
        resourceName: `${table.tableName}/index/${name}`,
      }),
    )
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions:
          options.access === 'read'
            ? READ_ACTIONS
            : [...READ_ACTIONS, ...WRITE_ACTIONS, ...(options.delete ? ['dynamodb:DeleteItem'] : [])],
        resources: [table.tableArn, ...indexArns],
      }),
    )
  }
}

function attribute(definition: AttributeDefinition): { name: string; type: AttributeType } {
  return {
    name: definition.name,
    type: definition.type === 'S' ? AttributeType.STRING : AttributeType.NUMBER,
  }
}

function pascal(key: string): string {
  return key.charAt(0).toUpperCase() + key.slice(1)
}
