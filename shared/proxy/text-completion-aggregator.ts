import { ChoiceStreamFold, type FoldedChoice, type Json } from './choice-stream-fold.ts'

/**
 * Folds the chunks of a streamed legacy completion (`/v1/completions`,
 * `object: "text_completion"`) into the answer the same request would have
 * got without `stream`: each choice's `text` joined, the rest as every stream fold.
 */
interface TextChoice extends FoldedChoice {
  text: string
}

export class TextCompletionAggregator extends ChoiceStreamFold<TextChoice> {
  protected readonly object = 'text_completion'
  protected readonly contentField = 'text'

  protected newChoice(index: number): TextChoice {
    return { index, text: '', logprobs: null, finishReason: null, extra: {} }
  }

  protected foldContent(choice: TextChoice, text: unknown): void {
    if (typeof text === 'string') choice.text += text
  }

  protected contentOf(choice: TextChoice): Json {
    return { text: choice.text }
  }
}
