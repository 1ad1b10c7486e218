/** Where a command writes: results on stdout (tables for people, JSON with `--json`), notes on stderr. */
export interface CliIo {
  out(line: string): void
  err(line: string): void
}

export const processIo: CliIo = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}

export type Cell = string | number | boolean | null | undefined

/** A plain aligned table, header first; empty cells show as `-`. */
export function formatTable(columns: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = [
    columns,
    ...rows.map((row) =>
      row.map((cell) => (cell === null || cell === undefined || cell === '' ? '-' : String(cell))),
    ),
  ]
  const widths = columns.map((_, i) => Math.max(...text.map((row) => (row[i] ?? '').length)))
  return text
    .map((row) =>
      row
        .map((cell, i) => (cell ?? '').padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
}

export const printJson = (io: CliIo, value: unknown) => io.out(JSON.stringify(value, null, 2))
