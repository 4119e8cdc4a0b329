// Diagnostics page: reports the WebGPU adapter and runs any ONNX graph through the pinned
// onnxruntime-web, so tests (and people) can check this browser against onnxruntime in Python.
import { describeWebGpuAdapter, ort, useLocalRuntimeFiles, type AdapterReport } from './vibevoice/model/onnxruntime';

type Device = 'webgpu' | 'wasm';

interface TensorJson {
  type: 'float32' | 'int64' | 'int32';
  dims: number[];
  data: number[];
}

interface GraphRun {
  device: Device;
  outputs: Record<string, TensorJson>;
  webgpuDeviceCreated: boolean;
}

function toOrtTensor(t: TensorJson): ort.Tensor {
  if (t.type === 'float32') return new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
  if (t.type === 'int32') return new ort.Tensor('int32', Int32Array.from(t.data), t.dims);
  return new ort.Tensor('int64', BigInt64Array.from(t.data.map((v) => BigInt(v))), t.dims);
}

function fromOrtTensor(t: ort.Tensor): TensorJson {
  return { type: t.type as TensorJson['type'], dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
}

/** Runs the graph at `url` on one execution provider only, so a missing WebGPU cannot pass silently. */
async function runGraph(url: string, feeds: Record<string, TensorJson>, device: Device = 'webgpu'): Promise<GraphRun> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not download ${url}: HTTP ${response.status}`);
  const session = await ort.InferenceSession.create(new Uint8Array(await response.arrayBuffer()), {
    executionProviders: [device],
  });
  try {
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, toOrtTensor(t)]));
    const results = await session.run(ortFeeds);
    const outputs = Object.fromEntries(Object.entries(results).map(([name, t]) => [name, fromOrtTensor(t)]));
    return { device, outputs, webgpuDeviceCreated: Boolean((ort.env.webgpu as { device?: unknown }).device) };
  } finally {
    await session.release();
  }
}

function show(report: AdapterReport): void {
  const target = document.getElementById('adapter')!;
  target.textContent = report.available
    ? `${report.vendor || 'unknown vendor'} / ${report.architecture || 'unknown architecture'}` +
      `${report.isFallbackAdapter ? ' (software fallback adapter)' : ''} — features: ${report.features.join(', ') || 'none'}`
    : `No WebGPU: ${report.reason}`;
  document.getElementById('ort-version')!.textContent = ort.env.versions.web ?? 'unknown';
}

useLocalRuntimeFiles();
const adapterReport = describeWebGpuAdapter();
adapterReport.then(show, (error) => {
  document.getElementById('adapter')!.textContent = `adapter query failed: ${error}`;
});

Object.assign(window, { vibevoiceDiagnostics: { adapter: () => adapterReport, runGraph } });
