/**
 * Prints the README's benchmark tables from `bench/results/latest.json`, so every
 * figure in the README is one the bench measured:
 *
 *   node --experimental-strip-types bench/readme-table.ts [path/to/latest.json]
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { BenchResult } from './lib/result.ts'
import { summaryTables } from './lib/summary.ts'

const file = process.argv[2] ?? fileURLToPath(new URL('./results/latest.json', import.meta.url))
const result = JSON.parse(await readFile(file, 'utf8')) as BenchResult
process.stdout.write(summaryTables(result))
