// Transformers.js generate() hooks: the repetition guard and an abort signal as stopping criteria,
// a logits processor that records the first step's top-k logits, and a streamer for live tokens.
import { BaseStreamer, LogitsProcessor, StoppingCriteria, type Tensor } from '@huggingface/transformers';
import { RepetitionGuard } from './repetition';
import { topK, type TopLogits } from './topk';

export type { TopLogits };

/** Stops when the generated tokens (not the prompt) end in a loop. */
export class RepetitionStop extends StoppingCriteria {
  private readonly generated: number[] = [];
  /** The repeating n-gram's length once the guard fired. */
  repeatedNgram: number | null = null;

  constructor(
    private readonly guard: RepetitionGuard,
    private readonly promptLength: number,
  ) {
    super();
  }

  override _call(input_ids: number[][] | bigint[][]): boolean[] {
    const ids = input_ids[0];
    for (let i = this.promptLength + this.generated.length; i < ids.length; i++) this.generated.push(Number(ids[i]));
    this.repeatedNgram = this.guard.looping(this.generated);
    return input_ids.map(() => this.repeatedNgram !== null);
  }
}

/** Stops at the next token once the signal is aborted. */
export class AbortStop extends StoppingCriteria {
  constructor(private readonly signal: AbortSignal) {
    super();
  }

  override _call(input_ids: unknown[]): boolean[] {
    return input_ids.map(() => this.signal.aborted);
  }
}

/** Records the top-k logits of the first generation step (the prefill's last position); changes nothing. */
export class FirstStepLogits extends LogitsProcessor {
  top: TopLogits | null = null;

  constructor(private readonly k = 10) {
    super();
  }

  override _call(_input_ids: bigint[][], logits: Tensor): Tensor {
    if (this.top === null) this.top = topK(logits.data as Float32Array, logits.dims.at(-1)!, this.k);
    return logits;
  }
}

export interface TokenEvent {
  /** The new token's id. */
  id: number;
  /** How many tokens have been generated, this one included. */
  count: number;
  /** Text this token completed (may be empty while a multi-byte character is incomplete). */
  textDelta: string;
  /** All text so far (special tokens skipped). */
  text: string;
  /** Decode speed so far, tokens per second after the first token. */
  tokensPerSecond: number;
}

/** Feeds each generated token to a callback with the text it completes; also times the steps. */
export class TokenStreamer extends BaseStreamer {
  private pending: number[] = [];
  private seenPrompt = false;
  text = '';
  ids: number[] = [];
  firstTokenAt: number | null = null;
  lastTokenAt: number | null = null;

  constructor(
    private readonly decode: (ids: number[]) => string,
    private readonly onToken: ((event: TokenEvent) => void) | null,
  ) {
    super();
  }

  tokensPerSecond(): number {
    if (this.firstTokenAt === null || this.lastTokenAt === null || this.ids.length < 2) return 0;
    const seconds = (this.lastTokenAt - this.firstTokenAt) / 1000;
    return seconds > 0 ? (this.ids.length - 1) / seconds : 0;
  }

  override put(value: bigint[][]): void {
    if (!this.seenPrompt) {
      this.seenPrompt = true; // generate() first passes the prompt
      return;
    }
    const now = performance.now();
    this.firstTokenAt ??= now;
    this.lastTokenAt = now;
    const id = Number(value[0][0]);
    this.ids.push(id);
    this.pending.push(id);
    let delta = this.decode(this.pending);
    if (delta.endsWith('\uFFFD') && this.pending.length < 8) {
      delta = ''; // wait for the rest of a multi-byte character
    } else {
      this.pending = [];
      this.text += delta;
    }
    this.onToken?.({ id, count: this.ids.length, textDelta: delta, text: this.text, tokensPerSecond: this.tokensPerSecond() });
  }

  override end(): void {
    if (this.pending.length) {
      this.text += this.decode(this.pending);
      this.pending = [];
    }
  }
}
