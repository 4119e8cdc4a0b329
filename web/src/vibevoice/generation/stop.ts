// Why generation stopped, read from what generate() returned. The precedence is the Python runtime's
// (runtime/generate.py checks each new token in this order): eos, then the token cap, then the
// repetition guard; an aborted signal comes last, as the browser alone can be cancelled.

export type StopReason = 'eos' | 'max_new_tokens' | 'repetition' | 'aborted';

export interface StopFacts {
  eosTokenIds: readonly number[];
  maxNewTokens: number;
  /** The repetition guard's looping n-gram length, null when it did not fire (or is off). */
  repeatedNgram: number | null;
  aborted: boolean;
}

export function stopReason(generatedIds: readonly number[], facts: StopFacts): StopReason {
  const last = generatedIds.at(-1);
  if (last !== undefined && facts.eosTokenIds.includes(last)) return 'eos';
  if (generatedIds.length >= facts.maxNewTokens) return 'max_new_tokens';
  if (facts.repeatedNgram !== null) return 'repetition';
  if (facts.aborted) return 'aborted';
  return 'max_new_tokens';
}
