// The one module that imports onnxruntime-web: points it and Transformers.js at files served by this
// page's own origin, and reports the WebGPU adapter and device it runs on.
import { env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-web/webgpu';
import type { Device } from './variants';

export { ort };

/** Where the bundle keeps onnxruntime-web's wasm files, relative to the page. */
export const ORT_WASM_DIR = 'ort/';

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
 * Loads onnxruntime-web's wasm for `device` from `where`: a folder URL (default: ort/ beside the page)
 * or explicit file URLs. Transformers.js' wasm cache is turned off: it keys on the URL, so an upgraded
 * runtime served at the same path would meet a stale binary; the HTTP cache revalidates instead.
 */
export function useLocalRuntimeFiles(where?: string | WasmPaths, base: string = document.baseURI, device: Device = 'webgpu'): void {
  let wasmPaths: WasmPaths;
  if (where && typeof where === 'object') {
    wasmPaths = { mjs: new URL(where.mjs, base).href, wasm: new URL(where.wasm, base).href };
  } else {
    const dir = new URL(where ?? ORT_WASM_DIR, base).href.replace(/\/?$/, '/');
    const build = RUNTIME_BUILDS[device];
    wasmPaths = { mjs: `${dir}${build}.mjs`, wasm: `${dir}${build}.wasm` };
  }
  ort.env.wasm.wasmPaths = wasmPaths;
  const onnx = env.backends.onnx as { wasm?: { wasmPaths?: unknown } };
  if (onnx.wasm) onnx.wasm.wasmPaths = wasmPaths;
  env.useWasmCache = false;
}

export interface AdapterReport {
  available: boolean;
  reason?: string;
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  /** The narrowest subgroup the adapter may run (SwiftShader: 4), where the browser reports it. */
  subgroupMinSize?: number;
  features: string[];
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
}

/** What WebGPU adapter this browser offers, or why there is none. */
export async function describeWebGpuAdapter(): Promise<AdapterReport> {
  const gpu = (navigator as Navigator & { gpu?: any }).gpu;
  if (!gpu) return { available: false, reason: 'navigator.gpu is missing: this browser has no WebGPU', features: [] };
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { available: false, reason: 'requestAdapter() returned null: no usable GPU adapter', features: [] };
  const info = adapter.info ?? {};
  return {
    available: true,
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: info.isFallbackAdapter ?? adapter.isFallbackAdapter,
    subgroupMinSize: info.subgroupMinSize,
    features: [...adapter.features].sort(),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

/** Whether onnxruntime-web has created its WebGPU device (it does when a WebGPU session is created). */
export function webgpuDeviceCreated(): boolean {
  return Boolean((ort.env.webgpu as { device?: unknown }).device);
}
