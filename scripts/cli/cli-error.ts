/** The command line itself is wrong (unknown command or flag, missing argument): exit 2, with the usage hint. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** The command could not do its job (no stack running, refused by the gateway…): exit 1, one line. */
export class CliError extends Error {
  override readonly name = 'CliError'
}
