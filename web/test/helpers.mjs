// Shared by the tests: the bundled library, fixtures, and small numeric helpers.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

if (!process.env.VIBEVOICE_TEST_LIB) throw new Error('run the tests through web/test/run_tests.mjs (it bundles the library)');

export const lib = await import(process.env.VIBEVOICE_TEST_LIB);
export const repoRoot = process.env.VIBEVOICE_REPO_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function readRepoFile(path) {
  return readFileSync(join(repoRoot, path));
}

export function fixture(name) {
  return JSON.parse(readRepoFile(`web/test/fixtures/${name}`).toString('utf8'));
}

/** Float32Array from the fixtures' base64 little-endian float32. */
export function f32(base64) {
  const bytes = Buffer.from(base64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** The fixtures' deterministic pseudo-noise (make_fixtures.py's sawtooth), bit-identical to numpy's. */
export function sawtooth(n, scale = 2000) {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = (((i * 7919 + 13) % 2001) - 1000) / scale;
  return x;
}

export function maxAbsDiff(a, b) {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Every `stride`-th element. */
export function strided(x, stride, limit = x.length) {
  const out = [];
  for (let i = 0; i < limit; i += stride) out.push(x[i]);
  return Float32Array.from(out);
}
