import { readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { App } from 'aws-cdk-lib'
import { Template } from 'aws-cdk-lib/assertions'
import { PROJECT_ROOT } from '../../infra/constructs/functions.ts'
import { SpillwayStack, type SpillwayStackProps } from '../../infra/spillway-stack.ts'

export interface SynthOptions {
  props?: SpillwayStackProps
  /** Run esbuild (slow-ish); off, the template is the same but the assets are not built. */
  bundle?: boolean
}

export interface Synthesized {
  app: App
  stack: SpillwayStack
  template: Template
  /** The cloud assembly directory; assets live in `asset.<hash>/` under it. */
  outdir: string
  remove(): Promise<void>
}

/** The feature flags `cdk synth` uses (cdk.json), so tests see the deployed template. */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>
  }
  return cdkJson.context
}

/** One Spillway stack in a fresh app writing to a temp dir; call `remove()` in afterAll. */
export async function synthSpillway(options: SynthOptions = {}): Promise<Synthesized> {
  const outdir = await mkdtemp(join(tmpdir(), 'spillway-cdk-'))
  const context = {
    ...cdkJsonContext(),
    // Set by the CLI: records each function's bundle directory in its `aws:asset:path` metadata.
    'aws:cdk:enable-asset-metadata': true,
    // The CLI's own switch (`cdk ls` uses it): an empty list means no stack is bundled.
    ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
  }
  const app = new App({ outdir, context })
  const stack = new SpillwayStack(app, 'Spillway', options.props)
  const template = Template.fromStack(stack)
  return { app, stack, template, outdir, remove: () => rm(outdir, { recursive: true, force: true }) }
}
