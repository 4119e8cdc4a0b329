// The wasm decoder tier (src/vibevoice/audio/wasm_decoders.ts): Node has neither WebAudio nor an
// AudioDecoder, so decodeAudioBytes decodes MP3, FLAC, Ogg Opus and Ogg Vorbis with it here.
// Compared with the Python front end's decoding of the same files (fixtures/decoders.json, written by
// make_decoder_fixtures.py; soundfile, i.e. libsndfile with libFLAC, libvorbis, libopus, mpg123).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { f32, fixture, lib, maxAbsDiff, readRepoFile, strided } from './helpers.mjs';

const { clips } = fixture('decoders.json');

// Per clip, the largest difference from Python's samples allowed. FLAC is lossless: every sample
// identical (checked by hash). The lossy codecs run the same reference libraries on both sides
// (mpg123, libopus, libvorbis), but compiled to wasm they round floating point differently from the
// native builds (measured: at most 3.2e-7 for MP3, 5.9e-7 for Opus, 3e-8 for Vorbis); 1e-5 is a
// third of a 16-bit step, so a decoder that dropped, shifted or rescaled anything would fail.
const TOLERANCE = { 'short.mp3': 1e-5, 'numbers.flac': 0, 'thanks.opus': 1e-5, 'weather.ogg': 1e-5 };

function sha256(samples) {
  return createHash('sha256').update(new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength)).digest('hex');
}

function sumSquares(samples) {
  let total = 0;
  for (const value of samples) total += value * value;
  return total;
}

describe('wasm decoders (no WebAudio, no WebCodecs)', () => {
  for (const [name, expected] of Object.entries(clips)) {
    it(`decodes ${name} as Python does`, async () => {
      const { audio, info } = await lib.decodeAudioBytes(new Uint8Array(readRepoFile(expected.file)));
      assert.equal(info.decoder, 'wasm');
      assert.equal(audio.sampleRate, expected.sample_rate);
      assert.equal(audio.channels.length, expected.channels);
      const mono = lib.toMono(audio.channels);
      assert.equal(mono.length, expected.num_frames, 'frame count');
      const tolerance = TOLERANCE[name];
      const diff = maxAbsDiff(strided(mono, expected.stride), f32(expected.mono_strided));
      assert.ok(diff <= tolerance, `max |JS - Python| over one sample in ${expected.stride}: ${diff} > ${tolerance}`);
      if (tolerance === 0) {
        assert.equal(sha256(mono), expected.mono_sha256, 'every sample identical');
      } else {
        const energy = sumSquares(mono);
        assert.ok(Math.abs(energy - expected.mono_sum_squares) <= 1e-5 * expected.mono_sum_squares, `energy ${energy} vs ${expected.mono_sum_squares}`);
      }
    });
  }

  it('refuses damaged files with a clear error', async () => {
    const damaged = (file, from, to) => {
      const bytes = new Uint8Array(readRepoFile(file));
      bytes.fill(0x55, from, to); // the headers survive, the frames in between do not
      return lib.decodeAudioBytes(bytes);
    };
    await assert.rejects(damaged(clips['numbers.flac'].file, 4000, 30000), (error) => error.code === 'unsupported-audio' && /\(flac: no audio frames could be decoded from it\)/.test(error.message));
    await assert.rejects(damaged(clips['short.mp3'].file, 3000, 8000), (error) => error.code === 'unsupported-audio' && /\(mp3: \d+ damaged frame\(s\), the first at frame \d+: /.test(error.message));
  });
});
