// The audio front end against the Python reference (transformers' feature extractor after
// vibevoice_asr_web.audio's decoding and scipy resampling): fixtures from make_fixtures.py.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f32, fixture, lib, maxAbsDiff, readRepoFile, sawtooth, strided } from './helpers.mjs';

const expected = fixture('audio.json');
const TOLERANCE = 1e-6;

describe('test clips: decode, resample, normalise, pad', () => {
  for (const [name, clip] of Object.entries(expected.clips)) {
    it(name, () => {
      const decoded = lib.decodeWav(new Uint8Array(readRepoFile(clip.file)));
      assert.equal(decoded.sampleRate, clip.source_rate);
      const resampled = lib.resample(lib.toMono(decoded.channels), decoded.sampleRate, 24000);
      assert.equal(resampled.length, clip.num_samples);
      const prepared = lib.prepareAudio(decoded);
      assert.equal(prepared.numSamples, clip.num_samples);
      assert.equal(prepared.numAudioTokens, clip.num_audio_tokens);
      assert.equal(prepared.durationS, clip.duration);
      assert.equal(prepared.samples.length, clip.padded_length);
      assert.ok(prepared.samples.subarray(clip.num_samples).every((v) => v === 0), 'padding is zeros');
      let resampleDiff;
      let normalizedDiff;
      if (clip.normalized) {
        resampleDiff = maxAbsDiff(resampled, f32(clip.resampled));
        normalizedDiff = maxAbsDiff(prepared.samples, f32(clip.normalized));
      } else {
        resampleDiff = maxAbsDiff(strided(resampled, clip.stride), f32(clip.resampled_strided));
        normalizedDiff = maxAbsDiff(strided(prepared.samples, clip.stride), f32(clip.normalized_strided));
      }
      console.log(`${name}: max |resampled - scipy| = ${resampleDiff.toExponential(2)}, max |normalised - HF| = ${normalizedDiff.toExponential(2)}`);
      assert.ok(resampleDiff <= TOLERANCE, `resampling differs from scipy by ${resampleDiff}`);
      assert.ok(normalizedDiff <= TOLERANCE, `normalised samples differ from the HF feature extractor by ${normalizedDiff}`);
      let sum = 0;
      let sumSquares = 0;
      let maxAbs = 0;
      for (const v of prepared.samples) {
        sum += v;
        sumSquares += v * v;
        maxAbs = Math.max(maxAbs, Math.abs(v));
      }
      assert.ok(Math.abs(sum - clip.sum) <= 1e-6 * clip.padded_length, `sum ${sum} vs ${clip.sum}`);
      assert.ok(Math.abs(sumSquares - clip.sum_squares) <= 1e-5 * clip.sum_squares, `sum of squares ${sumSquares} vs ${clip.sum_squares}`);
      assert.ok(Math.abs(maxAbs - clip.max_abs) <= TOLERANCE);
    });
  }
});

describe('resample_poly', () => {
  for (const [rate, b64] of Object.entries(expected.resampling.outputs)) {
    it(`${rate} Hz -> 24000 Hz equals scipy.signal.resample_poly`, () => {
      const want = f32(b64);
      const got = lib.resample(sawtooth(Number(rate) / 10), Number(rate), 24000);
      assert.equal(got.length, want.length);
      const diff = maxAbsDiff(got, want);
      assert.ok(diff <= TOLERANCE, `max diff ${diff}`);
    });
  }

  it('returns ceil(n * up / down) samples and copies when the rates match', () => {
    assert.equal(lib.outputLength(30001, 160, 147), Math.ceil((30001 * 160) / 147));
    const x = sawtooth(100);
    const same = lib.resample(x, 24000, 24000);
    assert.notEqual(same, x);
    assert.deepEqual(same, x);
    assert.equal(lib.resamplePoly(sawtooth(10), 2, 1).length, 20);
  });

  it('designs the Kaiser FIR like scipy (unit DC gain, symmetric)', () => {
    const h = lib.firwinLowpass(41, 0.5, 5.0);
    assert.ok(Math.abs(h.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    for (let i = 0; i < 20; i++) assert.ok(Math.abs(h[i] - h[40 - i]) < 1e-15);
    assert.ok(Math.abs(lib.besselI0(5) - 27.239871823604442) < 1e-12); // scipy.special.i0(5)
  });
});

describe('normalisation', () => {
  it('divides by the peak when -25 dBFS would clip (float32, as torch)', () => {
    const x = sawtooth(4800, 200000);
    x[1234] = 0.9;
    const got = lib.normalizeLoudness(x, -25, 1e-6);
    const want = f32(expected.peak_guard.expected); // the HF extractor also pads to 3200
    assert.ok(maxAbsDiff(got, want.subarray(0, got.length)) <= TOLERANCE);
    assert.ok(Math.max(...got.map(Math.abs)) <= 1);
  });

  it('raises quiet audio to -25 dBFS', () => {
    const x = sawtooth(7000).map((v) => Math.fround(v * Math.fround(0.001)));
    const got = lib.normalizeLoudness(x);
    assert.ok(maxAbsDiff(got, f32(expected.quiet.expected).subarray(0, got.length)) <= TOLERANCE);
  });

  it('averages channels in float64 and rounds to float32', () => {
    const mono = lib.toMono([Float32Array.of(1, 0.1, -1), Float32Array.of(0, 0.2, 1)]);
    assert.deepEqual(Array.from(mono), [0.5, Math.fround(Math.fround(0.1) / 2 + Math.fround(0.2) / 2), 0]);
  });

  it('pads to a multiple of the hop', () => {
    assert.equal(lib.padToMultiple(new Float32Array(3201), 3200).length, 6400);
    assert.equal(lib.padToMultiple(new Float32Array(3200), 3200).length, 3200);
    assert.equal(lib.numAudioTokens(1, 3200), 1);
  });
});

describe('input checks', () => {
  it('rejects silence, empty audio, NaN and impossible rates with VibeVoiceError codes', () => {
    const code = (fn) => {
      try {
        fn();
      } catch (error) {
        return error.code;
      }
      return 'no error';
    };
    assert.equal(code(() => lib.prepareAudio({ channels: [new Float32Array(24000)], sampleRate: 24000 })), 'silent-audio');
    assert.equal(code(() => lib.prepareAudio({ channels: [new Float32Array(0)], sampleRate: 24000 })), 'unsupported-audio');
    assert.equal(code(() => lib.prepareAudio({ channels: [Float32Array.of(0.1, NaN)], sampleRate: 24000 })), 'bad-input');
    assert.equal(code(() => lib.prepareAudio({ channels: [sawtooth(100)], sampleRate: 16 })), 'bad-input');
  });
});

function wavBytes({ format = 1, bits = 16, channels = 1, rate = 16000, samples, truncate = 0 }) {
  const bytesPerSample = bits / 8;
  const data = Buffer.alloc(samples.length * bytesPerSample);
  samples.forEach((v, i) => {
    const o = i * bytesPerSample;
    if (format === 3 && bits === 32) data.writeFloatLE(v, o);
    else if (format === 3) data.writeDoubleLE(v, o);
    else if (bits === 8) data.writeUInt8(v + 128, o);
    else if (bits === 16) data.writeInt16LE(v, o);
    else if (bits === 24) data.writeIntLE(v, o, 3);
    else data.writeInt32LE(v, o);
  });
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(format, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * channels * bytesPerSample, 28);
  header.writeUInt16LE(channels * bytesPerSample, 32);
  header.writeUInt16LE(bits, 34);
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  const all = Buffer.concat([header, data]);
  return new Uint8Array(all.subarray(0, all.length - truncate));
}

describe('WAV reader', () => {
  it('scales PCM like libsndfile and splits channels', () => {
    const pcm16 = lib.decodeWav(wavBytes({ channels: 2, samples: [-32768, 16384, 32767, 0] }));
    assert.equal(pcm16.sampleRate, 16000);
    assert.deepEqual(Array.from(pcm16.channels[0]), [-1, Math.fround(32767 / 32768)]);
    assert.deepEqual(Array.from(pcm16.channels[1]), [0.5, 0]);
    const pcm24 = lib.decodeWav(wavBytes({ bits: 24, samples: [-8388608, 4194304] }));
    assert.deepEqual(Array.from(pcm24.channels[0]), [-1, 0.5]);
    const pcm8 = lib.decodeWav(wavBytes({ bits: 8, samples: [-128, 64] }));
    assert.deepEqual(Array.from(pcm8.channels[0]), [-1, 0.5]);
    const float = lib.decodeWav(wavBytes({ format: 3, bits: 32, samples: [0.25, -0.75] }));
    assert.deepEqual(Array.from(float.channels[0]), [0.25, -0.75]);
    const double = lib.decodeWav(wavBytes({ format: 3, bits: 64, samples: [0.1] }));
    assert.equal(double.channels[0][0], Math.fround(0.1));
  });

  it('reports truncated files and other formats as unsupported audio', () => {
    assert.throws(() => lib.decodeWav(wavBytes({ samples: new Array(1000).fill(1), truncate: 500 })), { code: 'unsupported-audio', message: /truncated|declares/ });
    assert.throws(() => lib.decodeWav(new Uint8Array(readRepoFile('testdata/audio/numbers.flac'))), { code: 'unsupported-audio' });
    assert.throws(() => lib.decodeWav(wavBytes({ format: 2, samples: [1] })), { code: 'unsupported-audio', message: /format tag/ });
  });

  it('recognises containers and their decode rates', () => {
    const sniff = (file) => lib.sniffAudio(new Uint8Array(readRepoFile(`testdata/audio/${file}`)));
    assert.deepEqual(sniff('hello.wav'), { container: 'wav', sampleRate: 22050 });
    assert.deepEqual(sniff('numbers.flac'), { container: 'flac', sampleRate: 16000 });
    assert.deepEqual(sniff('weather.ogg'), { container: 'ogg-vorbis', sampleRate: 44100 });
    assert.deepEqual(sniff('short.mp3'), { container: 'mp3', sampleRate: 24000 });
    assert.deepEqual(sniff('thanks.opus'), { container: 'ogg-opus', sampleRate: 48000 });
    assert.deepEqual(lib.sniffAudio(new TextEncoder().encode('hello, not audio')), { container: 'unknown', sampleRate: null });
  });
});
