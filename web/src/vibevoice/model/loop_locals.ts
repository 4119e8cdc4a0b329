// A shader-compiler bug and its workaround. WGSL zero-initializes a `var` that has no initializer
// each time its declaration runs, so one declared in a loop body starts at zero on every iteration.
// Tint (Dawn's WGSL compiler) emits SPIR-V that zeroes it once per invocation instead: an OpVariable
// initializer in the entry block and no store where the declaration is. That is every Vulkan
// adapter Chrome or Dawn drives (Linux, Android; SwiftShader and Mesa's lavapipe here).
// onnxruntime-web's FlashAttention program (decoder calls of 32+ new rows) keeps a key block's
// scores in such a variable, so from its second block of keys on each score starts from the last
// block's: prefill attention is wrong (README: "Tint's SPIR-V zeroes a loop's local once").
// The workaround writes the zero value out (`var x = T();`, the same program by WGSL's rules) in
// every program compiled after it is installed, where a probe shows the bug.

/** A program that writes [1, 1, 1] as WGSL says, and [1, 6, 6] where a loop's local is zeroed once. */
const PROBE = `@group(0) @binding(0) var<storage, read_write> seen : array<f32, 3>;
@compute @workgroup_size(1) fn main() {
  for (var i = 0u; i < 3u; i++) {
    var local : vec4<f32>;
    local[0] += 1.0;
    seen[i] = local[0];
    local = vec4<f32>(5.0);
  }
}`;
const PER_ITERATION = [1, 1, 1];

// A function-scope `var NAME : TYPE;` without an initializer, as onnxruntime-web writes them;
// module-scope variables are `var<private>`, `var<storage, ...>` and the like, which this leaves be.
const UNINITIALIZED_LOCAL = /\bvar ([A-Za-z_]\w*) : ([^;=]+);/g;

/** `code` with every uninitialized local given its zero value explicitly, and how many it changed. */
export function zeroLocals(code: string): { code: string; rewrites: number } {
  let rewrites = 0;
  const out = code.replace(UNINITIALIZED_LOCAL, (_, name: string, type: string) => {
    rewrites++;
    return `var ${name} = ${type.trim()}();`;
  });
  return { code: out, rewrites };
}

// WebGPU's types are not in the lib the library compiles against (as in adapter.ts).
type Gpu = any;

/** What the adapter's compiler makes of PROBE (a device of its own, destroyed after). */
export async function probeLoopLocals(gpu: Gpu): Promise<number[]> {
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) throw new Error('requestAdapter() returned null');
  const device = await adapter.requestDevice();
  const g = globalThis as any;
  try {
    const module = device.createShaderModule({ code: PROBE });
    const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
    const size = PER_ITERATION.length * 4;
    const seen = device.createBuffer({ size, usage: g.GPUBufferUsage.STORAGE | g.GPUBufferUsage.COPY_SRC });
    const readback = device.createBuffer({ size, usage: g.GPUBufferUsage.MAP_READ | g.GPUBufferUsage.COPY_DST });
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: seen } }] }));
    pass.dispatchWorkgroups(1);
    pass.end();
    encoder.copyBufferToBuffer(seen, 0, readback, 0, size);
    device.queue.submit([encoder.finish()]);
    await readback.mapAsync(g.GPUMapMode.READ);
    return Array.from(new Float32Array(readback.getMappedRange()));
  } finally {
    device.destroy();
  }
}

let installed = false;

/** From now on every WGSL program any GPUDevice here compiles gets its locals' zeros written out. */
export function installZeroLocals(): void {
  const prototype = (globalThis as any).GPUDevice?.prototype;
  if (installed || !prototype) return;
  const createShaderModule = prototype.createShaderModule;
  prototype.createShaderModule = function (descriptor: { code: string }) {
    return createShaderModule.call(this, { ...descriptor, code: zeroLocals(descriptor.code).code });
  };
  installed = true;
}

export interface LoopLocalsReport {
  /** PROBE's output before the workaround: [1, 1, 1] is right, [1, 6, 6] the bug; [] when the probe could not run. */
  probe: number[];
  /** The workaround is installed (only where the probe showed the bug). */
  zeroLocals: boolean;
  /** Programs compiled from now on zero their loop locals as WGSL says (false, to be safe, when the probe failed). */
  correct: boolean;
  /** Why the probe could not run. */
  error?: string;
}

const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

async function check(gpu: Gpu): Promise<LoopLocalsReport> {
  try {
    const probe = await probeLoopLocals(gpu);
    if (same(probe, PER_ITERATION)) return { probe, zeroLocals: false, correct: true };
    installZeroLocals();
    return { probe, zeroLocals: installed, correct: same(await probeLoopLocals(gpu), PER_ITERATION) };
  } catch (error) {
    // A probe is no reason to fail a load: the caller then takes the path that does not need it.
    return { probe: [], zeroLocals: false, correct: false, error: String((error as Error)?.message ?? error) };
  }
}

let report: Promise<LoopLocalsReport> | null = null;

/**
 * Probes this adapter's compiler once per page or Worker and, where it zeroes a loop's local once,
 * installs the workaround and checks it. Never throws.
 */
export function fixLoopLocals(gpu: Gpu = (globalThis.navigator as { gpu?: Gpu } | undefined)?.gpu): Promise<LoopLocalsReport> {
  report ??= check(gpu);
  return report;
}
