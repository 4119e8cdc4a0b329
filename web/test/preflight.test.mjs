// The pre-flight estimate against `vibevoice-asr-web size-report` (fixtures/size_report.json, made by
// make_size_fixture.py), and its verdicts: what fits, what does not, and what it suggests instead.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fixture, lib } from './helpers.mjs';

const sizes = fixture('size_report.json');
const REAL = sizes.models.real.config;
const GIB = 2 ** 30;
// Weights, their largest tensor and the KV cache per token are integer formulas on both sides: they
// must agree to the byte. Memory at N minutes may differ by the rounding of token counts: 0.01%.
const MEMORY_TOLERANCE = 1e-4;

const roomy = { device: 'webgpu', shaderF16: true, maxBufferSize: 4 * GIB, maxStorageBufferBindingSize: 2 * GIB, deviceMemoryGiB: 8, storage: { quota: 100e9, usage: 0 } };

function check(dtype, durationS, environment, extra = {}) {
  return lib.preflight({ config: REAL, dtype, durationS, environment, ...extra });
}

function codes(report) {
  return report.problems.map((p) => `${p.code}:${p.severity}`);
}

describe('estimate equals size-report', () => {
  test('constants are the Python ones', () => {
    assert.equal(lib.INT4_BLOCK, sizes.int4_block);
    assert.equal(lib.ANSWER_TOKENS_PER_MINUTE, sizes.text_tokens_per_minute);
    assert.equal(lib.tokenEstimate(lib.readModelShape(REAL), 60).audio, sizes.audio_tokens_per_minute);
  });

  for (const [name, model] of Object.entries(sizes.models)) {
    test(`${name}: parameters, weights per graph, largest tensor, KV cache`, () => {
      const shape = lib.readModelShape(model.config);
      const params = lib.parameters(shape);
      assert.equal(params.reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0), model.parameters);
      for (const [dtype, expected] of Object.entries(model.dtypes)) {
        const got = lib.weightSizes(params, dtype);
        assert.deepEqual(got.graphBytes, expected.graph_bytes, `${name} ${dtype}`);
        assert.equal(got.total, expected.total_bytes, `${name} ${dtype}`);
        assert.deepEqual(got.largest, expected.largest, `${name} ${dtype}`);
        assert.equal(lib.kvBytesPerToken(shape, dtype), expected.kv_bytes_per_token, `${name} ${dtype}`);
      }
    });

    test(`${name}: browser memory at ${sizes.minutes.join(', ')} minutes`, () => {
      for (const [dtype, expected] of Object.entries(model.dtypes)) {
        for (const minutes of sizes.minutes) {
          const r = lib.preflight({ config: model.config, dtype, durationS: minutes * 60, environment: { device: 'wasm' } });
          // size-report counts weights + KV for audio and transcript tokens; the report adds the prompt, encoder and audio.
          const comparable = r.memory.weights + (r.tokens.audio + r.tokens.answer) * r.kvBytesPerToken;
          const want = expected.memory_bytes[String(minutes)];
          assert.ok(Math.abs(comparable - want) <= MEMORY_TOLERANCE * want, `${name} ${dtype} ${minutes} min: ${comparable} vs ${want}`);
          assert.equal(r.memory.total, r.memory.weights + r.memory.kvCache + r.memory.encoderActivations + r.memory.audio);
          assert.equal(r.memory.kvCache, r.tokens.total * r.kvBytesPerToken);
          assert.ok(r.memory.total > want);
        }
      }
    });
  }
});

describe('preflight verdicts (real model)', () => {
  test('q4f16, 10 minutes, a roomy GPU: fits, with the download and the memory reported', () => {
    const r = check('q4f16', 600, roomy);
    assert.deepEqual(r.problems, []);
    assert.equal(r.fits, true);
    assert.equal(r.download.bytes, sizes.models.real.dtypes.q4f16.total_bytes); // no manifest: the weights
    assert.equal(r.download.exact, false);
    assert.deepEqual(r.bufferLimit, { name: 'maxStorageBufferBindingSize', bytes: 2 * GIB });
    assert.equal(r.tokens.audio, 4500);
    assert.equal(r.tokens.answer, 2400);
    assert.equal(r.memory.audio, 600 * 24000 * 4);
    // The widest encoder state: the stem's FFN over a 60 s chunk, 4 x 32 channels x 1,440,000 samples in fp16.
    assert.deepEqual(r.largestActivation, { name: 'acoustic stem.stage FFN hidden state', bytes: 4 * 32 * 1_440_000 * 2 });
    assert.equal(r.largestTensor.kind, 'activation');
  });

  test('fp16 embedding (1.09 GB) exceeds a 1 GiB maxBufferSize; q4f16 is suggested, shorter audio is not', () => {
    const env = { ...roomy, maxBufferSize: GIB, deviceMemoryGiB: undefined }; // (fp16's 16.7 GB would be a memory warning)
    const r = check('fp16', 600, env);
    assert.deepEqual(codes(r), ['tensor-too-large:error']);
    assert.equal(r.fits, false);
    const [p] = r.problems;
    assert.match(p.message, /model\.language_model\.embed_tokens\.weight \(1\.09 GB\).*maxBufferSize \(1\.07 GB\)/);
    assert.deepEqual(p.fix, { dtype: 'q4f16' });
    assert.match(p.suggestion, /^q4f16 would fit/);
    const noF16 = check('fp16', 600, { ...env, shaderF16: false });
    assert.deepEqual(noF16.problems[0].fix, { dtype: 'q4' }); // q4f16 needs shader-f16
    const held = check('fp16', 600, env, { dtypes: ['fp16', 'fp32'] });
    assert.deepEqual(held.problems[0].fix, {});
    assert.match(held.problems[0].suggestion, /No variant/);
  });

  test('an activation over maxStorageBufferBindingSize: shorter audio (one smaller chunk) or half precision', () => {
    const limit = 512 * 2 ** 20;
    const env = { ...roomy, maxStorageBufferBindingSize: limit };
    const r = check('q4', 600, env);
    assert.deepEqual(codes(r), ['tensor-too-large:error']);
    assert.equal(r.largestTensor.kind, 'activation');
    const { fix } = r.problems[0];
    assert.equal(fix.dtype, 'q4f16');
    assert.ok(fix.maxDurationS > 0 && fix.maxDurationS < 60, `${fix.maxDurationS}`);
    assert.equal(check('q4', fix.maxDurationS, env).problems.length, 0);
    assert.deepEqual(codes(check('q4', fix.maxDurationS + 1, env)), ['tensor-too-large:error']);
  });

  test('more than navigator.deviceMemory: an error below the cap of 8, a warning at it', () => {
    const small = check('q4f16', 60, { ...roomy, deviceMemoryGiB: 4 });
    assert.deepEqual(codes(small), ['device-memory:error']);
    assert.deepEqual(small.problems[0].fix, {}); // the weights alone (4.81 GB) exceed 4 GiB
    assert.match(small.problems[0].suggestion, /No variant .* at any audio length: use a device with more memory/);
    assert.throws(() => lib.assertFits(small), (e) => e instanceof lib.VibeVoiceError && e.code === 'wont-fit' && /4 GiB/.test(e.message));

    const hour = check('q4', 3600, roomy);
    assert.deepEqual(codes(hour), ['device-memory:warning']);
    assert.equal(hour.fits, true);
    assert.equal(lib.assertFits(hour), hour);
    const { fix } = hour.problems[0];
    assert.equal(fix.dtype, 'q4f16');
    assert.ok(fix.maxDurationS > 60 && fix.maxDurationS < 3600, `${fix.maxDurationS}`);
    assert.deepEqual(check('q4', fix.maxDurationS, roomy).problems, []);
    assert.deepEqual(codes(check('q4', fix.maxDurationS + 1, roomy)), ['device-memory:warning']);
  });

  test('more than the storage quota left; what is cached already does not count', () => {
    const env = { ...roomy, storage: { quota: 6e9, usage: 1e9 } }; // 5 GB free
    const r = check('q4', 60, env);
    assert.deepEqual(codes(r), ['storage-quota:error']);
    assert.deepEqual(r.problems[0].fix, { dtype: 'q4f16' }); // 4.81 GB; shorter audio does not shrink a download
    assert.match(r.problems[0].message, /downloads 5\.49 GB; this site may store 5\.00 GB more/);
    const cached = check('q4', 60, { ...env, cachedBytes: 1e9 });
    assert.equal(cached.download.toFetchBytes, sizes.models.real.dtypes.q4.total_bytes - 1e9);
    assert.deepEqual(cached.problems, []);
    const none = check('q4f16', 60, { ...roomy, storage: { quota: 1e9, usage: 0 } });
    assert.match(none.problems[0].suggestion, /Free some of this site's storage/);
  });

  test('audio longer than the decoder context: the longest that fits', () => {
    const r = check('q4f16', 3 * 3600, { device: 'webgpu', shaderF16: true });
    assert.deepEqual(codes(r), ['audio-too-long:error']);
    const { fix } = r.problems[0];
    assert.equal(fix.dtype, undefined); // every variant has the same context
    assert.ok(check('q4f16', fix.maxDurationS, { device: 'webgpu' }).tokens.total <= 65536);
    assert.ok(check('q4f16', fix.maxDurationS + 1, { device: 'webgpu' }).tokens.total > 65536);
    assert.match(r.problems[0].suggestion, new RegExp(`at most ${lib.formatDuration(fix.maxDurationS)} of audio`));
    const capped = check('q4f16', 3 * 3600, { device: 'webgpu' }, { maxNewTokens: 1000 });
    assert.equal(capped.tokens.answer, 1000);
  });

  test('WASM has no GPU buffer limit', () => {
    const r = check('fp32', 60, { device: 'wasm' });
    assert.equal(r.bufferLimit, null);
    assert.deepEqual(r.problems, []);
  });
});

describe('download sizes from manifest.json', () => {
  const file = (bytes) => ({ bytes, sha256: '0'.repeat(64) });
  const manifest = {
    dtypes: ['fp32', 'q4'],
    files: {
      'config.json': file(2000),
      'tokenizer.json': file(30000),
      'onnx/audio_encoder.onnx': file(100),
      'onnx/audio_encoder.onnx_data': file(1000),
      'onnx/audio_encoder.onnx_data_1': file(1500),
      'onnx/embed_tokens.onnx': file(10),
      'onnx/embed_tokens.onnx_data': file(200),
      'onnx/decoder_model_merged.onnx': file(50),
      'onnx/decoder_model_merged.onnx_data': file(5000),
      'onnx/audio_encoder_q4.onnx': file(7),
      'onnx/audio_encoder_q4.onnx_data': file(70),
      'onnx/embed_tokens_q4.onnx': file(8),
      'onnx/embed_tokens_q4.onnx_data': file(80),
      'onnx/decoder_model_merged_q4.onnx': file(9),
      'onnx/decoder_model_merged_q4.onnx_data': file(90),
    },
  };

  test("a variant's graphs and chunks plus the files outside onnx/", () => {
    assert.equal(lib.manifestDownloadBytes(manifest, 'fp32'), 32000 + 100 + 1000 + 1500 + 10 + 200 + 50 + 5000);
    assert.equal(lib.manifestDownloadBytes(manifest, 'q4'), 32000 + 7 + 70 + 8 + 80 + 9 + 90);
    assert.equal(lib.manifestDownloadBytes(manifest, 'q4f16'), null); // not in the folder
    assert.equal(lib.manifestDownloadBytes(null, 'q4'), null);
    const r = lib.preflight({ config: REAL, manifest, dtype: 'q4', durationS: 30, environment: { device: 'webgpu', storage: { quota: 1e9 } } });
    assert.deepEqual(r.download, { bytes: 32264, exact: true, cachedBytes: 0, toFetchBytes: 32264 });
  });

  test("load()'s plan: 'auto' takes the best runnable variant that fits, counting what is cached", () => {
    const base = {
      folder: 'https://example.test/models/', config: REAL, manifest, durationS: 60, device: 'webgpu', shaderF16: false,
      available: ['fp32', 'q4'], runnable: ['q4', 'fp32'], environment: { device: 'webgpu', storage: { quota: 40000, usage: 0 } }, cached: [],
    };
    assert.equal(lib.planVariant({ ...base, dtype: 'auto' }).dtype, 'q4');
    // q4 over the quota (32,264 B to fetch, 10,000 free): auto falls back to fp32 only if fp32 fits, which it does not: q4's report says why.
    const tight = { ...base, environment: { ...base.environment, storage: { quota: 40000, usage: 30000 } } };
    const refused = lib.planVariant({ ...tight, dtype: 'auto' });
    assert.equal(refused.dtype, 'q4');
    assert.deepEqual(codes(refused), ['storage-quota:error']);
    assert.throws(() => lib.assertFits(refused), (e) => e.code === 'wont-fit' && /q4 downloads 32 kB.*deleteCachedModel/.test(e.message));
    // q4's graphs already cached (one data file half-way: it resumes): only the rest is fetched, and q4 fits again.
    const cachedFiles = [['onnx/decoder_model_merged_q4.onnx_data', 90], ['onnx/embed_tokens_q4.onnx_data', 40], ['tokenizer.json', 30000], ['other.bin', 5]];
    const cached = [{ folder: base.folder, bytes: 0, complete: false, files: cachedFiles.map(([file, bytes]) => ({ file, bytes, expectedBytes: null, complete: true })) }];
    const resumed = lib.planVariant({ ...tight, dtype: 'auto', cached });
    assert.equal(resumed.fits, true);
    assert.deepEqual(resumed.download, { bytes: 32264, exact: true, cachedBytes: 30130, toFetchBytes: 2134 });
    // another folder's cache does not count
    assert.equal(lib.planVariant({ ...tight, dtype: 'q4', cached: [{ ...cached[0], folder: 'https://example.test/other/' }] }).fits, false);
    // an explicit dtype the folder lacks is chooseDtype's error
    assert.throws(() => lib.planVariant({ ...base, dtype: 'q4f16' }), (e) => e.code === 'unsupported-dtype');
  });

  test('suggestions name only the variants the folder holds', () => {
    const r = lib.preflight({ config: REAL, manifest, dtype: 'fp32', durationS: 60, environment: { device: 'webgpu', maxBufferSize: GIB } });
    assert.deepEqual(r.problems[0].fix, { dtype: 'q4' });
  });
});

describe('bad input', () => {
  test('one clear error each', () => {
    const err = (code, re) => (e) => e instanceof lib.VibeVoiceError && e.code === code && re.test(e.message);
    assert.throws(() => check('q4', 0, roomy), err('bad-input', /durationS is 0; expected the audio's length in seconds/));
    assert.throws(() => check('int8', 10, roomy), err('bad-input', /dtype "int8" is not one of/));
    assert.throws(() => check('q4', 10, {}), err('bad-input', /environment\.device/));
    assert.throws(() => lib.preflight({ config: { model_type: 'llama' }, dtype: 'q4', durationS: 1, environment: roomy }), err('bad-config', /model_type "llama"/));
    const broken = { ...REAL, text_config: { ...REAL.text_config, hidden_size: '3584' } };
    assert.throws(() => lib.preflight({ config: broken, dtype: 'q4', durationS: 1, environment: roomy }), err('bad-config', /text_config\.hidden_size "3584"/));
    const depths = { ...REAL, acoustic_tokenizer_encoder_config: { ...REAL.acoustic_tokenizer_encoder_config, depths: [3, 3] } };
    assert.throws(() => lib.readModelShape(depths), err('bad-config', /2 acoustic_tokenizer_encoder_config\.depths for 6 downsampling ratios/));
  });
});

describe('probeEnvironment', () => {
  const nav = { deviceMemory: 4, storage: { estimate: async () => ({ quota: 5e9, usage: 1e9 }) } };

  test('a GPUAdapter, navigator.deviceMemory and the storage estimate', async () => {
    const adapter = { limits: { maxBufferSize: 2 * GIB, maxStorageBufferBindingSize: GIB }, features: new Set(['shader-f16']) };
    assert.deepEqual(await lib.probeEnvironment(adapter, { navigator: nav, cachedBytes: 7 }), {
      device: 'webgpu', shaderF16: true, maxBufferSize: 2 * GIB, maxStorageBufferBindingSize: GIB, cachedBytes: 7,
      deviceMemoryGiB: 4, storage: { quota: 5e9, usage: 1e9 },
    });
  });

  test('an AdapterReport; no adapter means WASM; missing or failing sources are left out', async () => {
    const report = { available: true, features: [], maxBufferSize: GIB };
    assert.deepEqual(await lib.probeEnvironment(report, { navigator: {} }), { device: 'webgpu', shaderF16: false, maxBufferSize: GIB, cachedBytes: 0 });
    assert.deepEqual(await lib.probeEnvironment({ available: false, features: [] }, { navigator: null }), { device: 'wasm', cachedBytes: 0 });
    const failing = { storage: { estimate: async () => { throw new Error('SecurityError'); } } };
    assert.deepEqual(await lib.probeEnvironment(null, { navigator: failing }), { device: 'wasm', cachedBytes: 0 });
    assert.deepEqual(await lib.probeEnvironment(null, { navigator: nav, storage: false }), { device: 'wasm', cachedBytes: 0, deviceMemoryGiB: 4 });
  });

  test('its result feeds preflight', async () => {
    const env = await lib.probeEnvironment({ limits: { maxBufferSize: GIB, maxStorageBufferBindingSize: GIB }, features: new Set() }, { navigator: nav });
    const r = check('q4', 60, env);
    assert.deepEqual(codes(r), ['device-memory:error', 'storage-quota:error']); // 5.49 GB: over 4 GiB, and over the 4 GB free
    assert.equal(r.fits, false);
  });
});
