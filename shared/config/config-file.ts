import { readFileSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  type CheckGatewayConfigResult,
  ConfigError,
  type ConfigProblem,
  checkGatewayConfig,
  formatConfigProblems,
  type GatewayConfig,
} from './gateway-config.ts'

/** The file `npm start`, `npm run keys` and `npm run synth` read when told no other. */
export const CONFIG_FILE_NAME = 'spillway.config.json'

/**
 * Far above any real fleet's file (the shipped one is under 1 KB), low enough that a
 * wrong path (a log, a model's weights) is refused before it is read into memory.
 */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024

/** A configuration file that cannot be used: its path and every problem found in it. */
export class ConfigFileError extends ConfigError {
  override name = 'ConfigFileError'
  readonly file: string

  constructor(file: string, problems: readonly ConfigProblem[]) {
    super(`Invalid Spillway config file ${file}:\n${formatConfigProblems(problems)}`, problems)
    this.file = file
  }
}

export type CheckConfigFileResult = CheckGatewayConfigResult & { readonly file: string }

/**
 * Reads and validates a configuration file without throwing: the file's absolute
 * path and either the frozen configuration or every problem (unreadable file, JSON
 * syntax with line and column, schema errors with their JSON path, cross-references).
 *
 * @example
 * const result = checkConfigFile('spillway.config.json')
 * if (!result.ok) for (const p of result.problems) console.error(`${p.path}: ${p.message}`)
 */
export function checkConfigFile(path: string): CheckConfigFileResult {
  const file = resolve(path)
  const text = readConfigText(file)
  if (typeof text !== 'string') return { ok: false, problems: [text], file }
  return { ...checkConfigText(text), file }
}

/**
 * The configuration in a file, parsed once and frozen.
 *
 * @throws {ConfigFileError} naming the file and every problem in it.
 * @example
 * const config = loadGatewayConfigFile(process.env.SPILLWAY_CONFIG_FILE ?? 'spillway.config.json')
 */
export function loadGatewayConfigFile(path: string): GatewayConfig {
  const result = checkConfigFile(path)
  if (!result.ok) throw new ConfigFileError(result.file, result.problems)
  return result.config
}

/** The text of a configuration file's JSON, checked as a configuration. */
export function checkConfigText(text: string): CheckGatewayConfigResult {
  const json = parseJson(text)
  return json.ok ? checkGatewayConfig(json.value) : { ok: false, problems: [json.problem] }
}

function readConfigText(file: string): string | ConfigProblem {
  try {
    const stats = statSync(file)
    if (!stats.isFile()) return { path: '', message: 'not a file' }
    if (stats.size > MAX_CONFIG_FILE_BYTES) {
      return {
        path: '',
        message: `${stats.size} bytes; a config file may have ${MAX_CONFIG_FILE_BYTES} at most`,
      }
    }
    return readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return { path: '', message: 'no such file' }
    if (code === 'EACCES') return { path: '', message: 'not readable (permission denied)' }
    return { path: '', message: `cannot be read (${code ?? String(error)})` }
  }
}

type ParseJsonResult = { ok: true; value: unknown } | { ok: false; problem: ConfigProblem }

function parseJson(raw: string): ParseJsonResult {
  // Editors on Windows save UTF-8 with a byte-order mark, which JSON.parse refuses.
  const text = raw.startsWith('\uFEFF') ? raw.slice(1) : raw
  if (text.trim() === '') return { ok: false, problem: { path: '', message: 'the file is empty' } }
  try {
    return { ok: true, value: JSON.parse(text) }
  } catch (error) {
    return { ok: false, problem: { path: '', message: jsonSyntaxMessage(text, error) } }
  }
}

/** V8's message, with the offset it gives turned into a line and column an editor can go to. */
function jsonSyntaxMessage(text: string, error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  const at = /\s+in JSON at position (\d+)(?: \(line \d+ column \d+\))?/.exec(message)
  if (!at?.[1]) return `invalid JSON: ${message}`
  const position = Number(at[1])
  const before = text.slice(0, position)
  const line = before.split('\n').length
  const column = position - before.lastIndexOf('\n')
  return `invalid JSON at line ${line}, column ${column}: ${message.replace(at[0], '')}`
}
