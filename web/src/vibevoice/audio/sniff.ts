// Recognises common audio containers from their first bytes and reads the rate they decode at, so
// WebAudio can decode at the file's own rate (no browser resampling) before our own resampler runs.
//
// Hand-written: file-type names the container but not the rate (the point here) and adds 68 KB
// minified; music-metadata reads the same rates from the test files but is async (sniffAudio is a
// synchronous export) and grows the build by 236 KB of JavaScript, 118 KB of it loaded up front.

export type AudioContainer = 'wav' | 'flac' | 'ogg-vorbis' | 'ogg-opus' | 'mp3' | 'webm' | 'mp4' | 'unknown';

export interface Sniffed {
  container: AudioContainer;
  /** The rate a decoder outputs for this file, when the header says so (Opus always decodes at 48 kHz). */
  sampleRate: number | null;
}

function ascii(bytes: Uint8Array, offset: number, length: number): string {
  let s = '';
  for (let i = offset; i < offset + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function skipId3(bytes: Uint8Array): number {
  if (ascii(bytes, 0, 3) !== 'ID3' || bytes.length < 10) return 0;
  const size = ((bytes[6] & 0x7f) << 21) | ((bytes[7] & 0x7f) << 14) | ((bytes[8] & 0x7f) << 7) | (bytes[9] & 0x7f);
  return 10 + size + (bytes[5] & 0x10 ? 10 : 0);
}

const MP3_RATES: Record<number, number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};

function mp3Rate(bytes: Uint8Array, start: number): number | null {
  for (let i = start; i + 4 <= bytes.length && i < start + 65536; i++) {
    if (bytes[i] !== 0xff || (bytes[i + 1] & 0xe0) !== 0xe0) continue;
    const version = (bytes[i + 1] >> 3) & 0x3;
    const layer = (bytes[i + 1] >> 1) & 0x3;
    const bitrate = bytes[i + 2] >> 4;
    const rateIndex = (bytes[i + 2] >> 2) & 0x3;
    if (version === 1 || layer === 0 || bitrate === 0xf || rateIndex === 3) continue;
    return MP3_RATES[version][rateIndex];
  }
  return null;
}

function wavRate(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 12;
  while (pos + 16 <= bytes.length) {
    const size = view.getUint32(pos + 4, true);
    if (ascii(bytes, pos, 4) === 'fmt ') return view.getUint32(pos + 12, true);
    pos += 8 + size + (size & 1);
  }
  return null;
}

/** The container and decode rate of an encoded audio file, from its first few kilobytes. */
export function sniffAudio(bytes: Uint8Array): Sniffed {
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 4) === 'WAVE') return { container: 'wav', sampleRate: wavRate(bytes) };
  const start = skipId3(bytes);
  if (ascii(bytes, start, 4) === 'fLaC' && bytes.length >= start + 21) {
    // STREAMINFO follows the 4-byte block header; its rate is the 20 bits after 10 bytes of sizes.
    const o = start + 18;
    return { container: 'flac', sampleRate: (bytes[o] << 12) | (bytes[o + 1] << 4) | (bytes[o + 2] >> 4) };
  }
  if (ascii(bytes, 0, 4) === 'OggS' && bytes.length > 27) {
    const packet = 27 + bytes[26];
    if (ascii(bytes, packet, 7) === '\x01vorbis' && bytes.length >= packet + 16) {
      const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return { container: 'ogg-vorbis', sampleRate: view.getUint32(packet + 12, true) };
    }
    if (ascii(bytes, packet, 8) === 'OpusHead') return { container: 'ogg-opus', sampleRate: 48000 };
    return { container: 'unknown', sampleRate: null };
  }
  if (bytes[0] === 0x1a && bytes[1] === 0x45 && bytes[2] === 0xdf && bytes[3] === 0xa3) {
    // Matroska/WebM, as MediaRecorder writes it: Opus (48 kHz) in Chromium and Firefox.
    const head = ascii(bytes, 0, Math.min(bytes.length, 4096));
    return { container: 'webm', sampleRate: head.includes('A_OPUS') ? 48000 : null };
  }
  if (ascii(bytes, 4, 4) === 'ftyp') return { container: 'mp4', sampleRate: null };
  if (start > 0 || (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0)) {
    const rate = mp3Rate(bytes, start);
    if (rate) return { container: 'mp3', sampleRate: rate };
  }
  return { container: 'unknown', sampleRate: null };
}
