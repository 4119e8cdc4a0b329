import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { lib } from './helpers.mjs';

// The description the Python package wrote for this build (run_tests.mjs passes its path).
const described = JSON.parse(readFileSync(process.env.VIBEVOICE_ARTIFACT_DESCRIPTION, 'utf8'));

describe('artifact description', () => {
  it('is the one the library was built with, and its constants come from it', () => {
    assert.deepEqual(lib.ARTIFACT, described);
    assert.deepEqual(lib.GRAPHS, described.graphs);
    assert.deepEqual(lib.DTYPES, described.best_first);
    for (const [dtype, info] of Object.entries(described.dtypes)) {
      assert.equal(lib.DTYPE_SUFFIX[dtype], info.suffix);
      assert.equal(lib.needsShaderF16(dtype), info.half_precision);
    }
    assert.equal(lib.DEFAULT_MAX_NEW_TOKENS, described.generation.max_new_tokens);
    const front = described.front_end;
    assert.deepEqual(lib.DEFAULT_FRONT_END, { sampleRate: front.sampling_rate, hop: front.hop_length, normalize: true, targetDbfs: front.target_dB_FS, eps: front.eps });
  });

  it('names what the Python contract names', () => {
    // the values Python writes today; a rename there must be a rename here, in one place
    assert.deepEqual(described.graphs, ['audio_encoder', 'embed_tokens', 'decoder_model_merged']);
    assert.equal(described.dtypes.q4f16.suffix, '_q4f16');
    assert.equal(described.limits.gpu_buffer_bytes, 2 ** 30);
  });

  it('refuses a description of another shape with one clear error', () => {
    assert.throws(() => lib.checkDescription({ ...described, format: 2 }), /format 2, this library reads format 1/);
    const { limits, ...noLimits } = described;
    assert.ok(limits);
    assert.throws(() => lib.checkDescription(noLimits), /lacks the object limits/);
    const badDtype = { ...described, dtypes: { ...described.dtypes, q4: { ...described.dtypes.q4, suffix: 4 } } };
    assert.throws(() => lib.checkDescription(badDtype), /has no string dtypes\.q4\.suffix/);
    assert.throws(() => lib.checkDescription({ ...described, best_first: ['fp32'] }), /best_first of every dtype/);
  });

  it('orders what a device runs from the description', () => {
    const all = described.best_first;
    assert.deepEqual(lib.runnableDtypes(all, 'webgpu', true), all);
    assert.deepEqual(lib.runnableDtypes(all, 'webgpu', false), all.filter((d) => !described.dtypes[d].half_precision));
    assert.deepEqual(lib.runnableDtypes(all, 'wasm', false), described.cpu_best_first);
  });
});
