// Decoding where WebAudio is missing (a Worker): Mediabunny demuxes the container (MP3, Ogg, FLAC,
// WebM, MP4, ADTS) and decodes its packets with WebCodecs' AudioDecoder, at the track's own rate.
// Demuxing by hand would mean five container readers; Mediabunny is maintained, pure TypeScript,
// tree-shaken (the audio containers only, ~250 KB minified) and has no dependencies.
import { ADTS, AudioSampleSink, BufferSource, FLAC, Input, MATROSKA, MP3, MP4, OGG, WAVE, WEBM } from 'mediabunny';
import type { DecodedAudio } from './types';

/** The containers read here: what the front end accepts (WAV mostly goes through our own parser). */
const FORMATS = [MP3, OGG, FLAC, WEBM, MATROSKA, MP4, ADTS, WAVE];

/** Why a file did not decode: the message for the caller's unsupported-audio error. */
export class WebCodecsDecodeError extends Error {}

/** Every channel of the file's first audio track, as float32 at the track's sample rate. */
export async function decodeWithWebCodecs(bytes: Uint8Array): Promise<DecodedAudio> {
  const input = new Input({ source: new BufferSource(bytes), formats: FORMATS });
  try {
    const track = await input.getPrimaryAudioTrack().catch((error) => {
      throw new WebCodecsDecodeError(`no container Mediabunny reads (${(error as Error)?.message ?? error})`);
    });
    if (!track) throw new WebCodecsDecodeError('the file has no audio track');
    if (!(await track.canDecode())) throw new WebCodecsDecodeError(`this browser's AudioDecoder cannot decode ${(await track.getCodec()) ?? 'its codec'}`);
    const count = await track.getNumberOfChannels();
    const parts: Float32Array[][] = Array.from({ length: count }, () => []);
    let frames = 0;
    for await (const sample of new AudioSampleSink(track).samples()) {
      try {
        for (let c = 0; c < count; c++) {
          const part = new Float32Array(sample.numberOfFrames);
          sample.copyTo(part, { planeIndex: Math.min(c, sample.numberOfChannels - 1), format: 'f32-planar' });
          parts[c].push(part);
        }
        frames += sample.numberOfFrames;
      } finally {
        sample.close();
      }
    }
    if (frames === 0) throw new WebCodecsDecodeError('it holds no audio frames');
    const channels = parts.map((chunks) => {
      const channel = new Float32Array(frames);
      let offset = 0;
      for (const chunk of chunks) {
        channel.set(chunk, offset);
        offset += chunk.length;
      }
      return channel;
    });
    return { channels, sampleRate: await track.getSampleRate() };
  } finally {
    input.dispose();
  }
}
