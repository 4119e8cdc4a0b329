// The duration in the prompt: Python's f"{seconds:.2f}". Number.prototype.toFixed rounds exact
// ties up ("1.125" -> "1.13") where Python rounds them to even ("1.12"); a double is an exact tie
// at the third decimal only when it is an odd multiple of 1/8, so those are handled apart.

function formatCents(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const a = Math.abs(cents);
  return `${sign}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

/** Formats like Python's f"{x:.2f}" (round half to even on the exact binary value). */
export function formatFixed2(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const eighths = x * 8; // exact: a power-of-two scaling
  if (Number.isInteger(eighths) && Math.abs(eighths % 2) === 1 && Math.abs(x) < 2 ** 40) {
    const lower = Math.floor(x * 100); // x*100 = 12.5 * eighths exactly
    return formatCents(lower % 2 === 0 ? lower : lower + 1);
  }
  if (Object.is(x, -0)) return '-0.00'; // toFixed drops the sign of negative zero, Python keeps it
  return x.toFixed(2); // exact for every non-tie (ECMA-262 rounds the exact value)
}
