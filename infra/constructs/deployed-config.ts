import { createHash } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Stage } from 'aws-cdk-lib'
import { Architecture, Code, LayerVersion } from 'aws-cdk-lib/aws-lambda'
import { Construct } from 'constructs'
import { loadGatewayConfigFile } from '../../shared/config/config-file.ts'
import {
  DEFAULT_CONFIG,
  type GatewayConfig,
  type GatewayConfigInput,
  parseGatewayConfig,
} from '../../shared/config/gateway-config.ts'

/** Lambda's 4 KB environment limit, less what the names, URLs and ARNs take. */
export const MAX_CONFIG_ENV_CHARS = 2500

/** Where a config too big for the environment lands: layers are unpacked under /opt. */
export const CONFIG_LAYER_FILE = '/opt/spillway/config.json'

export interface DeployedConfigProps {
  /** The configuration as an object; exclusive with `configFile`. */
  config?: GatewayConfigInput
  /** A `spillway.config.json` to read at synth time; exclusive with `config`. */
  configFile?: string
}

/**
 * The gateway configuration every function runs, validated at synth so a broken one
 * fails `cdk synth` (with the file's path and every problem), not the first cold start.
 * It travels as `SPILLWAY_CONFIG` (compact JSON) while it fits Lambda's 4 KB of
 * environment; a bigger one is a file in a Lambda layer, named by `SPILLWAY_CONFIG_FILE`.
 *
 * @example
 * const config = new DeployedConfig(this, 'Config', { configFile: 'spillway.config.json' })
 * new SpillwayFunction(this, 'Gateway', { ...props, environment: config.environment, layers: config.layers })
 */
export class DeployedConfig extends Construct {
  readonly config: GatewayConfig
  /** `SPILLWAY_CONFIG` or `SPILLWAY_CONFIG_FILE`, for every function. */
  readonly environment: Record<string, string>
  /** The config's layer when it is too big for the environment, else none. */
  readonly layers: LayerVersion[]

  constructor(scope: Construct, id: string, props: DeployedConfigProps = {}) {
    super(scope, id)
    if (props.config && props.configFile) {
      throw new Error('SpillwayGateway: give `config` or `configFile`, not both.')
    }
    this.config = props.configFile
      ? loadGatewayConfigFile(props.configFile)
      : parseGatewayConfig(props.config ?? DEFAULT_CONFIG)
    // Tenant defaults only matter to the tools that create tenants; the functions never read them.
    const { tenantDefaults: _toolsOnly, ...shipped } = this.config
    const json = JSON.stringify(shipped)
    if (json.length <= MAX_CONFIG_ENV_CHARS) {
      this.environment = { SPILLWAY_CONFIG: json }
      this.layers = []
      return
    }
    this.environment = { SPILLWAY_CONFIG_FILE: CONFIG_LAYER_FILE }
    this.layers = [
      new LayerVersion(this, 'Layer', {
        code: Code.fromAsset(this.writeLayerDirectory(json)),
        description: 'Spillway gateway configuration (too big for the environment)',
        compatibleArchitectures: [Architecture.ARM_64],
      }),
    ]
  }

  /** The layer's content, in the cloud assembly directory, keyed by its hash so each synth is stable. */
  private writeLayerDirectory(json: string): string {
    const hash = createHash('sha256').update(json).digest('hex').slice(0, 16)
    const dir = join(Stage.of(this)?.outdir ?? '.', '.spillway-config', hash)
    const file = join(dir, CONFIG_LAYER_FILE.replace(/^\/opt\//, ''))
    mkdirSync(join(file, '..'), { recursive: true })
    writeFileSync(file, json)
    return dir
  }
}
