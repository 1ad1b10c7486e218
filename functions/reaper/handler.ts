import type { Context } from 'aws-lambda'
import { type ReaperOptions, type ReapResult, reap } from '../../shared/reaper/reaper.ts'

/** The scheduled Lambda's handler: one sweep per EventBridge tick, webhooks within its timeout. */
export function createReaperHandler(options: ReaperOptions) {
  return async function reaperHandler(
    _event?: unknown,
    context?: Pick<Context, 'getRemainingTimeInMillis'>,
  ): Promise<ReapResult> {
    return reap({
      ...options,
      ...(context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {}),
    })
  }
}
