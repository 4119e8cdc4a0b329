// Transformers.js' global file settings for one model source: same-origin folders never touch the
// network beyond this origin; only a Hub repo id turns remote models on. Files either kind lists in
// its manifest.json are kept by the model cache (cache.ts), which Transformers.js asks first.
import { env } from '@huggingface/transformers';
import { modelCache, type CacheLike } from './cache';
import { useLocalRuntimeFiles, type WasmPaths } from './onnxruntime';
import { routeModelFetches } from './fetch';
import type { ModelSource } from './location';
import type { Device } from './variants';

/** The Cache API bucket Transformers.js itself would use: for a Hub repo's files that no manifest lists. */
function browserCache(): Promise<CacheLike | null> {
  return typeof caches === 'undefined' ? Promise.resolve(null) : caches.open(env.cacheKey);
}

/**
 * Call once the device is chosen: it picks onnxruntime-web's wasm build. `base` resolves a relative
 * `wasm` location (the page's URL; a Worker's own by default).
 */
export function configureEnvironment(source: ModelSource, device: Device, wasm?: string | WasmPaths, base?: string): void {
  useLocalRuntimeFiles(wasm, base, device);
  modelCache.attach(source.baseUrl);
  env.useCustomCache = true;
  env.customCache = modelCache;
  if (source.kind === 'local') {
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    // Checked against a manifest, a cached copy of a re-exported folder is seen to be stale; without one
    // nothing else is cached (the server's HTTP caching applies).
    modelCache.fallback = null;
  } else {
    env.allowLocalModels = false;
    env.allowRemoteModels = true;
    modelCache.fallback = browserCache;
  }
  routeModelFetches(source);
}
