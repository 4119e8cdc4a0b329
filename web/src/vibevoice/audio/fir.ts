// The low-pass filter scipy.signal.resample_poly designs: firwin(2*half_len+1, 1/max_rate,
// window=('kaiser', 5.0)), computed in float64 like scipy.

/** The modified Bessel function of the first kind, order 0 (power series; |x| <= ~20 is exact to a few ulp). */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** scipy.signal.windows.kaiser(m, beta, sym=True). */
export function kaiserWindow(m: number, beta: number): Float64Array {
  const w = new Float64Array(m);
  if (m === 1) {
    w[0] = 1;
    return w;
  }
  const alpha = (m - 1) / 2;
  const denominator = besselI0(beta);
  for (let n = 0; n < m; n++) {
    const r = (n - alpha) / alpha;
    w[n] = besselI0(beta * Math.sqrt(1 - r * r)) / denominator;
  }
  return w;
}

function sinc(x: number): number {
  const y = Math.PI * (x === 0 ? 2.220446049250313e-16 : x);
  return Math.sin(y) / y;
}

/** scipy.signal.firwin(numtaps, cutoff, window=('kaiser', beta)) for a low-pass filter (cutoff relative to Nyquist). */
export function firwinLowpass(numtaps: number, cutoff: number, beta: number): Float64Array {
  if (!(cutoff > 0 && cutoff < 1)) throw new RangeError(`cutoff must be in (0, 1), got ${cutoff}`);
  const alpha = 0.5 * (numtaps - 1);
  const window = kaiserWindow(numtaps, beta);
  const h = new Float64Array(numtaps);
  for (let n = 0; n < numtaps; n++) h[n] = cutoff * sinc(cutoff * (n - alpha)) * window[n];
  // Scale to unit gain at DC, summing pairwise like numpy.
  const s = pairwiseSum(h, 0, numtaps);
  for (let n = 0; n < numtaps; n++) h[n] /= s;
  return h;
}

function pairwiseSum(a: Float64Array, start: number, length: number): number {
  if (length <= 8) {
    let s = 0;
    for (let i = start; i < start + length; i++) s += a[i];
    return s;
  }
  const half = Math.floor(length / 2);
  return pairwiseSum(a, start, half) + pairwiseSum(a, start + half, length - half);
}
