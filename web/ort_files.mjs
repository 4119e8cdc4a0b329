// onnxruntime-web's wasm files the library loads (src/vibevoice/model/onnxruntime.ts RUNTIME_BUILDS:
// the WebGPU build, and the plain CPU build for WASM), copied into ort/ of a bundle or the package.
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

// Node modules onnxruntime-web's browser build probes for and never uses in a browser: left out of every bundle.
export const NODE_PROBES = ['node:*', 'fs', 'path', 'url', 'worker_threads', 'module'];

export const RUNTIME_FILES = ['asyncify.mjs', 'asyncify.wasm', 'mjs', 'wasm'].map((ext) => `ort-wasm-simd-threaded.${ext}`);

export function copyRuntimeFiles(nodeModules, outDir) {
  mkdirSync(outDir, { recursive: true });
  for (const name of RUNTIME_FILES) cpSync(join(nodeModules, 'onnxruntime-web', 'dist', name), join(outDir, name), { dereference: true });
}
