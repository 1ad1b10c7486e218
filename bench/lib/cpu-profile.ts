/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) into self and
 * inclusive time per function and self time per package, so the summary names
 * what the hot path spends its time on.
 */

interface ProfileNode {
  readonly id: number
  readonly callFrame: { functionName: string; url: string; lineNumber: number }
  readonly children?: readonly number[]
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[]
  readonly samples: readonly number[]
  readonly timeDeltas: readonly number[]
}

export interface FunctionTime {
  readonly name: string
  /** package, `node:` module or repository path, with the line. */
  readonly where: string
  readonly category: string
  readonly ms: number
  /** Share of the busy (non-idle) time. */
  readonly share: number
}

export interface ProfileSummary {
  readonly busyMs: number
  readonly idleMs: number
  readonly topSelf: readonly FunctionTime[]
  readonly topInclusive: readonly FunctionTime[]
  readonly byCategory: readonly { category: string; ms: number; share: number }[]
  /** Time with at least one frame of the owner on the stack (what it does plus what it calls). */
  readonly byCategoryInclusive: readonly { category: string; ms: number; share: number }[]
}

const IDLE = new Set(['(idle)', '(root)'])

export function summarizeProfile(
  profile: CpuProfile,
  options: { root: string; top?: number },
): ProfileSummary {
  const top = options.top ?? 20
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const category = new Map<string, number>()
  const categoryInclusive = new Map<string, number>()
  const info = new Map<string, { name: string; where: string; category: string }>()
  let busy = 0
  let idle = 0

  const keyOf = (node: ProfileNode) => {
    const { functionName, url, lineNumber } = node.callFrame
    const where = url ? `${shortUrl(url, options.root)}:${lineNumber + 1}` : ''
    const key = `${functionName || '(anonymous)'} ${where}`
    if (!info.has(key)) {
      info.set(key, { name: functionName || '(anonymous)', where, category: categorize(node, options.root) })
    }
    return key
  }

  profile.samples.forEach((id, i) => {
    // A sample lasts until the next one; timeDeltas[i + 1] is that gap, in µs.
    const ms = (profile.timeDeltas[i + 1] ?? 0) / 1000
    const node = nodes.get(id)
    if (!node) return
    if (IDLE.has(node.callFrame.functionName)) {
      idle += ms
      return
    }
    busy += ms
    const key = keyOf(node)
    self.set(key, (self.get(key) ?? 0) + ms)
    const cat = info.get(key)!.category
    category.set(cat, (category.get(cat) ?? 0) + ms)
    const seen = new Set<string>()
    const seenCategories = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const ancestor = nodes.get(at)
      if (!ancestor || IDLE.has(ancestor.callFrame.functionName)) continue
      const k = keyOf(ancestor)
      if (seen.has(k)) continue
      seen.add(k)
      inclusive.set(k, (inclusive.get(k) ?? 0) + ms)
      seenCategories.add(info.get(k)!.category)
    }
    for (const c of seenCategories) categoryInclusive.set(c, (categoryInclusive.get(c) ?? 0) + ms)
  })
  const byShare = (times: Map<string, number>) =>
    [...times.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([name, ms]) => ({ category: name, ms: round(ms), share: round(ms / busy, 4) }))

  const rank = (times: Map<string, number>) =>
    [...times.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([key, ms]) => ({ ...info.get(key)!, ms: round(ms), share: round(ms / busy, 4) }))
  return {
    busyMs: round(busy),
    idleMs: round(idle),
    topSelf: rank(self),
    topInclusive: rank(inclusive),
    byCategory: byShare(category),
    byCategoryInclusive: byShare(categoryInclusive),
  }
}

function shortUrl(url: string, root: string): string {
  const path = url.replace(/^file:\/\//, '')
  const modules = path.lastIndexOf('/node_modules/')
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length)
  return path.startsWith(root) ? path.slice(root.length).replace(/^\//, '') : path
}

/** Groups by who owns the code: a package, a Node subsystem, or a Spillway folder. */
function categorize(node: ProfileNode, root: string): string {
  const { functionName, url } = node.callFrame
  if (!url) return functionName.startsWith('(') ? functionName : 'native'
  if (url.startsWith('node:internal/deps/undici')) return 'node: undici (fetch)'
  if (url.startsWith('node:internal/webstreams')) return 'node: web streams'
  if (url.startsWith('node:')) {
    const module = url.replace(/^node:(internal\/)?/, '').split('/')[0] ?? url
    return `node: ${module}`
  }
  const path = shortUrl(url, root)
  if (url.includes('/node_modules/')) {
    const parts = path.split('/')
    if (parts[0] === '@aws-sdk' || parts[0] === '@smithy') return 'AWS SDK (@aws-sdk, @smithy)'
    return parts[0]?.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? path)
  }
  return path.split('/').slice(0, 2).join('/')
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

/**
 * Owners worth an inclusive figure: packages and Spillway's folders. Node's own
 * layers and `native` sit under nearly every stack (the microtask loop), so
 * their inclusive share says nothing.
 */
export function isLibraryOrOwnCode(category: string): boolean {
  return !category.startsWith('node:') && !category.startsWith('(') && category !== 'native'
}
