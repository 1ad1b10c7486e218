/**
 * A job lives in one DynamoDB item, which holds at most 400 KB: the request when
 * it is queued, and the request plus the result once it succeeds. Requests over
 * `MAX_QUEUED_REQUEST_BYTES` are therefore never queued, which leaves every queued
 * job at least 128 KB (about 30,000 tokens of text) for its answer.
 */
export const MAX_QUEUED_REQUEST_BYTES = 256 * 1024

const ITEM_LIMIT_BYTES = 400 * 1024
/** Attribute names, ids, timestamps, an error, a webhook URL, who served it: generously. */
const ITEM_OVERHEAD_BYTES = 16 * 1024

/** Bytes of the JSON text DynamoDB stores for a request or a result. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value))
}

/** Whether a succeeded job's item, request and result together, stays under DynamoDB's limit. */
export function resultFits(options: { request: unknown; resultBytes: number }): boolean {
  return jsonBytes(options.request) + options.resultBytes + ITEM_OVERHEAD_BYTES <= ITEM_LIMIT_BYTES
}
