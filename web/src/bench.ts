// Bench page: times the artifact graphs straight through the pinned onnxruntime-web (no
// Transformers.js), and counts the WebGPU programs each run compiles. tools/bench/browser.py drives
// it; ?device=wasm loads onnxruntime-web's CPU build, as the library does on that device.
import { createSession, fetchGraph, type Device } from './graph_sessions';
import { describeWebGpuAdapter, ort, useLocalRuntimeFiles } from './vibevoice/model/onnxruntime';

/** A feed the page makes itself, so a 4,000-position KV cache never crosses the page boundary as JSON. */
interface FeedSpec {
  type: 'float32' | 'int64' | 'int32';
  dims: number[];
  /** zeros, ones, random (uniform in [-scale, scale], seeded), or range (start, start + 1, ...). */
  fill: 'zeros' | 'ones' | 'random' | 'range';
  scale?: number;
  start?: number;
}

/** The WebGPU programs compiled so far: every GPUDevice's shader modules and compute pipelines. */
interface ProgramCount {
  shaderModules: number;
  /** Shader modules whose WGSL this page had not compiled before. */
  newSources: number;
  pipelines: number;
  /** Time from createComputePipelineAsync to its promise settling: the compile (Chromium's GPU process does it). */
  asyncCompileMs: number;
}

const count: ProgramCount = { shaderModules: 0, newSources: 0, pipelines: 0, asyncCompileMs: 0 };
const shaderSources = new Set<string>();

/** Wraps GPUDevice's program constructors; it runs before onnxruntime-web asks for its device. */
function countPrograms(): void {
  const proto = (globalThis as { GPUDevice?: { prototype: Record<string, any> } }).GPUDevice?.prototype;
  if (!proto) return;
  const counted = (name: string, before: (args: any[]) => void) => {
    const original = proto[name];
    if (typeof original !== 'function') return;
    proto[name] = function (this: unknown, ...args: any[]) {
      before(args);
      return original.apply(this, args);
    };
  };
  counted('createShaderModule', ([descriptor]) => {
    count.shaderModules++;
    shaderSources.add(String(descriptor?.code ?? ''));
    count.newSources = shaderSources.size;
  });
  counted('createComputePipeline', () => count.pipelines++);
  const asyncOriginal = proto.createComputePipelineAsync;
  if (typeof asyncOriginal === 'function') {
    proto.createComputePipelineAsync = function (this: unknown, ...args: any[]) {
      count.pipelines++;
      const started = performance.now();
      return asyncOriginal.apply(this, args).finally(() => (count.asyncCompileMs += performance.now() - started));
    };
  }
}

function programsSince(before: ProgramCount): ProgramCount {
  return {
    shaderModules: count.shaderModules - before.shaderModules,
    newSources: count.newSources - before.newSources,
    pipelines: count.pipelines - before.pipelines,
    asyncCompileMs: count.asyncCompileMs - before.asyncCompileMs,
  };
}

/** Deterministic uniform values in [-scale, scale] (a 32-bit LCG), cheap enough for millions of values. */
function seededUniform(length: number, scale: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

function makeTensor(spec: FeedSpec, seed: number): ort.Tensor {
  const length = spec.dims.reduce((a, b) => a * b, 1);
  const integer = (i: number) => (spec.fill === 'range' ? (spec.start ?? 0) + i : spec.fill === 'ones' ? 1 : 0);
  if (spec.type === 'int64') return new ort.Tensor('int64', BigInt64Array.from({ length }, (_, i) => BigInt(integer(i))), spec.dims);
  if (spec.type === 'int32') return new ort.Tensor('int32', Int32Array.from({ length }, (_, i) => integer(i)), spec.dims);
  if (spec.fill === 'random') return new ort.Tensor('float32', seededUniform(length, spec.scale ?? 1, seed), spec.dims);
  return new ort.Tensor('float32', new Float32Array(length).fill(spec.fill === 'ones' ? 1 : 0), spec.dims);
}

function makeFeeds(specs: Record<string, FeedSpec>): Record<string, ort.Tensor> {
  return Object.fromEntries(Object.entries(specs).map(([name, spec], i) => [name, makeTensor(spec, 7919 * (i + 1))]));
}

function disposeAll(tensors: Iterable<ort.Tensor>): void {
  for (const tensor of tensors) if (tensor.location === 'gpu-buffer') tensor.dispose();
}

const device: Device = new URLSearchParams(location.search).get('device') === 'wasm' ? 'wasm' : 'webgpu';
const sessions = new Map<string, ort.InferenceSession>();

function session(name: string): ort.InferenceSession {
  const found = sessions.get(name);
  if (!found) throw new Error(`no session named ${name}: load() it first`);
  return found;
}

/**
 * Creates session `name` from the graph at `url` (download not timed). `gpuOutputs` stay on the GPU
 * (the library keeps present.* there); `profile` turns on onnxruntime's profiler for the session.
 */
async function load(name: string, url: string, dataFiles: string[], gpuOutputs: string[], profile: boolean) {
  const files = await fetchGraph(url, dataFiles);
  const before = { ...count };
  const started = performance.now();
  const created = await createSession(files, device, {
    enableProfiling: profile,
    preferredOutputLocation: device === 'webgpu' ? Object.fromEntries(gpuOutputs.map((output) => [output, 'gpu-buffer'])) : undefined,
  });
  const ms = performance.now() - started;
  sessions.set(name, created);
  return { ms, programs: programsSince(before) };
}

/** One run of session `name` on feeds made from `specs`: its wall time and the programs it compiled. */
async function run(name: string, specs: Record<string, FeedSpec>) {
  const feeds = makeFeeds(specs);
  const before = { ...count };
  const started = performance.now();
  const results = await session(name).run(feeds);
  const ms = performance.now() - started;
  const dims = Object.fromEntries(Object.entries(results).map(([output, t]) => [output, [...t.dims]]));
  disposeAll(Object.values(results));
  return { ms, programs: programsSince(before), dims };
}

/**
 * `steps` decoder calls of one new row each, as generation makes them: the first on the feeds of
 * `specs`, each next one on the previous call's present.* (`feedback`: present name -> past name),
 * with the mask one longer and the position one further. Per call: wall time and programs compiled.
 */
async function decode(name: string, specs: Record<string, FeedSpec>, feedback: Record<string, string>, steps: number) {
  const feeds = makeFeeds(specs);
  const calls: { ms: number; programs: ProgramCount }[] = [];
  let mask = specs.attention_mask.dims[1];
  let position = specs.position_ids.start ?? 0;
  for (let step = 0; step < steps; step++) {
    const before = { ...count };
    const started = performance.now();
    const results = await session(name).run(feeds);
    calls.push({ ms: performance.now() - started, programs: programsSince(before) });
    if (step > 0) disposeAll(Object.values(feedback).map((past) => feeds[past]));
    for (const [present, past] of Object.entries(feedback)) feeds[past] = results[present];
    disposeAll(Object.entries(results).filter(([output]) => !(output in feedback)).map(([, t]) => t));
    mask += 1;
    position += 1;
    feeds.attention_mask = makeTensor({ type: 'int64', dims: [1, mask], fill: 'ones' }, 0);
    feeds.position_ids = makeTensor({ type: 'int64', dims: [1, 1], fill: 'range', start: position }, 0);
  }
  disposeAll(Object.values(feedback).map((past) => feeds[past]));
  return calls;
}

async function endProfiling(name: string): Promise<void> {
  await session(name).endProfiling();
}

async function release(name: string): Promise<void> {
  await session(name).release();
  sessions.delete(name);
}

countPrograms();
useLocalRuntimeFiles(undefined, undefined, device);
const adapterReport = device === 'webgpu' ? describeWebGpuAdapter() : Promise.resolve({ available: false, reason: 'WASM page', features: [] });
document.getElementById('device')!.textContent = device;
document.getElementById('ort-version')!.textContent = ort.env.versions.web ?? 'unknown';

Object.assign(window, {
  vibevoiceBench: { adapter: () => adapterReport, load, run, decode, endProfiling, release },
});
