// Turns what a page has (a File, bytes, a URL, samples) into float channels at a known rate, each
// file by the first of these that can decode it:
// 1. WAV: our own parser (identical everywhere).
// 2. WebAudio, where it exists (a page's main thread), at the rate the file itself declares so the
//    browser does not resample (our resampler does that).
// 3. WebCodecs' AudioDecoder in a Worker, which has no WebAudio (audio/webcodecs.ts, handed in by
//    VibeVoiceASR so that the main-thread client, which imports this module, does not carry the
//    demuxers), at the file's own rate.
// 4. The wasm decoders (audio/wasm_decoders.ts: MP3, FLAC, Ogg Opus, Ogg Vorbis), where there is no
//    AudioDecoder or it cannot decode the codec; FLAC always, as they decode it exactly.
// 5. Otherwise (WebM or MP4 with no AudioDecoder for them) a MainThreadDecodeNeeded error: the
//    worker client decodes on the main thread (WebAudio) and sends the samples.
import { VibeVoiceError } from '../errors';
import { sniffAudio, type AudioContainer } from './sniff';
import type { DecodedAudio } from './types';
import { decodeWav } from './wav';
import { decodeWithWasm, hasWasmDecoder } from './wasm_decoders';

/** A clip already decoded: mono samples or one array per channel, at `sampleRate` Hz. */
export interface RawAudioInput {
  samples: Float32Array | Float32Array[];
  sampleRate: number;
}

/**
 * What `transcribe` accepts: an encoded file (Blob/File, ArrayBuffer, bytes, or a same-origin URL),
 * decoded samples with their rate, or a bare Float32Array of mono samples already at 24 kHz.
 */
export type AudioSource = Blob | ArrayBuffer | Uint8Array | string | URL | Float32Array | RawAudioInput | DecodedAudio;

export interface DecodeInfo {
  container: AudioContainer;
  /** 'wav-parser' (our own), 'webaudio', 'webcodecs' (Mediabunny + AudioDecoder), 'wasm' (audio/wasm_decoders.ts), or 'samples' (decoded already). */
  decoder: 'wav-parser' | 'webaudio' | 'webcodecs' | 'wasm' | 'samples';
  /** True when WebAudio had to decode at a rate other than the file's own (the file's rate was unknown). */
  browserResampled: boolean;
}

/** Decodes a whole encoded file at its own rate (audio/webcodecs.ts' decodeWithWebCodecs). */
export type BytesDecoder = (bytes: Uint8Array) => Promise<DecodedAudio>;

function hasAudioDecoder(): boolean {
  return typeof (globalThis as { AudioDecoder?: unknown }).AudioDecoder === 'function';
}

/** The rate WebAudio decodes at when a file's own rate is unknown; our resampler takes it from there. */
export const FALLBACK_DECODE_RATE = 48000;

function unsupported(container: AudioContainer, detail: string, cause?: unknown): VibeVoiceError {
  return new VibeVoiceError(
    'unsupported-audio',
    `This file could not be decoded as audio (${container === 'unknown' ? 'unrecognised format' : container}: ${detail}). ` +
      'Use WAV, FLAC, MP3, Ogg (Vorbis/Opus) or WebM/Opus, or convert it with e.g. `ffmpeg -i INPUT -ac 1 -ar 24000 OUTPUT.wav`.',
    cause,
  );
}

/**
 * No decoder here (no WebAudio, no AudioDecoder) for a file that is not a WAV our parser reads: the
 * worker client catches it and decodes on the main thread instead.
 */
export class MainThreadDecodeNeeded extends VibeVoiceError {
  readonly mainThreadDecode = true;
}

/** The part of WebAudio read here (typed locally: the library compiles against the Worker's lib, which has none). */
interface AudioBufferLike {
  length: number;
  numberOfChannels: number;
  sampleRate: number;
  getChannelData(channel: number): Float32Array;
}
type OfflineContextClass = new (channels: number, length: number, rate: number) => { decodeAudioData(data: ArrayBuffer): Promise<AudioBufferLike> };

function offlineAudioContext(): OfflineContextClass | undefined {
  return (globalThis as { OfflineAudioContext?: OfflineContextClass }).OfflineAudioContext;
}

async function decodeWithWebAudio(bytes: Uint8Array, container: AudioContainer, rate: number | null): Promise<[DecodedAudio, boolean]> {
  const Offline = offlineAudioContext();
  if (!Offline) throw unsupported(container, 'this environment has no WebAudio; pass a WAV file or decoded samples');
  const decodeRate = rate && rate >= 3000 && rate <= 768000 ? rate : FALLBACK_DECODE_RATE;
  let buffer: AudioBufferLike;
  try {
    const context = new Offline(1, 1, decodeRate);
    buffer = await context.decodeAudioData(bytes.slice().buffer);
  } catch (error) {
    throw unsupported(container, (error as Error)?.message || String(error), error);
  }
  if (buffer.length === 0) throw unsupported(container, 'it holds no audio frames');
  const channels = Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c).slice());
  return [{ channels, sampleRate: buffer.sampleRate }, rate === null];
}

/** Decodes an encoded audio file; `webcodecs` is used where there is no WebAudio but an AudioDecoder (a Worker). */
export async function decodeAudioBytes(bytes: Uint8Array, webcodecs?: BytesDecoder): Promise<{ audio: DecodedAudio; info: DecodeInfo }> {
  if (bytes.length === 0) {
    throw new VibeVoiceError('unsupported-audio', 'The audio file is empty (0 bytes): the recording or download probably failed.');
  }
  const { container, sampleRate } = sniffAudio(bytes.subarray(0, 65536));
  if (container === 'wav') {
    try {
      return { audio: decodeWav(bytes), info: { container, decoder: 'wav-parser', browserResampled: false } };
    } catch (error) {
      // An encoding our parser does not read (ADPCM, A-law...) may still decode in the browser.
      if (!offlineAudioContext() && !(webcodecs && hasAudioDecoder())) throw error;
    }
  }
  if (offlineAudioContext()) {
    const [audio, browserResampled] = await decodeWithWebAudio(bytes, container, sampleRate);
    return { audio, info: { container, decoder: 'webaudio', browserResampled } };
  }
  const wasm = hasWasmDecoder(container);
  // FLAC skips WebCodecs: Mediabunny drops a final frame under 16 bytes, the wasm decoder does not.
  if (webcodecs && hasAudioDecoder() && container !== 'flac') {
    try {
      return { audio: await webcodecs(bytes), info: { container, decoder: 'webcodecs', browserResampled: false } };
    } catch (error) {
      // Most often this AudioDecoder lacks the codec (Vorbis, say): the wasm decoder may have it.
      if (!wasm) throw unsupported(container, (error as Error)?.message || String(error), error);
    }
  }
  if (wasm) {
    try {
      return { audio: await decodeWithWasm(bytes, container), info: { container, decoder: 'wasm', browserResampled: false } };
    } catch (error) {
      throw unsupported(container, (error as Error)?.message || String(error), error);
    }
  }
  throw new MainThreadDecodeNeeded(
    'unsupported-audio',
    `This ${container === 'unknown' ? 'file' : container} file needs WebAudio or WebCodecs to decode, and this environment has neither ` +
      '(the built-in wasm decoders read only MP3, FLAC, Ogg Opus and Ogg Vorbis; WebM and MP4, as MediaRecorder writes them, are not among them): ' +
      'decode it on the main thread (the worker client does) or pass a WAV file or decoded samples.',
  );
}

function isRaw(source: unknown): source is RawAudioInput {
  return typeof source === 'object' && source !== null && 'samples' in source && 'sampleRate' in source;
}

function isDecoded(source: unknown): source is DecodedAudio {
  return typeof source === 'object' && source !== null && 'channels' in source && 'sampleRate' in source;
}

/** Any AudioSource -> channels and rate (fetching same-origin URLs, decoding files; `webcodecs` as in decodeAudioBytes). */
export async function loadAudio(source: AudioSource, modelRate: number, webcodecs?: BytesDecoder): Promise<{ audio: DecodedAudio; info: DecodeInfo }> {
  const samples: DecodeInfo = { container: 'unknown', decoder: 'samples', browserResampled: false };
  if (source instanceof Float32Array) return { audio: { channels: [source], sampleRate: modelRate }, info: samples };
  if (isRaw(source)) {
    const channels = Array.isArray(source.samples) ? source.samples : [source.samples];
    return { audio: { channels, sampleRate: source.sampleRate }, info: samples };
  }
  if (isDecoded(source)) return { audio: source, info: samples };
  let bytes: Uint8Array;
  if (typeof source === 'string' || source instanceof URL) {
    let response: Response;
    try {
      response = await fetch(source);
    } catch (error) {
      throw new VibeVoiceError('unsupported-audio', `Could not fetch the audio at ${source} (${(error as Error).message}).`, error);
    }
    if (!response.ok) throw new VibeVoiceError('unsupported-audio', `Could not fetch the audio at ${source}: HTTP ${response.status}.`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } else if (source instanceof Uint8Array) {
    bytes = source;
  } else if (source instanceof ArrayBuffer) {
    bytes = new Uint8Array(source);
  } else if (typeof Blob !== 'undefined' && source instanceof Blob) {
    bytes = new Uint8Array(await source.arrayBuffer());
  } else {
    throw new VibeVoiceError(
      'bad-input',
      'Expected audio as a File/Blob, ArrayBuffer, Uint8Array, URL, Float32Array (24 kHz mono) or {samples, sampleRate}.',
    );
  }
  return decodeAudioBytes(bytes, webcodecs);
}
