// Transformers.js' global file settings for one model source: same-origin folders never touch the
// network beyond this origin; only a Hub repo id turns remote models on.
import { env } from '@huggingface/transformers';
import { useLocalRuntimeFiles, type WasmPaths } from './onnxruntime';
import { routeLocalModelFetches } from './fetch';
import type { ModelSource } from './location';
import type { Device } from './variants';

/**
 * Call once the device is chosen: it picks onnxruntime-web's wasm build. `base` resolves a relative
 * `wasm` location (the page's URL; a Worker's own by default).
 */
export function configureEnvironment(source: ModelSource, device: Device, wasm?: string | WasmPaths, base?: string): void {
  useLocalRuntimeFiles(wasm, base, device);
  if (source.kind === 'local') {
    env.allowLocalModels = true;
    env.allowRemoteModels = false;
    // The server's own HTTP caching applies; Cache Storage would keep stale copies of re-exported folders.
    env.useBrowserCache = false;
    routeLocalModelFetches(source.baseUrl);
  } else {
    env.allowLocalModels = false;
    env.allowRemoteModels = true;
    env.useBrowserCache = typeof caches !== 'undefined';
  }
}
