// Decoding where neither WebAudio nor WebCodecs can (a Worker without AudioDecoder, Node), and FLAC
// in any Worker: the wasm-audio-decoders family, which compiles libmpg123, libFLAC, libopus and
// libvorbis to WebAssembly and inlines the wasm in its JavaScript, so nothing is fetched from beside the page.
// Each package is imported only when a file needs it (ogg-opus-decoder's optional speech
// enhancement model, 4 MB, is never imported: we do not ask for it).
// WebM and MP4 (what MediaRecorder writes) have no decoder in this family: they stay with WebCodecs
// or the main thread.
import type { AudioContainer } from './sniff';
import type { DecodedAudio } from './types';

/** What every decoder of the family returns for a whole file. */
interface FamilyDecoded {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
  errors: { message: string; frameNumber: number }[];
}

interface FileDecoder {
  ready: Promise<void>;
  decodeWhole(bytes: Uint8Array): FamilyDecoded | Promise<FamilyDecoded>;
  free(): void;
}

/**
 * libFLAC gets 16 zero bytes after the file. codec-parser (which splits the file into frames for it)
 * merges a final frame shorter than its look-ahead into the one before, and only the first of the
 * two decodes: numbers.flac's last frame (624 samples in 13 bytes) went missing. With the padding
 * it is found, and the zeros after it are ignored; the result is sample-exact with libsndfile.
 * Mediabunny 1.61 (the WebCodecs path) drops the same frame: its FLAC demuxer asks for 16 bytes at
 * each frame start (measured in Chromium 156: 53,248 frames, 53,872 with the padding, as libsndfile
 * and WebAudio), so FLAC comes here even where an AudioDecoder exists.
 */
const FLAC_PADDING = 16;

/**
 * The wasm libFLAC build scales its integers by 1 / (2^(bits-1) - 1) (measured on 16-bit FLAC);
 * libsndfile, browsers and our WAV parser use 1 / 2^(bits-1). Back to the integers, then the
 * common scale: sample-exact again.
 */
function rescaleFlac(decoded: FamilyDecoded & { bitDepth: number }): FamilyDecoded {
  const full = 2 ** (decoded.bitDepth - 1);
  for (const channel of decoded.channelData) {
    for (let i = 0; i < channel.length; i++) channel[i] = Math.round(channel[i] * (full - 1)) / full;
  }
  return decoded;
}

function padded(bytes: Uint8Array, padding: number): Uint8Array {
  const out = new Uint8Array(bytes.length + padding);
  out.set(bytes);
  return out;
}

/** mpg123-decoder always returns two channels; a mono MP3's are the same samples, and one is kept. */
function monoIfSame(decoded: FamilyDecoded): FamilyDecoded {
  const [left, right] = decoded.channelData;
  if (right && right.every((value, i) => value === left[i])) decoded.channelData = [left];
  return decoded;
}

/** Per container: the package that decodes it, loaded on first use. */
const DECODERS = {
  mp3: async (): Promise<FileDecoder> => {
    const decoder = new (await import('mpg123-decoder')).MPEGDecoder();
    return { ready: decoder.ready, decodeWhole: (bytes) => monoIfSame(decoder.decode(bytes)), free: () => decoder.free() };
  },
  flac: async (): Promise<FileDecoder> => {
    const decoder = new (await import('@wasm-audio-decoders/flac')).FLACDecoder();
    return { ready: decoder.ready, decodeWhole: async (bytes) => rescaleFlac(await decoder.decodeFile(padded(bytes, FLAC_PADDING))), free: () => decoder.free() };
  },
  'ogg-opus': async (): Promise<FileDecoder> => {
    const decoder = new (await import('ogg-opus-decoder')).OggOpusDecoder();
    return { ready: decoder.ready, decodeWhole: (bytes) => decoder.decodeFile(bytes), free: () => decoder.free() };
  },
  'ogg-vorbis': async (): Promise<FileDecoder> => {
    const decoder = new (await import('@wasm-audio-decoders/ogg-vorbis')).OggVorbisDecoder();
    return { ready: decoder.ready, decodeWhole: (bytes) => decoder.decodeFile(bytes), free: () => decoder.free() };
  },
} satisfies Partial<Record<AudioContainer, () => Promise<FileDecoder>>>;

export type WasmContainer = keyof typeof DECODERS;

export function hasWasmDecoder(container: AudioContainer): container is WasmContainer {
  return Object.hasOwn(DECODERS, container);
}

/** Why a file did not decode: the message for the caller's unsupported-audio error. */
export class WasmDecodeError extends Error {}

/** Every channel of the file at its own rate. */
export async function decodeWithWasm(bytes: Uint8Array, container: WasmContainer): Promise<DecodedAudio> {
  const decoder = await DECODERS[container]();
  try {
    await decoder.ready;
    const decoded = await decoder.decodeWhole(bytes);
    if (decoded.errors.length > 0) {
      const [first] = decoded.errors;
      throw new WasmDecodeError(`${decoded.errors.length} damaged frame(s), the first at frame ${first.frameNumber}: ${first.message}`);
    }
    if (decoded.samplesDecoded === 0) throw new WasmDecodeError('no audio frames could be decoded from it');
    return { channels: decoded.channelData, sampleRate: decoded.sampleRate };
  } finally {
    decoder.free();
  }
}
