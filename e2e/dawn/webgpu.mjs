// What onnxruntime-web needs from a page that Node and dawn.node (npm `webgpu`) lack, shared by
// run.mjs (the library) and graphs.mjs (single ONNX graphs): navigator.gpu, the GPU* globals, and a
// queue that accepts views of a SharedArrayBuffer. Scripts that import this run under
// `node --liftoff-only`: without it V8's optimizing compile of onnxruntime-web's wasm blocks the first
// run for minutes, and Dawn's pending promises do not keep the event loop alive meanwhile.
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

// A function-scope `var NAME : TYPE;` (no initializer): module-scope ones are `var<private>` and the like.
const UNINITIALIZED_LOCAL = /\bvar ([A-Za-z_]\w*) : ([^;=]+);/g;

/**
 * Every WGSL program compiled from now on, in order: {label, rewrites} (to read which kernels a graph ran).
 * With `zeroLocals`, each uninitialized local is given its zero value explicitly (`var x = T();`), which is
 * what WGSL means anyway and what Tint's SPIR-V then honours in a loop (LOOP_LOCAL_PROBE).
 */
export function recordShaders({ zeroLocals = false } = {}) {
  const shaders = [];
  const device = globalThis.GPUDevice.prototype;
  const { createShaderModule } = device;
  device.createShaderModule = function (descriptor) {
    let rewrites = 0;
    if (zeroLocals) {
      const code = descriptor.code.replace(UNINITIALIZED_LOCAL, (_, name, type) => (rewrites++, `var ${name} = ${type.trim()}();`));
      descriptor = { ...descriptor, code };
    }
    shaders.push({ label: descriptor.label ?? '', rewrites });
    return createShaderModule.call(this, descriptor);
  };
  return shaders;
}

// WGSL zero-initializes a `var` without an initializer each time its declaration runs, so one
// declared in a loop body starts at zero on every iteration. onnxruntime-web's flash-attention
// prefill relies on that (`var qk_1 : vec4<f32>;` then `qk_1[0] += ...` per key block).
const LOOP_LOCAL_PROBE = `@group(0) @binding(0) var<storage, read_write> seen : array<f32, 3>;
@compute @workgroup_size(1) fn main() {
  for (var i = 0u; i < 3u; i++) {
    var local : vec4<f32>;
    local[0] += 1.0;
    seen[i] = local[0];
    local = vec4<f32>(5.0);
  }
}`;

/**
 * What the shader compiler makes of LOOP_LOCAL_PROBE: [1, 1, 1] when it follows WGSL; [1, 6, 6] when
 * it initializes the local once per invocation instead (Tint's SPIR-V output: an OpVariable
 * initializer in the entry block and no store where the declaration is).
 */
export async function loopLocalProbe() {
  const adapter = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
  const device = await adapter.requestDevice();
  try {
    const module = device.createShaderModule({ code: LOOP_LOCAL_PROBE });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const size = 3 * 4;
    const seen = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const readback = device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: seen } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(seen, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    return Array.from(new Float32Array(readback.getMappedRange()));
  } finally {
    device.destroy();
  }
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
