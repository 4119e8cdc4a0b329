// The limits the pre-flight check compares with, read from what the browser exposes: a GPUAdapter's
// limits and features, navigator.deviceMemory and navigator.storage.estimate(). No DOM: it runs in a
// page or a Worker, and each source is optional (Firefox and Safari have no deviceMemory).
import type { PreflightEnvironment } from './preflight';

/** A GPUAdapter, or the library's AdapterReport (describeWebGpuAdapter / chooseDevice().adapter). */
export type AdapterLike =
  | { limits: { maxBufferSize?: number; maxStorageBufferBindingSize?: number }; features?: { has(name: string): boolean } }
  | { available: boolean; maxBufferSize?: number; maxStorageBufferBindingSize?: number; features?: readonly string[] };

/** The part of Navigator / WorkerNavigator read here. */
export interface NavigatorLike {
  deviceMemory?: number;
  storage?: { estimate?: () => Promise<{ quota?: number; usage?: number }> };
}

export interface ProbeOptions {
  /** Default: globalThis.navigator. */
  navigator?: NavigatorLike | null;
  /** Bytes of the variant already in the browser's cache (0 when unknown). */
  cachedBytes?: number;
  /** Read the storage estimate (default true); the model cache (cache.ts) stores same-origin and Hub files alike. */
  storage?: boolean;
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function adapterLimits(adapter: AdapterLike | null | undefined): Partial<PreflightEnvironment> & { device: PreflightEnvironment['device'] } {
  if (!adapter || ('available' in adapter && !adapter.available)) return { device: 'wasm' };
  const limits = 'limits' in adapter ? adapter.limits : adapter;
  const features = adapter.features;
  const shaderF16 = Array.isArray(features) ? features.includes('shader-f16') : Boolean((features as { has?: (n: string) => boolean })?.has?.('shader-f16'));
  return {
    device: 'webgpu',
    shaderF16,
    maxBufferSize: finite(limits.maxBufferSize),
    maxStorageBufferBindingSize: finite(limits.maxStorageBufferBindingSize),
  };
}

/** The environment for preflight(): WebGPU's limits when there is an adapter (else WASM), memory and storage where present. */
export async function probeEnvironment(adapter: AdapterLike | null | undefined, options: ProbeOptions = {}): Promise<PreflightEnvironment> {
  const nav = options.navigator === undefined ? (globalThis as { navigator?: NavigatorLike }).navigator : options.navigator;
  const env: PreflightEnvironment = { ...adapterLimits(adapter), cachedBytes: options.cachedBytes ?? 0 };
  const memory = finite(nav?.deviceMemory);
  if (memory !== undefined && memory > 0) env.deviceMemoryGiB = memory;
  if (options.storage !== false && typeof nav?.storage?.estimate === 'function') {
    try {
      const estimate = await nav.storage.estimate();
      const quota = finite(estimate?.quota);
      if (quota !== undefined) env.storage = { quota, usage: finite(estimate.usage) ?? 0 };
    } catch {
      // No estimate (e.g. an opaque origin): the storage check is skipped, not failed.
    }
  }
  for (const key of ['maxBufferSize', 'maxStorageBufferBindingSize'] as const) if (env[key] === undefined) delete env[key];
  return env;
}
