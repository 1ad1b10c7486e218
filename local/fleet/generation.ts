/**
 * What a simulated model says and how long it takes. Output is a pure function
 * of (seed, prompt): words drawn from a fixed vocabulary by mulberry32 seeded
 * with a hash of both, so tests can assert on content.
 *
 * Prompt tokens are estimated as ceil(characters of message text / 4), at least
 * 1 — the usual rule of thumb for English with a BPE tokenizer. Each output
 * token is one word.
 */
import type { HardwareProfile } from './hardware-profiles.ts'
import { hashParts, mulberry32, type Random } from './prng.ts'

const VOCABULARY = [
  'the model request token queue slot gateway backend latency throughput capacity spill',
  'lease heartbeat route batch cache prefill decode stream water river channel flow',
  'reservoir overflow gate level rises falls and of to in is a when then so every free busy',
  'waits serves quickly slowly again first next last because while each one two many',
]
  .join(' ')
  .split(' ')

const CHARS_PER_TOKEN = 4

export interface ChatMessageText {
  readonly role: string
  readonly text: string
}

export function promptText(messages: readonly ChatMessageText[]): string {
  return messages.map((message) => `${message.role}: ${message.text}`).join('\n')
}

export function estimatePromptTokens(messages: readonly ChatMessageText[]): number {
  const characters = messages.reduce((sum, message) => sum + message.text.length, 0)
  return Math.max(1, Math.ceil(characters / CHARS_PER_TOKEN))
}

/** The output tokens (text pieces, each with its leading space) for a seed and prompt. */
export function generateTokens(options: { seed: number; prompt: string; count: number }): string[] {
  const random = mulberry32(hashParts('text', options.seed, options.prompt))
  const tokens: string[] = []
  let sentenceStart = true
  for (let i = 0; i < options.count; i++) {
    let word: string = VOCABULARY[Math.floor(random() * VOCABULARY.length)] ?? 'the'
    if (sentenceStart) word = word.charAt(0).toUpperCase() + word.slice(1)
    sentenceStart = random() < 0.12
    if (sentenceStart) word += '.'
    tokens.push(i === 0 ? word : ` ${word}`)
  }
  return tokens
}

/** Delays in ms, already scaled by `speed`: first the time to first token, then each gap. */
export interface TokenTimings {
  readonly firstTokenMs: number
  readonly nextTokenMs: () => number
}

export function tokenTimings(options: {
  profile: HardwareProfile
  promptTokens: number
  speed: number
  seed: number
  prompt: string
}): TokenTimings {
  const { profile, speed } = options
  const random: Random = mulberry32(hashParts('jitter', options.seed, options.prompt))
  const firstTokenMs =
    (profile.ttftBaseMs + (options.promptTokens / profile.prefillTokensPerSecond) * 1000) * speed
  return {
    firstTokenMs,
    nextTokenMs: () => profile.perTokenMs * (1 + profile.jitter * (2 * random() - 1)) * speed,
  }
}
