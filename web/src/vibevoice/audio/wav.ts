// A RIFF/WAVE reader for PCM (8, 16, 24, 32 bit) and IEEE float (32, 64 bit) files, so WAV input
// decodes identically in Node and every browser (libsndfile's scaling: integer / 2^(bits-1)).
// Hand-written: wavefile and wav-decoder decode the same samples but read a cut file short without
// a word (half of hello.wav gives 13879 frames), where this reader, like the Python loader, says so.
import { VibeVoiceError } from '../errors';
import type { DecodedAudio } from './types';

const PCM = 1;
const IEEE_FLOAT = 3;
const EXTENSIBLE = 0xfffe;

function fourCC(view: DataView, offset: number): string {
  return String.fromCharCode(view.getUint8(offset), view.getUint8(offset + 1), view.getUint8(offset + 2), view.getUint8(offset + 3));
}

/** Whether the bytes start like a RIFF/WAVE file. */
export function isWav(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return fourCC(view, 0) === 'RIFF' && fourCC(view, 8) === 'WAVE';
}

function damaged(found: string): VibeVoiceError {
  return new VibeVoiceError(
    'unsupported-audio',
    `Expected a complete WAV file, but ${found}. Record or copy the file again, or convert it ` +
      '(e.g. `ffmpeg -i INPUT -ac 1 -ar 24000 OUTPUT.wav`).',
  );
}

interface Format {
  format: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

function readFormat(view: DataView, offset: number, size: number): Format {
  if (size < 16) throw damaged(`its fmt chunk is ${size} bytes long (at least 16 expected)`);
  let format = view.getUint16(offset, true);
  const channels = view.getUint16(offset + 2, true);
  const sampleRate = view.getUint32(offset + 4, true);
  const blockAlign = view.getUint16(offset + 12, true);
  const bits = view.getUint16(offset + 14, true);
  if (format === EXTENSIBLE && size >= 40) format = view.getUint16(offset + 24, true); // the sub-format GUID starts with the format tag
  return { format, channels, sampleRate, blockAlign, bits };
}

function sampleReader(view: DataView, fmt: Format): (offset: number) => number {
  const { format, bits } = fmt;
  if (format === PCM) {
    if (bits === 8) return (o) => (view.getUint8(o) - 128) / 128;
    if (bits === 16) return (o) => view.getInt16(o, true) / 32768;
    if (bits === 24) {
      return (o) => {
        const v = view.getUint8(o) | (view.getUint8(o + 1) << 8) | (view.getInt8(o + 2) << 16);
        return v / 8388608;
      };
    }
    if (bits === 32) return (o) => view.getInt32(o, true) / 2147483648;
  } else if (format === IEEE_FLOAT) {
    if (bits === 32) return (o) => view.getFloat32(o, true);
    if (bits === 64) return (o) => view.getFloat64(o, true);
  }
  const kind = format === PCM ? 'PCM' : format === IEEE_FLOAT ? 'float' : `format tag 0x${format.toString(16)}`;
  throw new VibeVoiceError(
    'unsupported-audio',
    `Expected PCM (8/16/24/32-bit) or float (32/64-bit) WAV samples, found ${kind} with ${bits} bits per sample. ` +
      'Convert the file, e.g. `ffmpeg -i INPUT -ac 1 -ar 24000 OUTPUT.wav`.',
  );
}

/** Decodes a RIFF/WAVE file into float channels (PCM scaled by 2^-(bits-1), as libsndfile does). */
export function decodeWav(bytes: Uint8Array): DecodedAudio {
  if (!isWav(bytes)) throw new VibeVoiceError('unsupported-audio', 'Expected a RIFF/WAVE file (it should start with "RIFF....WAVE").');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Format | null = null;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = fourCC(view, pos);
    const size = view.getUint32(pos + 4, true);
    const body = pos + 8;
    if (id === 'fmt ') {
      if (body + 16 > bytes.length) throw damaged('it ends inside its fmt chunk');
      fmt = readFormat(view, body, Math.min(size, bytes.length - body));
    } else if (id === 'data') {
      if (!fmt) throw damaged('its data chunk comes before the fmt chunk');
      return readData(view, fmt, body, size, bytes.length);
    }
    pos = body + size + (size & 1);
  }
  throw damaged(fmt ? 'it has no data chunk' : 'it has no fmt chunk');
}

function readData(view: DataView, fmt: Format, body: number, size: number, fileSize: number): DecodedAudio {
  const { channels, sampleRate } = fmt;
  if (channels < 1) throw damaged(`its header declares ${channels} channels`);
  if (sampleRate < 1) throw damaged(`its header declares a sample rate of ${sampleRate} Hz`);
  const bytesPerSample = fmt.bits / 8;
  const blockAlign = fmt.blockAlign || channels * bytesPerSample;
  if (!Number.isInteger(bytesPerSample) || blockAlign < channels * bytesPerSample) {
    throw damaged(`its header declares ${fmt.bits} bits per sample with a block size of ${fmt.blockAlign} bytes`);
  }
  const available = fileSize - body;
  let dataBytes = size;
  if (size === 0 || size === 0xffffffff) {
    dataBytes = available; // written to a pipe: the size was never filled in
  } else if (size > available) {
    const declared = Math.floor(size / blockAlign) / sampleRate;
    const found = Math.floor(available / blockAlign) / sampleRate;
    throw damaged(`its header declares ${declared.toFixed(2)} s of audio but the file holds only ${found.toFixed(2)} s`);
  }
  const frames = Math.floor(dataBytes / blockAlign);
  const read = sampleReader(view, fmt);
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  for (let f = 0; f < frames; f++) {
    const base = body + f * blockAlign;
    for (let c = 0; c < channels; c++) out[c][f] = read(base + c * bytesPerSample);
  }
  return { channels: out, sampleRate };
}
