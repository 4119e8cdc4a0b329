// Which dtype variants an artifact folder holds, and which one a device should run.
import { ARTIFACT, type Dtype } from '../artifact';
import { VibeVoiceError } from '../errors';

export type { Dtype } from '../artifact';
export type Device = 'webgpu' | 'wasm';

/** Every dtype, best first. */
export const DTYPES: readonly Dtype[] = ARTIFACT.best_first;
export const DTYPE_SUFFIX = Object.fromEntries(DTYPES.map((d) => [d, ARTIFACT.dtypes[d].suffix])) as Record<Dtype, string>;
export const GRAPHS = ARTIFACT.graphs;

export function isDtype(value: unknown): value is Dtype {
  return typeof value === 'string' && (DTYPES as readonly string[]).includes(value);
}

/** fp16 activations need WebGPU's shader-f16 feature. */
export function needsShaderF16(dtype: Dtype): boolean {
  return ARTIFACT.dtypes[dtype].half_precision;
}

type Json = Record<string, unknown>;

/**
 * The dtypes whose three graphs the folder holds: manifest.json's "dtypes" when there is a
 * manifest, else what config.json's transformers.js_config names (its dtype and its
 * use_external_data_format file names).
 */
export function availableDtypes(config: Json, manifest: Json | null): Dtype[] {
  if (manifest && Array.isArray(manifest.dtypes)) {
    const failed = parityFailed(manifest);
    return DTYPES.filter((d) => (manifest.dtypes as unknown[]).includes(d) && !failed.includes(d));
  }
  const tjs = (config['transformers.js_config'] ?? {}) as Json;
  const found = new Set<Dtype>();
  const external = tjs.use_external_data_format;
  if (external && typeof external === 'object') {
    const files = Object.keys(external as Json);
    for (const d of DTYPES) if (GRAPHS.every((g) => files.includes(`${g}${DTYPE_SUFFIX[d]}.onnx`))) found.add(d);
  }
  const dtype = tjs.dtype;
  const named = typeof dtype === 'string' ? [dtype] : dtype && typeof dtype === 'object' ? Object.values(dtype as Json) : [];
  if (named.length && named.every((d) => d === named[0]) && isDtype(named[0])) found.add(named[0]);
  return DTYPES.filter((d) => found.has(d));
}

/**
 * The variants whose manifest says they missed their parity gate: `quantize` keeps such work on disk
 * (marked `parity: failed`) so a long run is not lost, but it is never offered as a model to run.
 */
export function parityFailed(manifest: Json | null): Dtype[] {
  const parity = (manifest?.parity ?? {}) as Json;
  return DTYPES.filter((d) => ((parity[d] ?? {}) as Json).passed === false);
}

/**
 * The dtypes a device can run, best first, among those available. WebGPU runs half precision only
 * with shader-f16. WASM runs every dtype on onnxruntime's CPU kernels (the plain CPU build, see
 * onnxruntime.ts), int4 first (MatMulNBits is the fastest there) and half precision last (the CPU
 * runs most float16 ops through casts to float32).
 */
export function runnableDtypes(available: readonly Dtype[], device: Device, shaderF16: boolean): Dtype[] {
  if (device === 'wasm') return ARTIFACT.cpu_best_first.filter((d) => available.includes(d));
  return DTYPES.filter((d) => available.includes(d) && (shaderF16 || !needsShaderF16(d)));
}

/** The dtype to load: the request if the folder has it and the device can run it, else the best runnable one. */
export function chooseDtype(requested: Dtype | 'auto', available: readonly Dtype[], device: Device, shaderF16: boolean): Dtype {
  const runnable = runnableDtypes(available, device, shaderF16);
  if (requested === 'auto') {
    if (runnable.length) return runnable[0];
    throw new VibeVoiceError(
      'unsupported-dtype',
      `This model folder holds ${available.join(', ') || 'no known dtype'}, and none runs on ${device}` +
        (device === 'webgpu' && !shaderF16 ? ' without shader-f16 (this GPU lacks it)' : '') +
        '. Export a q4 or fp32 variant.',
    );
  }
  if (!available.includes(requested)) {
    throw new VibeVoiceError(
      'unsupported-dtype',
      `This model folder has no ${requested} variant; it holds ${available.join(', ') || 'none'}. Choose one of those.`,
    );
  }
  if (device === 'webgpu' && needsShaderF16(requested) && !shaderF16) {
    throw new VibeVoiceError(
      'unsupported-dtype',
      `${requested} needs the WebGPU feature shader-f16, which this GPU lacks; choose ${runnable.join(' or ') || 'another dtype'}.`,
    );
  }
  return requested;
}
