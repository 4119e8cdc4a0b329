// Polyphase rate conversion equal to scipy.signal.resample_poly(x, up, down) on float32 input:
// the Kaiser(5.0) FIR from fir.ts cast to float32, then upfirdn accumulating in float32 in
// scipy's order, so results match the Python front end to float32 rounding.
import { firwinLowpass } from './fir';

export const KAISER_BETA = 5.0;

export function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

interface Polyphase {
  up: number;
  down: number;
  /** Filter taps per phase. */
  perPhase: number;
  /** The filter in scipy's transposed, flipped layout: phase t's taps are [t*perPhase, (t+1)*perPhase). */
  taps: Float32Array;
  /** Leading outputs dropped to centre the filter. */
  preRemove: number;
}

const designs = new Map<string, Polyphase>();

function design(up: number, down: number): Polyphase {
  const maxRate = Math.max(up, down);
  const halfLen = 10 * maxRate;
  const fir = firwinLowpass(2 * halfLen + 1, 1 / maxRate, KAISER_BETA);
  const prePad = down - (halfLen % down);
  const preRemove = Math.floor((halfLen + prePad) / down);
  // scipy may append zero taps (post padding) so upfirdn's output is long enough; zero taps add
  // nothing to the float32 sums, so the outputs we keep do not depend on them.
  const length = prePad + fir.length;
  const padded = length + ((up - (length % up)) % up);
  const full = new Float32Array(padded);
  for (let i = 0; i < fir.length; i++) full[prePad + i] = Math.fround(Math.fround(fir[i]) * up); // h = float32(h); h *= up
  const perPhase = padded / up;
  const taps = new Float32Array(padded);
  for (let t = 0; t < up; t++) {
    for (let i = 0; i < perPhase; i++) taps[t * perPhase + i] = full[(perPhase - 1 - i) * up + t];
  }
  return { up, down, perPhase, taps, preRemove };
}

function cachedDesign(up: number, down: number): Polyphase {
  const key = `${up}/${down}`;
  let d = designs.get(key);
  if (!d) {
    d = design(up, down);
    if (designs.size > 16) designs.clear();
    designs.set(key, d);
  }
  return d;
}

/** ceil(inLen * up / down), the number of samples resample_poly returns. */
export function outputLength(inLen: number, up: number, down: number): number {
  const total = inLen * up;
  return Math.floor(total / down) + (total % down ? 1 : 0);
}

/** scipy.signal.resample_poly(x, up, down) for float32 samples (zero padding at both ends). */
export function resamplePoly(x: Float32Array, up: number, down: number): Float32Array {
  if (!Number.isInteger(up) || !Number.isInteger(down) || up < 1 || down < 1) {
    throw new RangeError(`up and down must be positive integers, got ${up} and ${down}`);
  }
  const g = gcd(up, down);
  up /= g;
  down /= g;
  if (up === 1 && down === 1) return x.slice();
  const inLen = x.length;
  const outLen = outputLength(inLen, up, down);
  const { perPhase, taps, preRemove } = cachedDesign(up, down);
  const out = new Float32Array(outLen);
  for (let k = 0; k < outLen; k++) {
    const step = (k + preRemove) * down;
    const xIdx = Math.floor(step / up);
    const phase = step - xIdx * up;
    let first = xIdx - perPhase + 1;
    let h = phase * perPhase;
    if (first < 0) {
      h -= first;
      first = 0;
    }
    const last = Math.min(xIdx, inLen - 1);
    let acc = 0;
    for (let j = first; j <= last; j++, h++) acc = Math.fround(acc + Math.fround(x[j] * taps[h]));
    out[k] = acc;
  }
  return out;
}

/** Resamples float32 samples from `fromRate` to `toRate` Hz (up/down = rates reduced by their gcd). */
export function resample(x: Float32Array, fromRate: number, toRate: number): Float32Array {
  if (!Number.isInteger(fromRate) || !Number.isInteger(toRate) || fromRate < 1 || toRate < 1) {
    throw new RangeError(`sample rates must be positive integers, got ${fromRate} and ${toRate}`);
  }
  if (fromRate === toRate) return x.slice();
  const g = gcd(fromRate, toRate);
  return resamplePoly(x, toRate / g, fromRate / g);
}
