#!/usr/bin/env node
// `spillway` (the package bin; also `npm run spillway -- …`): operate a local stack or a deployment.
import { runSpillway } from './cli/main.ts'

process.exitCode = await runSpillway(process.argv.slice(2), process.env)
