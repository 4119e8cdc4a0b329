// Sessions made straight from graph files with the pinned onnxruntime-web, for the diagnostics and
// bench pages: what they report is the graph's behaviour, with no Transformers.js in between.
import { ort } from './vibevoice/model/onnxruntime';

export type Device = 'webgpu' | 'wasm';

export interface TensorJson {
  type: 'float32' | 'int64' | 'int32';
  dims: number[];
  data: number[];
}

export function toOrtTensor(t: TensorJson): ort.Tensor {
  if (t.type === 'float32') return new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
  if (t.type === 'int32') return new ort.Tensor('int32', Int32Array.from(t.data), t.dims);
  return new ort.Tensor('int64', BigInt64Array.from(t.data.map((v) => BigInt(v))), t.dims);
}

export function fromOrtTensor(t: ort.Tensor): TensorJson {
  return { type: t.type as TensorJson['type'], dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not download ${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** A graph's bytes and its external data files (named as the graph names them), downloaded. */
export interface GraphFiles {
  model: Uint8Array;
  externalData: { path: string; data: Uint8Array }[];
}

/** Downloads the graph at `url` and the external data files `dataFiles` beside it. */
export async function fetchGraph(url: string, dataFiles: string[] = []): Promise<GraphFiles> {
  const externalData = await Promise.all(dataFiles.map(async (path) => ({ path, data: await fetchBytes(new URL(path, new URL(url, location.href)).href) })));
  return { model: await fetchBytes(url), externalData };
}

/** A session on one execution provider only, so a missing WebGPU cannot pass silently. */
export function createSession(files: GraphFiles, device: Device, options: ort.InferenceSession.SessionOptions = {}): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(files.model, { ...options, executionProviders: [device], externalData: files.externalData });
}
