// What onnxruntime-web needs from a page that Node and dawn.node (npm `webgpu`) lack, shared by
// run.mjs (the library) and graphs.mjs (single ONNX graphs): navigator.gpu, the GPU* globals, and a
// queue that accepts views of a SharedArrayBuffer. Scripts that import this run under
// `node --liftoff-only`: without it V8's optimizing compile of onnxruntime-web's wasm blocks the first
// run for minutes, and Dawn's pending promises do not keep the event loop alive meanwhile.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Dawn's GPU as navigator.gpu, with the two things onnxruntime-web needs from a page that dawn.node lacks. */
export async function installWebGpu(dawnModules) {
  const { create, globals } = await import(pathToFileURL(join(resolve(dawnModules), 'webgpu', 'index.js')).href);
  // Browsers expose the GPU* classes and constants (GPUBufferUsage...) as globals; onnxruntime-web uses them.
  Object.assign(globalThis, globals);
  // onnxruntime-web's wasm heap is a SharedArrayBuffer; dawn.node rejects views of one, browsers accept them.
  const copyShared = (data) => {
    const buffer = ArrayBuffer.isView(data) ? data.buffer : data;
    if (!(buffer instanceof SharedArrayBuffer)) return data;
    if (!ArrayBuffer.isView(data)) return new Uint8Array(data).slice().buffer;
    return data instanceof DataView ? new Uint8Array(buffer, data.byteOffset, data.byteLength).slice() : data.slice();
  };
  const queue = globals.GPUQueue.prototype;
  const { writeBuffer, writeTexture } = queue;
  queue.writeBuffer = function (target, offset, data, ...rest) {
    return writeBuffer.call(this, target, offset, copyShared(data), ...rest);
  };
  queue.writeTexture = function (destination, data, ...rest) {
    return writeTexture.call(this, destination, copyShared(data), ...rest);
  };
  // Node 20 has no navigator; the library and onnxruntime-web read navigator.gpu.
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: create([]), userAgent: 'node-dawn' }, configurable: true });
}

/**
 * The library's loop-local probe and workaround (web/src/vibevoice/model/loop_locals.ts), built for
 * Node: the tests use the code the library runs, not a copy of it.
 */
export async function loadLoopLocals(nodeModules, webDir) {
  const { build } = await import(pathToFileURL(join(resolve(nodeModules), 'esbuild', 'lib', 'main.js')).href);
  const outfile = join(mkdtempSync(join(tmpdir(), 'loop-locals-')), 'loop_locals.mjs');
  await build({ entryPoints: [join(resolve(webDir), 'src', 'vibevoice', 'model', 'loop_locals.ts')], outfile, bundle: true, format: 'esm', logLevel: 'warning' });
  return import(pathToFileURL(outfile).href);
}

/**
 * Every WGSL program compiled from now on, in order: {label, rewrites} (to read which kernels a graph ran).
 * With `zeroLocals` (loop_locals.ts' function of that name), each uninitialized local is given its zero
 * value explicitly, as the library does where the probe shows Tint's bug.
 */
export function recordShaders(zeroLocals = null) {
  const shaders = [];
  const device = globalThis.GPUDevice.prototype;
  const { createShaderModule } = device;
  device.createShaderModule = function (descriptor) {
    let rewrites = 0;
    if (zeroLocals) {
      const fixed = zeroLocals(descriptor.code);
      descriptor = { ...descriptor, code: fixed.code };
      rewrites = fixed.rewrites;
    }
    shaders.push({ label: descriptor.label ?? '', rewrites });
    return createShaderModule.call(this, descriptor);
  };
  return shaders;
}

/** The adapter Dawn offers, as the tests report it. */
export async function adapterReport() {
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error("Dawn found no WebGPU adapter: is VK_ICD_FILENAMES set to lavapipe's ICD json (tools/lavapipe/setup.sh --print-env)?");
  const info = adapter.info;
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    subgroupMinSize: info.subgroupMinSize,
    subgroupMaxSize: info.subgroupMaxSize,
    features: [...adapter.features].sort(),
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    maxBufferSize: adapter.limits.maxBufferSize,
  };
}

/** Runs `main` with the process kept up (Dawn's pending promises do not) and exits when it settles. */
export function runMain(name, main) {
  const keepAlive = setInterval(() => {}, 1000);
  main().then(
    () => {
      clearInterval(keepAlive);
      process.exit(0); // dawn.node holds handles that would keep the process up
    },
    (error) => {
      console.error(`${name}: ${error?.stack ?? error}`);
      process.exit(1);
    },
  );
}
