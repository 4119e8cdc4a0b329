// From decoded audio (any rate, any channel count) to the waveform the encoders take.
import { ARTIFACT } from '../artifact';
import { VibeVoiceError } from '../errors';
import { normalizeLoudness, numAudioTokens, padToMultiple, rms64, toMono } from './normalize';
import { resample } from './resample';
import type { DecodedAudio } from './types';

export interface FrontEndSettings {
  /** The encoders' rate (24000). */
  sampleRate: number;
  /** Samples per audio token (3200); the waveform is padded to a multiple of it. */
  hop: number;
  normalize: boolean;
  targetDbfs: number;
  eps: number;
}

const { front_end: front } = ARTIFACT;
export const DEFAULT_FRONT_END: FrontEndSettings = {
  sampleRate: front.sampling_rate,
  hop: front.hop_length,
  normalize: true,
  targetDbfs: front.target_dB_FS,
  eps: front.eps,
};

export interface PreparedAudio {
  /** Normalised mono samples at `sampleRate`, zero-padded to a multiple of the hop. */
  samples: Float32Array;
  /** Samples before padding. */
  numSamples: number;
  /** ceil(numSamples / hop): how many audio placeholders the prompt holds. */
  numAudioTokens: number;
  /** numSamples / sampleRate, in seconds. */
  durationS: number;
  /** The rate of the input before resampling. */
  sourceSampleRate: number;
}

const MIN_RATE = 1000;
const MAX_RATE = 768000;

/** Mono (channels averaged), resampled, silence-checked, normalised and padded: what the encoders take. */
export function prepareAudio(audio: DecodedAudio, settings: FrontEndSettings = DEFAULT_FRONT_END): PreparedAudio {
  const { channels, sampleRate } = audio;
  if (!Number.isInteger(sampleRate) || sampleRate < MIN_RATE || sampleRate > MAX_RATE) {
    throw new VibeVoiceError(
      'bad-input',
      `Expected a whole sample rate between ${MIN_RATE} and ${MAX_RATE} Hz, found ${sampleRate}. Pass the rate the samples were recorded at.`,
    );
  }
  if (!channels.length || !channels[0].length) {
    throw new VibeVoiceError('unsupported-audio', 'Expected audio samples, found none (0 frames). Pass a recording that contains speech.');
  }
  for (const [c, channel] of channels.entries()) {
    if (channel.length !== channels[0].length) throw new VibeVoiceError('bad-input', `Channel ${c} has ${channel.length} samples, channel 0 has ${channels[0].length}.`);
    const bad = channel.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) {
      throw new VibeVoiceError('bad-input', `Expected finite samples, found NaN or infinity at sample ${bad} (${(bad / sampleRate).toFixed(3)} s) of channel ${c}.`);
    }
  }
  const mono = resample(toMono(channels), sampleRate, settings.sampleRate);
  const level = rms64(mono);
  if (level < settings.eps) {
    const what = mono.some((v) => v !== 0) ? `RMS level ${(20 * Math.log10(level)).toFixed(0)} dBFS` : 'all zeros';
    throw new VibeVoiceError(
      'silent-audio',
      `Expected speech, but the audio is silent (${what}, ${(mono.length / settings.sampleRate).toFixed(2)} s): there is nothing to ` +
        'transcribe. Check the recording (muted microphone, wrong input device or channel).',
    );
  }
  const normalized = settings.normalize ? normalizeLoudness(mono, settings.targetDbfs, settings.eps) : mono;
  return {
    samples: padToMultiple(normalized, settings.hop),
    numSamples: mono.length,
    numAudioTokens: numAudioTokens(mono.length, settings.hop),
    durationS: mono.length / settings.sampleRate,
    sourceSampleRate: sampleRate,
  };
}
