// Which variant load() takes, decided before anything large is downloaded: the pre-flight report
// (preflight.ts) of the requested dtype, or for 'auto' of the best runnable one that fits here, with
// what the browser has cached of each counted as already downloaded.
import type { AdapterReport } from './adapter';
import type { CachedModel } from './cache';
import { preflight, variantFiles, type PreflightEnvironment, type PreflightReport } from './preflight';
import { probeEnvironment } from './probe';
import { chooseDtype, type Device, type Dtype } from './variants';

type Json = Record<string, unknown>;

/** Audio length load() plans for when the caller does not say: one minute. */
export const DEFAULT_PLAN_SECONDS = 60;

export interface PlanInput {
  /** The folder's URL (ModelSource.baseUrl): the model cache's key for it. */
  folder: string;
  config: Json;
  manifest: Json | null;
  dtype: Dtype | 'auto';
  durationS?: number;
  device: Device;
  shaderF16: boolean;
  available: readonly Dtype[];
  runnable: readonly Dtype[];
  maxNewTokens?: number;
  /** planEnvironment()'s limits. */
  environment: PreflightEnvironment;
  /** What the browser has cached (listCachedModels()). */
  cached: readonly CachedModel[];
}

/** Bytes of the variant's files the model cache already holds for this folder (a partial file counts: it resumes). */
function cachedBytes(input: PlanInput, dtype: Dtype): number {
  const files = variantFiles(input.manifest, dtype);
  const model = input.cached.find((m) => m.folder === input.folder);
  if (!files || !model) return 0;
  return model.files.reduce((n, f) => n + Math.min(f.bytes, files.get(f.file) ?? 0), 0);
}

/** The limits preflight() compares with: the adapter's when WebGPU runs, memory and storage where the browser tells. */
export function planEnvironment(device: Device, adapter: AdapterReport): Promise<PreflightEnvironment> {
  return probeEnvironment(device === 'webgpu' ? adapter : null);
}

/**
 * The report of the variant load() should take: the requested dtype's (chooseDtype's errors for one
 * the folder lacks or the device cannot run), or for 'auto' the first runnable one that fits, else the
 * best one's report, whose problems say what would fit.
 */
export function planVariant(input: PlanInput): PreflightReport {
  const candidates = input.dtype === 'auto' && input.runnable.length ? input.runnable : [chooseDtype(input.dtype, input.available, input.device, input.shaderF16)];
  let first: PreflightReport | null = null;
  for (const dtype of candidates) {
    const report = preflight({
      config: input.config,
      manifest: input.manifest,
      dtype,
      durationS: input.durationS ?? DEFAULT_PLAN_SECONDS,
      environment: { ...input.environment, cachedBytes: cachedBytes(input, dtype) },
      dtypes: input.runnable,
      maxNewTokens: input.maxNewTokens,
    });
    if (report.fits) return report;
    first ??= report;
  }
  return first!;
}
