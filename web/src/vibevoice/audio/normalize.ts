// Channel averaging, loudness normalisation and padding, in the float32 arithmetic of
// transformers' VibeVoiceAcousticTokenizerFeatureExtractor (torch on CPU).

/** Averages channels to mono (float64 mean rounded to float32, like numpy's mean(axis=1)). */
export function toMono(channels: Float32Array[]): Float32Array {
  if (channels.length === 0) throw new RangeError('expected at least one channel');
  if (channels.length === 1) return channels[0].slice();
  const n = channels[0].length;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (const c of channels) s += c[i];
    out[i] = s / channels.length;
  }
  return out;
}

/** sqrt(mean(x²)) in float64 (used for the silence check, as the Python front end does). */
export function rms64(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return x.length ? Math.sqrt(s / x.length) : 0;
}

/**
 * Scales to `targetDbfs` RMS, then divides by the peak (+eps) if it exceeds 1. Mirrors torch:
 * rms = sqrt(mean(x**2)); x *= 10**(target/20) / (rms + eps)  (a float / tensor is reciprocal * float);
 * if max|x| > 1: x = x / (max|x| + eps). Every step rounds to float32.
 */
export function normalizeLoudness(x: Float32Array, targetDbfs = -25, eps = 1e-6): Float32Array {
  const eps32 = Math.fround(eps);
  let sumSquares = 0;
  for (let i = 0; i < x.length; i++) sumSquares += Math.fround(x[i] * x[i]);
  const rms = Math.fround(Math.sqrt(Math.fround(sumSquares / x.length)));
  const reciprocal = Math.fround(1 / Math.fround(rms + eps32));
  const gain = Math.fround(reciprocal * Math.fround(10 ** (targetDbfs / 20)));
  const y = new Float32Array(x.length);
  let peak = 0;
  for (let i = 0; i < x.length; i++) {
    y[i] = x[i] * gain;
    const a = Math.abs(y[i]);
    if (a > peak) peak = a;
  }
  if (peak > 1) {
    const denominator = Math.fround(peak + eps32);
    for (let i = 0; i < y.length; i++) y[i] = y[i] / denominator;
  }
  return y;
}

/** ceil(n / hop): audio tokens (one per started hop). */
export function numAudioTokens(numSamples: number, hop: number): number {
  return Math.ceil(numSamples / hop);
}

/** Right-pads with zeros to a multiple of `multiple` samples (a new array). */
export function padToMultiple(x: Float32Array, multiple: number): Float32Array {
  const out = new Float32Array(numAudioTokens(x.length, multiple) * multiple);
  out.set(x);
  return out;
}
