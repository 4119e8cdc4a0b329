import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lib } from './helpers.mjs';

describe('prefillChunks (Python: range(0, rows, PREFILL_CHUNK_TOKENS))', () => {
  it('defaults to 512 like the Python runtime', () => {
    assert.equal(lib.PREFILL_CHUNK_TOKENS, 512);
  });

  it('covers the rows in order, at most chunkTokens a call, with the growing past', () => {
    assert.deepEqual(lib.prefillChunks(20, 7), [
      { start: 0, end: 7, pastLength: 0, totalLength: 7 },
      { start: 7, end: 14, pastLength: 7, totalLength: 14 },
      { start: 14, end: 20, pastLength: 14, totalLength: 20 },
    ]);
    assert.deepEqual(lib.prefillChunks(90, 512), [{ start: 0, end: 90, pastLength: 0, totalLength: 90 }]);
    assert.deepEqual(lib.prefillChunks(5, 2, 10).map((c) => [c.start, c.end, c.pastLength, c.totalLength]), [
      [0, 2, 10, 12],
      [2, 4, 12, 14],
      [4, 5, 14, 15],
    ]);
    assert.deepEqual(lib.prefillChunks(0, 4), []);
    for (const [rows, n] of [[27_000, 512], [91, 16], [91, 7], [512, 512], [513, 512]]) {
      const chunks = lib.prefillChunks(rows, n);
      const starts = [];
      for (let s = 0; s < rows; s += n) starts.push(s);
      assert.deepEqual(chunks.map((c) => c.start), starts);
      assert.equal(chunks.at(-1).end, rows);
      chunks.forEach((c, i) => {
        assert.ok(c.end - c.start >= 1 && c.end - c.start <= n);
        if (i) assert.equal(c.start, chunks[i - 1].end);
      });
    }
  });

  it('rejects a chunk that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, NaN, Infinity]) {
      assert.throws(() => lib.prefillChunks(10, bad), (e) => e instanceof lib.VibeVoiceError && e.code === 'bad-input');
    }
  });
});

// A toy causal decoder with a KV cache: each call appends its rows (keyed by position) and returns the
// last row's "logits", a causal attention-like mix of everything cached. Feeding the prompt through
// the chunk plan must give the same logits and cache for every chunk size.
function toyDecoderRun(embeds, rows, hidden, chunkTokens, pastLength = 0, past = []) {
  let cache = past.slice();
  let logits = null;
  for (const chunk of lib.prefillChunks(rows, chunkTokens, pastLength)) {
    // The rows the call takes (the model slices the Tensor itself: model/tensors.ts, tensors.test.mjs).
    const data = embeds.subarray(chunk.start * hidden, chunk.end * hidden);
    assert.equal(cache.length, chunk.pastLength);
    const present = cache.slice();
    for (let r = 0; r < chunk.end - chunk.start; r++) {
      const position = chunk.pastLength + r;
      present.push({ position, value: Array.from(data.subarray(r * hidden, (r + 1) * hidden), (x) => x * Math.cos(position)) });
    }
    assert.equal(present.length, chunk.totalLength);
    const query = present.at(-1).value;
    const weights = present.map((kv) => Math.exp(kv.value.reduce((s, v, i) => s + v * query[i], 0) / hidden));
    const total = weights.reduce((a, b) => a + b, 0);
    logits = Array.from({ length: hidden }, (_, i) => present.reduce((s, kv, j) => s + (weights[j] / total) * kv.value[i], 0));
    cache = present;
  }
  return { logits, cache };
}

describe('a chunked prefill over the plan', () => {
  it('does not depend on the chunk size', () => {
    const rows = 37;
    const hidden = 4;
    const embeds = Float32Array.from({ length: rows * hidden }, (_, i) => Math.sin(i * 0.37));
    const whole = toyDecoderRun(embeds, rows, hidden, 512);
    for (const n of [1, 2, 7, 16, 36, 37, 38]) {
      const chunked = toyDecoderRun(embeds, rows, hidden, n);
      assert.deepEqual(chunked.cache, whole.cache, `chunk ${n}`);
      assert.deepEqual(chunked.logits, whole.logits, `chunk ${n}`);
    }
    // After a past: the same positions and result as one call after it.
    const first = toyDecoderRun(embeds.subarray(0, 10 * hidden), 10, hidden, 512);
    const rest = embeds.slice(10 * hidden);
    const after = toyDecoderRun(rest, rows - 10, hidden, 3, 10, first.cache);
    assert.deepEqual(after.cache, whole.cache);
    assert.deepEqual(after.logits, whole.logits);
  });
});

describe('prefillRowLimit', () => {
  it('caps calls at 31 tokens on WebGPU adapters with subgroups narrower than 8 lanes (SwiftShader)', () => {
    const swiftshader = { features: ['shader-f16', 'subgroups'], subgroupMinSize: 4 };
    assert.equal(lib.prefillRowLimit('webgpu', swiftshader), 31);
    assert.equal(lib.prefillRowLimit('wasm', swiftshader), Infinity);
    assert.equal(lib.prefillRowLimit('webgpu', { features: ['subgroups'], subgroupMinSize: 8 }), Infinity);
    assert.equal(lib.prefillRowLimit('webgpu', { features: ['subgroups'], subgroupMinSize: 32 }), Infinity);
    assert.equal(lib.prefillRowLimit('webgpu', { features: [], subgroupMinSize: 4 }), Infinity);
    assert.equal(lib.prefillRowLimit('webgpu', { features: ['subgroups'] }), Infinity);
  });

  it("caps them too where the compiler zeroes a loop's local once and the workaround did not fix it", () => {
    const lanes8 = { features: ['subgroups'], subgroupMinSize: 8 };
    assert.equal(lib.prefillRowLimit('webgpu', { ...lanes8, loopLocals: { probe: [1, 6, 6], zeroLocals: true, correct: true } }), Infinity);
    assert.equal(lib.prefillRowLimit('webgpu', { ...lanes8, loopLocals: { probe: [1, 6, 6], zeroLocals: true, correct: false } }), 31);
  });
});

describe('zeroLocals (the loop-local workaround, model/loop_locals.ts)', () => {
  it("writes out an uninitialized local's zero value, and leaves module-scope and initialized variables be", () => {
    const code = [
      '@group(0) @binding(0) var<storage, read_write> out : array<f32>;',
      'var<workgroup> tile : array<f32, 64>;',
      'fn main() {',
      '  for (var k = 0u; k < 4u; k++) {',
      '    var qk_1 : vec4<f32>;',
      '    var m : array<f32, 4>;',
      '    var s = 0.0;',
      '    var t : f32 = 1.0;',
      '  }',
      '}',
    ].join('\n');
    const { code: fixed, rewrites } = lib.zeroLocals(code);
    assert.equal(rewrites, 2);
    assert.match(fixed, /var qk_1 = vec4<f32>\(\);/);
    assert.match(fixed, /var m = array<f32, 4>\(\);/);
    for (const kept of ['var<storage, read_write> out : array<f32>;', 'var<workgroup> tile : array<f32, 64>;', 'var s = 0.0;', 'var t : f32 = 1.0;', 'var k = 0u;']) {
      assert.ok(fixed.includes(kept), kept);
    }
    assert.deepEqual(lib.zeroLocals(fixed), { code: fixed, rewrites: 0 });
  });
});

describe('isSoftwareAdapter (the demo marks these as slow)', () => {
  const report = (info) => ({ available: true, features: [], ...info });
  it('knows SwiftShader, llvmpipe / lavapipe and fallback adapters', () => {
    assert.equal(lib.isSoftwareAdapter(report({ vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader Device (Subzero)' })), true);
    assert.equal(lib.isSoftwareAdapter(report({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' })), true);
    assert.equal(lib.isSoftwareAdapter(report({ vendor: 'mesa', device: 'lavapipe' })), true);
    assert.equal(lib.isSoftwareAdapter(report({ vendor: 'unknown', isFallbackAdapter: true })), true);
  });
  it('leaves real GPUs and no adapter alone', () => {
    assert.equal(lib.isSoftwareAdapter(report({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' })), false);
    assert.equal(lib.isSoftwareAdapter(report({ vendor: 'apple', architecture: 'metal-3' })), false);
    assert.equal(lib.isSoftwareAdapter({ available: false, features: [], isFallbackAdapter: true }), false);
  });
});
