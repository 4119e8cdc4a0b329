// Diagnostics page: reports the WebGPU adapter and runs any ONNX graph through the pinned
// onnxruntime-web, so tests (and people) can check this browser against onnxruntime in Python.
import { createSession, fetchGraph, fromOrtTensor, toOrtTensor, type Device, type TensorJson } from './graph_sessions';
import { describeWebGpuAdapter, ort, useLocalRuntimeFiles, type AdapterReport } from './vibevoice/model/onnxruntime';

interface GraphRun {
  device: Device;
  outputs: Record<string, TensorJson>;
  webgpuDeviceCreated: boolean;
}

/** Runs the graph at `url` on one execution provider only, so a missing WebGPU cannot pass silently. */
async function runGraph(url: string, feeds: Record<string, TensorJson>, device: Device = 'webgpu'): Promise<GraphRun> {
  const session = await createSession(await fetchGraph(url), device);
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
