import type { LoopLocalsReport } from './loop_locals';

// The WebGPU adapter this browser offers, read without loading onnxruntime-web: a page (or the
// main-thread client) can show it before any model code is fetched. navigator.gpu exists in
// dedicated Workers too, so the same report comes from either side.

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
  /** The shader compiler's loop-local probe and its workaround (model/loop_locals.ts), once load() has run it. */
  loopLocals?: LoopLocalsReport;
}

/** What WebGPU adapter this browser offers, or why there is none. */
export async function describeWebGpuAdapter(): Promise<AdapterReport> {
  const gpu = (globalThis.navigator as { gpu?: any } | undefined)?.gpu;
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
    features: [...(adapter.features as Iterable<string>)].sort(),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  };
}

// CPU renderers that offer WebGPU: SwiftShader (Chromium), llvmpipe / lavapipe (Mesa), WARP (Windows).
const SOFTWARE_RENDERERS = /swiftshader|llvmpipe|lavapipe|software rasterizer|microsoft basic render/i;

/** The adapter renders on the CPU: it works, but a real model runs many times slower than on a GPU. */
export function isSoftwareAdapter(report: AdapterReport): boolean {
  if (!report.available) return false;
  if (report.isFallbackAdapter) return true;
  return [report.vendor, report.architecture, report.device, report.description].some((text) => SOFTWARE_RENDERERS.test(text ?? ''));
}
