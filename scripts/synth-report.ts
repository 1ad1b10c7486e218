/**
 * Prints each Lambda bundle's size after `cdk synth` (run by `npm run synth`):
 * the code, its source map, and the deflated size, which is about what the zip
 * uploaded to Lambda weighs (its limit is 50 MB zipped, 250 MB unzipped).
 *
 *   node scripts/synth-report.ts [cdk.out]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { deflateRawSync } from 'node:zlib'

interface Manifest {
  artifacts?: Record<string, { type: string; properties?: { templateFile?: string } }>
}
interface TemplateResource {
  Type: string
  Metadata?: Record<string, unknown>
}

/** Per zip entry: local header, central directory record and the file name twice, roughly. */
const ZIP_OVERHEAD_PER_FILE = 100

const outdir = process.argv[2] ?? 'cdk.out'
const manifest = JSON.parse(readFileSync(join(outdir, 'manifest.json'), 'utf8')) as Manifest
const rows: string[][] = []
let totalZip = 0

for (const artifact of Object.values(manifest.artifacts ?? {})) {
  const templateFile = artifact.properties?.templateFile
  if (artifact.type !== 'aws:cloudformation:stack' || !templateFile) continue
  const template = JSON.parse(readFileSync(join(outdir, templateFile), 'utf8')) as {
    Resources: Record<string, TemplateResource>
  }
  for (const resource of Object.values(template.Resources)) {
    const assetPath = resource.Metadata?.['aws:asset:path']
    if (resource.Type !== 'AWS::Lambda::Function' || typeof assetPath !== 'string') continue
    const dir = join(outdir, assetPath)
    const files = readdirSync(dir).filter((name) => statSync(join(dir, name)).isFile())
    const size = (name: string) =>
      files.filter((file) => file.endsWith(name)).reduce((sum, file) => sum + bytes(dir, file), 0)
    const zip = files.reduce(
      (sum, file) => sum + deflateRawSync(readFileSync(join(dir, file))).length + ZIP_OVERHEAD_PER_FILE,
      0,
    )
    totalZip += zip
    const path = String(resource.Metadata?.['aws:cdk:path'] ?? assetPath).replace(/\/Resource$/, '')
    rows.push([path, kb(size('.mjs')), kb(size('.map')), kb(zip)])
  }
}

if (rows.length === 0) {
  console.log(`No bundled Lambda function found in ${outdir}.`)
} else {
  const header = ['function', 'code', 'source map', 'zip ≈']
  const table = [header, ...rows, ['total', '', '', kb(totalZip)]]
  const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)))
  console.log('\nLambda bundles')
  for (const row of table) {
    console.log(
      row
        .map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!)))
        .join('  '),
    )
  }
}

function bytes(dir: string, file: string): number {
  return statSync(join(dir, file)).size
}

function kb(size: number): string {
  return `${(size / 1024).toFixed(1)} KB`
}
