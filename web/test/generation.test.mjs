import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lib } from './helpers.mjs';

describe('RepetitionGuard (the Python runtime rule)', () => {
  const guard = new lib.RepetitionGuard();
  const repeat = (ngram, times, prefix = []) => [...prefix, ...Array.from({ length: times }, () => ngram).flat()];

  it('fires on a single token repeated 48 times, not 47', () => {
    assert.equal(guard.looping(repeat([7], 47, [1, 2, 3])), null);
    assert.equal(guard.looping(repeat([7], 48, [1, 2, 3])), 1);
  });

  it('needs the n-gram to cover 48 tokens and repeat at least 4 times', () => {
    assert.equal(guard.looping(repeat([1, 2, 3], 15)), null);
    assert.equal(guard.looping(repeat([1, 2, 3], 16)), 3);
    const long = Array.from({ length: 30 }, (_, i) => 100 + i);
    assert.equal(guard.looping(repeat(long, 3)), null);
    assert.equal(guard.looping(repeat(long, 4)), 30);
  });

  it('ignores n-grams longer than 32 and real text', () => {
    const longer = Array.from({ length: 33 }, (_, i) => i);
    assert.equal(guard.looping(repeat(longer, 5)), null);
    assert.equal(guard.looping(Array.from({ length: 500 }, (_, i) => (i * 7919) % 613)), null);
  });

  it('reports the shortest repeating n-gram', () => {
    assert.equal(guard.looping(repeat([5, 5], 30)), 1);
  });

  it('takes other thresholds', () => {
    assert.equal(new lib.RepetitionGuard({ minSpan: 8, minRepeats: 2 }).looping([1, 2, 3, 4, 1, 2, 3, 4]), 4);
  });
});

describe('topK', () => {
  it('orders by value, ties to the lower id (numpy stable argsort of -x)', () => {
    const logits = Float32Array.of(1, 5, 3, 5, -Infinity, 2, NaN, 4);
    assert.deepEqual(lib.topK(logits, 8, 4), { ids: [1, 3, 7, 2], values: [5, 5, 4, 3] });
    assert.deepEqual(lib.topK(logits, 8, 20).ids, [1, 3, 7, 2, 5, 0, 4, 6]); // NaN last
  });
});

describe('stopReason (the Python runtime precedence: eos, token cap, repetition; then abort)', () => {
  const facts = { eosTokenIds: [2, 9], maxNewTokens: 4, repeatedNgram: null, aborted: false };

  it('names eos when the last id is an eos id, even at the cap, looping or aborted', () => {
    assert.equal(lib.stopReason([5, 9], facts), 'eos');
    assert.equal(lib.stopReason([5, 6, 7, 2], { ...facts, repeatedNgram: 1, aborted: true }), 'eos');
  });

  it('names the cap before the guard and the guard before the abort', () => {
    assert.equal(lib.stopReason([5, 6, 7, 8], { ...facts, repeatedNgram: 2, aborted: true }), 'max_new_tokens');
    assert.equal(lib.stopReason([5, 6, 7], { ...facts, repeatedNgram: 2, aborted: true }), 'repetition');
    assert.equal(lib.stopReason([5, 6, 7], { ...facts, aborted: true }), 'aborted');
  });

  it('falls back to max_new_tokens, also for no ids', () => {
    assert.equal(lib.stopReason([5, 6], facts), 'max_new_tokens');
    assert.equal(lib.stopReason([], { ...facts, aborted: false }), 'max_new_tokens');
    assert.equal(lib.stopReason([], { ...facts, aborted: true }), 'aborted');
  });
});
