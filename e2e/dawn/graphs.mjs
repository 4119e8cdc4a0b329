// Single ONNX graphs on onnxruntime-web's WebGPU EP in Node on Dawn (lavapipe, as run.mjs), for
// diagnostics that compare one op with onnxruntime CPU in Python (e2e/test_f16_attention.py).
//
// Usage: node --liftoff-only graphs.mjs --job JOB.json --out OUT.json [--zero-locals] [--node-modules DIR] [--dawn-modules DIR] [--web-dir DIR]
//   JOB.json: {"graphs": [{"name", "model": "file.onnx", "feeds": {NAME: TENSOR}}]}
//   OUT.json: {"adapter", "loopLocalProbe" (web/src/vibevoice/model/loop_locals.ts), "ortVersion", "results": [{"name", "outputs": {NAME: TENSOR}, "programs": [labels]}]}
//   TENSOR: {"type": "float32" | "float16" | "int32" | "int64", "dims": [...], "base64": little-endian bytes}
// "programs" are the labels of the WGSL modules compiled while the graph ran (which kernels it took).
// --zero-locals gives every uninitialized WGSL local its zero value explicitly, as the library does where
// its probe shows Tint's loop-local bug (loop_locals.ts' zeroLocals, through webgpu.mjs' recordShaders);
// "rewrites" counts the declarations it changed.
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { adapterReport, installWebGpu, loadLoopLocals, recordShaders, runMain } from './webgpu.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ARRAYS = { float32: Float32Array, float16: Uint16Array, int32: Int32Array, int64: BigInt64Array };

function parseArgs(argv) {
  const web = join(here, '..', '..', 'web');
  const options = { 'node-modules': join(web, 'node_modules'), 'dawn-modules': join(here, 'node_modules'), 'web-dir': web };
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].replace(/^--/, '');
    if (name === 'zero-locals') options[name] = true;
    else if (['job', 'out', 'node-modules', 'dawn-modules', 'web-dir'].includes(name)) options[name] = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}: see the usage at the top of graphs.mjs`);
  }
  for (const needed of ['job', 'out']) {
    if (!options[needed]) throw new Error(`--${needed} is required: see the usage at the top of graphs.mjs`);
  }
  return options;
}

function toTensor(ort, { type, dims, base64 }) {
  if (!(type in ARRAYS)) throw new Error(`tensor type ${type} is not one of ${Object.keys(ARRAYS).join(', ')}`);
  const bytes = Buffer.from(base64, 'base64');
  const copy = new Uint8Array(bytes).buffer; // aligned for the typed array
  return new ort.Tensor(type, new ARRAYS[type](copy), dims);
}

function fromTensor(tensor) {
  const data = tensor.data;
  return { type: tensor.type, dims: [...tensor.dims], base64: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  await installWebGpu(options['dawn-modules']);
  const adapter = await adapterReport();
  const loopLocals = await loadLoopLocals(options['node-modules'], options['web-dir']);
  const probe = await loopLocals.probeLoopLocals(navigator.gpu);
  const shaders = recordShaders(options['zero-locals'] ? loopLocals.zeroLocals : null);
  const dist = join(resolve(options['node-modules']), 'onnxruntime-web', 'dist');
  const ort = await import(pathToFileURL(join(dist, 'ort.webgpu.mjs')).href);
  const build = 'ort-wasm-simd-threaded.asyncify';
  ort.env.wasm.wasmPaths = { mjs: pathToFileURL(join(dist, `${build}.mjs`)).href, wasm: pathToFileURL(join(dist, `${build}.wasm`)).href };
  const job = JSON.parse(readFileSync(options.job, 'utf8'));
  const results = [];
  for (const graph of job.graphs) {
    const session = await ort.InferenceSession.create(readFileSync(resolve(dirname(options.job), graph.model)), { executionProviders: ['webgpu'] });
    try {
      const first = shaders.length;
      const feeds = Object.fromEntries(Object.entries(graph.feeds).map(([name, t]) => [name, toTensor(ort, t)]));
      const outputs = await session.run(feeds);
      results.push({
        name: graph.name,
        outputs: Object.fromEntries(Object.entries(outputs).map(([name, t]) => [name, fromTensor(t)])),
        programs: shaders.slice(first).map((s) => s.label),
        rewrites: shaders.slice(first).reduce((sum, s) => sum + s.rewrites, 0),
        webgpuDeviceCreated: Boolean(ort.env.webgpu.device),
      });
    } finally {
      await session.release();
    }
    console.error(`graphs.mjs: ${graph.name}`);
  }
  writeFileSync(options.out, JSON.stringify({ adapter, loopLocalProbe: probe, ortVersion: ort.env.versions.web, results }));
}

runMain('graphs.mjs', main);
