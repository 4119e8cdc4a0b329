// One place that points Transformers.js and onnxruntime-web at files served by this page's own origin.
import { env } from '@huggingface/transformers';
import * as ort from 'onnxruntime-web/webgpu';

export { ort };

/** Where the bundle keeps onnxruntime-web's wasm files, relative to the page. */
export const ORT_WASM_DIR = 'ort/';

export function useLocalRuntimeFiles(base: string = document.baseURI): void {
  const dir = new URL(ORT_WASM_DIR, base).href;
  const wasmPaths = {
    mjs: `${dir}ort-wasm-simd-threaded.asyncify.mjs`,
    wasm: `${dir}ort-wasm-simd-threaded.asyncify.wasm`,
  };
  ort.env.wasm.wasmPaths = wasmPaths;
  const onnx = env.backends.onnx as { wasm?: { wasmPaths?: unknown } };
  if (onnx.wasm) onnx.wasm.wasmPaths = wasmPaths;
}

export interface AdapterReport {
  available: boolean;
  reason?: string;
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
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
    features: [...adapter.features].sort(),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}
