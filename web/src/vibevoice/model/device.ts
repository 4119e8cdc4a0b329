// WebGPU when the browser has a usable adapter, else WASM — and the caller always learns which and why.
import { describeWebGpuAdapter, type AdapterReport } from './adapter';
import { VibeVoiceError } from '../errors';
import type { Device } from './variants';

export type DeviceRequest = Device | 'auto';

export interface DeviceChoice {
  device: Device;
  /** The adapter has 'shader-f16' (fp16 activations possible). */
  shaderF16: boolean;
  adapter: AdapterReport;
  /** Why WASM runs instead of WebGPU; null when WebGPU runs (or WASM was asked for). */
  fallbackReason: string | null;
}

export async function chooseDevice(requested: DeviceRequest = 'auto'): Promise<DeviceChoice> {
  let adapter: AdapterReport;
  try {
    adapter = await describeWebGpuAdapter();
  } catch (error) {
    adapter = { available: false, reason: `requestAdapter() failed: ${(error as Error)?.message ?? error}`, features: [] };
  }
  const shaderF16 = adapter.available && adapter.features.includes('shader-f16');
  if (requested === 'wasm') return { device: 'wasm', shaderF16: false, adapter, fallbackReason: null };
  if (adapter.available) return { device: 'webgpu', shaderF16, adapter, fallbackReason: null };
  if (requested === 'webgpu') {
    throw new VibeVoiceError(
      'no-webgpu',
      `WebGPU is not available (${adapter.reason}). Use a browser with WebGPU enabled (Chrome/Edge 113+, Safari 26+), ` +
        'or choose the WASM device (much slower).',
    );
  }
  return { device: 'wasm', shaderF16: false, adapter, fallbackReason: adapter.reason ?? 'WebGPU is not available' };
}
