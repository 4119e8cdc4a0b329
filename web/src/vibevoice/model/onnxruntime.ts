// The one module that imports onnxruntime-web: points it and Transformers.js at its wasm files, and
// reports whether it created a WebGPU device.
import { env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-web/webgpu';
import type { Device } from './variants';

export { ort };
export { describeWebGpuAdapter, type AdapterReport } from './adapter';

/** Where the bundle and the npm package keep onnxruntime-web's wasm files, relative to this module's file. */
export const ORT_WASM_DIR = 'ort/';

/**
 * The folder the wasm files are in by default: ort/ beside the file this module was bundled into
 * (dist/index.js or dist/worker.js of the package; the demo's index.js, worker.js), so a page or
 * Worker anywhere finds them without being told. A bundler that rewrites import.meta.url to its own
 * output puts them beside that output instead (web/README.md says how).
 */
export function defaultWasmDir(): string {
  return new URL(ORT_WASM_DIR, import.meta.url).href;
}

export interface WasmPaths {
  mjs: string;
  wasm: string;
}

/**
 * onnxruntime-web's wasm build per device. The WebGPU build (asyncify) has no CPU kernel for
 * GatherBlockQuantized, the int4 variants' embedding; the plain CPU build has every CPU kernel (the
 * q4, q4f16 and fp16 graphs all run on it) and is half the size. A page or worker loads one build,
 * once, so the device is chosen first.
 */
export const RUNTIME_BUILDS: Record<Device, string> = { webgpu: 'ort-wasm-simd-threaded.asyncify', wasm: 'ort-wasm-simd-threaded' };

/**
 * Loads onnxruntime-web's wasm build for `device` from `where`: a folder URL or explicit file URLs,
 * resolved against `base` (the page, or the Worker's script when unset), or by default from
 * defaultWasmDir(). Transformers.js' wasm cache is turned off: it keys on the URL, so an upgraded
 * runtime served at the same path would meet a stale binary; the HTTP cache revalidates instead.
 */
export function useLocalRuntimeFiles(
  where?: string | WasmPaths,
  base: string = globalThis.location?.href ?? import.meta.url,
  device: Device = 'webgpu',
): void {
  let wasmPaths: WasmPaths;
  if (where && typeof where === 'object') {
    wasmPaths = { mjs: new URL(where.mjs, base).href, wasm: new URL(where.wasm, base).href };
  } else {
    const dir = (where ? new URL(where, base).href : defaultWasmDir()).replace(/\/?$/, '/');
    const build = RUNTIME_BUILDS[device];
    wasmPaths = { mjs: `${dir}${build}.mjs`, wasm: `${dir}${build}.wasm` };
  }
  ort.env.wasm.wasmPaths = wasmPaths;
  const onnx = env.backends.onnx as { wasm?: { wasmPaths?: unknown } };
  if (onnx.wasm) onnx.wasm.wasmPaths = wasmPaths;
  env.useWasmCache = false;
}

/** Whether onnxruntime-web has created its WebGPU device (it does when a WebGPU session is created). */
export function webgpuDeviceCreated(): boolean {
  return Boolean((ort.env.webgpu as { device?: unknown }).device);
}
