/** Decoded audio: one Float32Array per channel, all the same length, at `sampleRate` Hz. */
export interface DecodedAudio {
  channels: Float32Array[];
  sampleRate: number;
}
