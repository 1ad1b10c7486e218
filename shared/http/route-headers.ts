import type { Served } from '../proxy/forward-completion.ts'

/** The headers every routed response carries, so clients and tests can see where it ran. */
export function routeHeaders(served: Served): Record<string, string> {
  return {
    'x-spillway-route': served.route,
    'x-spillway-hardware': served.hardware,
    'x-spillway-backend': served.backendId,
  }
}
