// The Worker client's side of the protocol (src/vibevoice/worker/client.ts) against a fake Worker:
// events reach the callbacks, aborts reach the Worker, errors come back as VibeVoiceErrors, and a
// file the Worker cannot decode is decoded here and sent again as samples.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { lib, readRepoFile } from './helpers.mjs';

const MODEL = {
  source: { kind: 'local', id: '/models', baseUrl: 'http://localhost/models/' },
  device: 'wasm',
  dtype: 'fp32',
  available: ['fp32'],
  adapter: { available: false, features: [] },
  fallbackReason: null,
  settings: { frontEnd: { sampleRate: 24000, hop: 3200, normalize: true, targetDbfs: -25, eps: 1e-6 } },
};

/** A Worker whose replies come from `handler(request, reply)`; it records what it was sent. */
class FakeWorker {
  constructor(handler) {
    this.handler = handler;
    this.listeners = [];
    this.posted = [];
    this.terminated = false;
  }
  addEventListener(type, listener) {
    if (type === 'message') this.listeners.push(listener);
  }
  postMessage(message, transfer = []) {
    this.posted.push({ message, transfer });
    setTimeout(() => this.handler(message, (reply) => this.listeners.forEach((listener) => listener({ data: reply }))));
  }
  terminate() {
    this.terminated = true;
  }
}

function client(handler) {
  const worker = new FakeWorker(handler);
  return { worker, asr: new lib.VibeVoiceASRClient({ worker: () => worker }) };
}

function loads(request, reply) {
  if (request.type === 'load') {
    reply({ id: request.id, type: 'progress', event: { status: 'progress', file: 'onnx/a.onnx', loaded: 1, total: 2 } });
    reply({ id: request.id, type: 'done', value: MODEL });
    return true;
  }
  return false;
}

describe('VibeVoiceASRClient', () => {
  it('loads in the Worker, passing the page base and the progress events', async () => {
    const events = [];
    const { worker, asr } = client((request, reply) => loads(request, reply));
    await asr.load('models/', { dtype: 'fp32', onProgress: (event) => events.push(event) });
    assert.deepEqual(events, [{ status: 'progress', file: 'onnx/a.onnx', loaded: 1, total: 2 }]);
    const sent = worker.posted[0].message;
    assert.equal(sent.type, 'load');
    assert.equal(sent.options.dtype, 'fp32');
    assert.equal(typeof sent.options.baseUrl, 'string');
    assert.equal('onProgress' in sent.options, false);
    assert.equal(asr.device, 'wasm');
    assert.equal(asr.dtype, 'fp32');
  });

  it('routes token and stage events, resolves URLs against the page, and returns the result', async () => {
    const tokens = [];
    const stages = [];
    const { worker, asr } = client((request, reply) => {
      if (loads(request, reply)) return;
      reply({ id: request.id, type: 'stage', event: { stage: 'decode' } });
      reply({ id: request.id, type: 'token', event: { id: 7, count: 1, textDelta: 'Hi', text: 'Hi', tokensPerSecond: 0 } });
      reply({ id: request.id, type: 'done', value: { text: 'Hi', generatedIds: [7] } });
    });
    await asr.load();
    const result = await asr.transcribe('audio/hello.wav', { maxNewTokens: 5, onToken: (e) => tokens.push(e.text), onStage: (s) => stages.push(s.stage) });
    assert.deepEqual(result, { text: 'Hi', generatedIds: [7] });
    assert.deepEqual(tokens, ['Hi']);
    assert.deepEqual(stages, ['decode']);
    const sent = worker.posted.at(-1).message;
    assert.match(sent.source, /^[a-z]+:\/\/.*\/audio\/hello\.wav$/);
    assert.deepEqual(Object.keys(sent.options), ['maxNewTokens']);
  });

  it('sends an abort for the transcription when the signal fires', async () => {
    let transcribeId = 0;
    const { worker, asr } = client((request, reply) => {
      if (loads(request, reply)) return;
      if (request.type === 'transcribe') transcribeId = request.id;
      if (request.type === 'abort') {
        assert.equal(request.target, transcribeId);
        reply({ id: transcribeId, type: 'done', value: { stopReason: 'aborted' } });
      }
    });
    await asr.load();
    const abort = new AbortController();
    const running = asr.transcribe(new Float32Array(3200), { signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    abort.abort();
    assert.deepEqual(await running, { stopReason: 'aborted' });
    assert.ok(worker.posted.some(({ message }) => message.type === 'abort'));
  });

  it('stops a Worker still in one run CANCEL_GRACE_MS after the abort, keeping what it wrote', async () => {
    const text = '[{"Start":0,"End":1,"Speaker":0,"Content":"Hello."},{"Start":1,"End":2,"Speaker":0,"Content":"Wor';
    const { worker, asr } = client((request, reply) => {
      if (loads(request, reply)) return;
      if (request.type === 'transcribe') {
        reply({ id: request.id, type: 'token', event: { id: 5, count: 1, textDelta: '[', text: '[', tokensPerSecond: 0 } });
        reply({ id: request.id, type: 'token', event: { id: 9, count: 2, textDelta: text.slice(1), text, tokensPerSecond: 1 } });
      } // and never answers, not even the abort: one long GPU run
    });
    await asr.load();
    const abort = new AbortController();
    const running = asr.transcribe(new Float32Array(3200), { signal: abort.signal });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const abortedAt = performance.now();
    abort.abort();
    await assert.rejects(running, (error) => {
      const waited = performance.now() - abortedAt;
      assert.ok(error instanceof lib.TranscriptionAborted && error.code === 'aborted', String(error));
      assert.ok(waited >= lib.CANCEL_GRACE_MS - 5 && waited < lib.CANCEL_GRACE_MS + 500, `stopped after ${waited} ms`);
      assert.deepEqual(error.partial, { text, segments: [{ start: 0, end: 1, speaker: 0, text: 'Hello.' }], generatedIds: [5, 9] });
      return true;
    });
    assert.equal(worker.terminated, true);
    assert.equal(asr.loaded, false); // the model went with the Worker: load() again
  });

  it('checks audio in the Worker, and on this thread where the Worker cannot decode it', async () => {
    const wav = new Uint8Array(readRepoFile('testdata/audio/hello.wav'));
    const check = { durationS: 1.3, numSamples: 31200, numAudioTokens: 10, sourceSampleRate: 22050, channels: 1, decode: { decoder: 'samples' } };
    const { worker, asr } = client((request, reply) => {
      if (request.type !== 'checkAudio') return;
      if (request.source instanceof Uint8Array) reply({ id: request.id, type: 'error', error: { name: 'VibeVoiceError', message: 'no decoder here', code: 'unsupported-audio', mainThreadDecode: true } });
      else reply({ id: request.id, type: 'done', value: check });
    });
    const got = await asr.checkAudio(wav);
    assert.equal(got.decode.decoder, 'wav-parser');
    assert.equal(got.durationS, 1.3);
    assert.deepEqual(worker.posted.map(({ message }) => message.type), ['checkAudio', 'checkAudio']);
    assert.equal(worker.posted[1].message.source.sampleRate, lib.decodeWav(wav).sampleRate);
  });

  it("rebuilds the Worker's errors as VibeVoiceErrors with their code", async () => {
    const { asr } = client((request, reply) => {
      reply({ id: request.id, type: 'error', error: { name: 'VibeVoiceError', message: 'A model file could not be downloaded.', code: 'download-failed', mainThreadDecode: false } });
    });
    await assert.rejects(asr.load('models/'), (error) => error instanceof lib.VibeVoiceError && error.code === 'download-failed' && /could not be downloaded/.test(error.message));
  });

  it('stops the Worker when loading is aborted, and asks for load() before transcribe()', async () => {
    const { worker, asr } = client(() => undefined); // never answers
    const abort = new AbortController();
    const loading = asr.load('models/', { signal: abort.signal });
    abort.abort();
    await assert.rejects(loading, (error) => error.code === 'aborted');
    assert.equal(worker.terminated, true);
    await assert.rejects(asr.transcribe(new Float32Array(10)), (error) => error.code === 'bad-input');
  });

  it('decodes on this thread and sends the samples when the Worker has no decoder for the file', async () => {
    const wav = new Uint8Array(readRepoFile('testdata/audio/hello.wav'));
    const { worker, asr } = client((request, reply) => {
      if (loads(request, reply)) return;
      if (request.source instanceof Uint8Array) {
        reply({ id: request.id, type: 'error', error: { name: 'VibeVoiceError', message: 'no decoder here', code: 'unsupported-audio', mainThreadDecode: true } });
      } else {
        reply({ id: request.id, type: 'done', value: { audio: { numSamples: request.source.samples[0].length, decode: { decoder: 'samples' } } } });
      }
    });
    await asr.load();
    const result = await asr.transcribe(wav);
    const resent = worker.posted.at(-1);
    const decoded = lib.decodeWav(wav);
    assert.equal(resent.message.source.sampleRate, decoded.sampleRate);
    assert.deepEqual(resent.message.source.samples[0], decoded.channels[0]);
    assert.deepEqual(resent.transfer, resent.message.source.samples.map((c) => c.buffer));
    assert.equal(result.audio.numSamples, decoded.channels[0].length);
    assert.equal(result.audio.decode.decoder, 'wav-parser');
  });

  it('without WebAudio or WebCodecs, a WebM recording asks for the main thread (no wasm decoder reads WebM)', async () => {
    // The start of a MediaRecorder file: the EBML magic, then the Opus codec id the sniffer looks for.
    const webm = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, ...new TextEncoder().encode('webm A_OPUS')]);
    await assert.rejects(
      lib.decodeAudioBytes(webm),
      (error) => error instanceof lib.MainThreadDecodeNeeded && error.mainThreadDecode && error.code === 'unsupported-audio' && /WebM and MP4/.test(error.message),
    );
  });
});
