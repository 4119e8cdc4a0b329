import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lib } from './helpers.mjs';

const external = (dtypes) =>
  Object.fromEntries(
    dtypes.flatMap((sfx) => ['audio_encoder', 'embed_tokens', 'decoder_model_merged'].map((g) => [`${g}${sfx}.onnx`, 1])),
  );

describe('dtype variants', () => {
  it('lists what the manifest says, else what config.json names', () => {
    assert.deepEqual(lib.availableDtypes({}, { dtypes: ['fp32', 'q4', 'q4f16', 'int8'] }), ['q4f16', 'q4', 'fp32']);
    const config = { 'transformers.js_config': { dtype: { audio_encoder: 'fp32', embed_tokens: 'fp32', decoder_model_merged: 'fp32' }, use_external_data_format: external(['', '_q4']) } };
    assert.deepEqual(lib.availableDtypes(config, null), ['q4', 'fp32']);
    assert.deepEqual(lib.availableDtypes({ 'transformers.js_config': { dtype: 'q4f16' } }, null), ['q4f16']);
    assert.deepEqual(lib.availableDtypes({}, null), []);
    const failed = { dtypes: ['fp32', 'q4'], parity: { q4: { passed: false }, fp32: { passed: true } } };
    assert.deepEqual(lib.parityFailed(failed), ['q4']);
    assert.deepEqual(lib.availableDtypes({}, failed), ['fp32']); // a variant that missed its gate is never run
  });

  it('picks q4f16 with shader-f16, q4 without and on the CPU, fp32 when only fp32 exists', () => {
    const all = ['q4f16', 'q4', 'fp16', 'fp32'];
    assert.equal(lib.chooseDtype('auto', all, 'webgpu', true), 'q4f16');
    assert.equal(lib.chooseDtype('auto', all, 'webgpu', false), 'q4');
    assert.equal(lib.chooseDtype('auto', all, 'wasm', false), 'q4');
    assert.equal(lib.chooseDtype('auto', ['q4f16', 'fp32'], 'wasm', false), 'fp32');
    assert.deepEqual(lib.runnableDtypes(all, 'wasm', false), ['q4', 'fp32', 'q4f16', 'fp16']); // every variant has a CPU path
    assert.equal(lib.chooseDtype('q4f16', all, 'wasm', false), 'q4f16');
    assert.equal(lib.chooseDtype('auto', ['fp32'], 'webgpu', true), 'fp32');
    assert.equal(lib.chooseDtype('fp32', all, 'webgpu', true), 'fp32');
    assert.deepEqual(lib.runnableDtypes(all, 'webgpu', false), ['q4', 'fp32']);
  });

  it('a BitNet folder: q2f16 with shader-f16, q2 without it and on the CPU', () => {
    const bitnet = ['q2f16', 'q2', 'q4f16', 'q4', 'fp32'];
    assert.equal(lib.chooseDtype('auto', bitnet, 'webgpu', true), 'q2f16');
    assert.equal(lib.chooseDtype('auto', bitnet, 'webgpu', false), 'q2'); // q2f16 has float16 activations
    assert.equal(lib.chooseDtype('auto', bitnet, 'wasm', false), 'q2');
    assert.deepEqual(lib.runnableDtypes(bitnet, 'webgpu', false), ['q2', 'q4', 'fp32']);
    assert.throws(() => lib.chooseDtype('q2f16', bitnet, 'webgpu', false), /shader-f16/);
  });

  it('refuses dtypes the folder lacks or the device cannot run', () => {
    assert.throws(() => lib.chooseDtype('q4', ['fp32'], 'webgpu', true), { code: 'unsupported-dtype', message: /no q4 variant; it holds fp32/ });
    assert.throws(() => lib.chooseDtype('q4f16', ['q4f16', 'q4'], 'webgpu', false), { code: 'unsupported-dtype', message: /shader-f16/ });
    assert.throws(() => lib.chooseDtype('auto', ['fp16'], 'webgpu', false), { code: 'unsupported-dtype' });
  });
});

describe('model location', () => {
  const page = 'http://127.0.0.1:8000/index.html';
  it('reads same-origin folders', () => {
    assert.deepEqual(lib.resolveModelLocation('models/', page), { kind: 'local', id: '/models', baseUrl: 'http://127.0.0.1:8000/models/' });
    assert.deepEqual(lib.resolveModelLocation('./other/q4', page), { kind: 'local', id: '/other/q4', baseUrl: 'http://127.0.0.1:8000/other/q4/' });
    assert.equal(lib.resolveModelLocation('http://127.0.0.1:8000/a/b/', page).id, '/a/b');
    assert.equal(lib.resolveModelLocation('/models', page).id, '/models');
  });

  it('reads Hub repo ids and Hub URLs', () => {
    assert.deepEqual(lib.resolveModelLocation('org/name', page), { kind: 'hub', id: 'org/name', revision: 'main', baseUrl: 'https://huggingface.co/org/name/resolve/main/' });
    assert.equal(lib.resolveModelLocation('https://huggingface.co/org/name/tree/v1', page).revision, 'v1');
    assert.equal(lib.resolveModelLocation('org/name', page, 'abc').baseUrl, 'https://huggingface.co/org/name/resolve/abc/');
  });

  it('refuses other origins and empty input', () => {
    assert.throws(() => lib.resolveModelLocation('https://example.com/models/', page), { code: 'bad-location', message: /origin/ });
    assert.throws(() => lib.resolveModelLocation('  ', page), { code: 'bad-location' });
  });
});

describe('errors', () => {
  it('classifies memory and download failures', () => {
    assert.equal(lib.classifyError(new RangeError('Array buffer allocation failed'), 'x').code, 'out-of-memory');
    assert.equal(lib.classifyError(new Error('failed to allocate a buffer of size 2079238052'), 'x').code, 'out-of-memory');
    assert.equal(lib.classifyError(new TypeError('Failed to fetch'), 'x').code, 'download-failed');
    assert.equal(lib.classifyError(Object.assign(new Error('x'), { name: 'ModelFileNotFoundError' }), 'x').code, 'download-failed');
    assert.equal(lib.classifyError(new Error('something else'), 'x').code, 'runtime');
    const own = new lib.VibeVoiceError('no-webgpu', 'x');
    assert.equal(lib.classifyError(own, 'y'), own);
  });
});
