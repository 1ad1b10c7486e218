import { config } from 'zod/mini'
import en from 'zod/v4/locales/en.js'

/**
 * The one entry to `zod/mini` for code bundled into the Lambda functions
 * (`import * as z from '…/validation/zod-mini.ts'`): its functional API lets
 * esbuild drop what the schemas do not use, where classic `zod` brings all of
 * itself (about 440 KB) into every bundle. Re-exported with `export *`, never
 * as a namespace object (`export { z }`), which esbuild cannot tree-shake: it
 * would keep every locale.
 *
 * Unlike classic `zod`, `zod/mini` registers no locale, so every issue would
 * read "Invalid input". The English messages are part of the contract: 400
 * bodies (`Invalid request: <param>: <message>`) and config errors quote them.
 */
config(en())

export * from 'zod/mini'
