/**
 * Preloaded (`node --import`) into a gateway or worker process the chaos run starts
 * with `SPILLWAY_CLOCK_SKEW_MS`: that process's wall clock runs ahead (or behind) by
 * that much, as on a machine whose NTP drifted. Every reading moves — `Date.now()`,
 * `new Date()`, the injected clocks, the SDK's request dates — while timers and
 * `performance.now()` stay monotonic, as they do on a real skewed host. Nothing in
 * the product reads this variable: the skew is the machine's, not a code path.
 */
const skewMs = Number(process.env.SPILLWAY_CLOCK_SKEW_MS ?? 0)

if (Number.isFinite(skewMs) && skewMs !== 0) {
  const RealDate = Date
  const realNow = RealDate.now.bind(RealDate)
  class SkewedDate extends RealDate {
    constructor(...args: ConstructorParameters<DateConstructor> | []) {
      if (args.length === 0) super(realNow() + skewMs)
      else super(...(args as ConstructorParameters<DateConstructor>))
    }
    static override now(): number {
      return realNow() + skewMs
    }
  }
  globalThis.Date = SkewedDate as DateConstructor
}
