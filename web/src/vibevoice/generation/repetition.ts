// The guard against VibeVoice-ASR's known endless loops, the same rule as the Python runtime's
// RepetitionGuard: stop when the last tokens are one n-gram (n <= maxNgram) repeated back to back
// covering at least minSpan tokens and at least minRepeats times.

export interface RepetitionGuardOptions {
  maxNgram?: number;
  minSpan?: number;
  minRepeats?: number;
}

export class RepetitionGuard {
  readonly maxNgram: number;
  readonly minSpan: number;
  readonly minRepeats: number;

  constructor({ maxNgram = 32, minSpan = 48, minRepeats = 4 }: RepetitionGuardOptions = {}) {
    this.maxNgram = maxNgram;
    this.minSpan = minSpan;
    this.minRepeats = minRepeats;
  }

  /** The length of the repeating n-gram if `tokens` ends in a loop, else null. */
  looping(tokens: ArrayLike<number>): number | null {
    for (let n = 1; n <= this.maxNgram; n++) {
      const span = n * Math.max(this.minRepeats, Math.ceil(this.minSpan / n));
      if (tokens.length < span) continue;
      const base = tokens.length - span;
      let repeated = true;
      for (let i = n; i < span; i++) {
        if (tokens[base + i] !== tokens[base + (i % n)]) {
          repeated = false;
          break;
        }
      }
      if (repeated) return n;
    }
    return null;
  }
}
