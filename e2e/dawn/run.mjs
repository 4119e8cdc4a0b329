// The web library in Node on Dawn (npm `webgpu`), for adapters headless Chromium cannot use: Mesa's
// lavapipe has shader-f16 and 8-lane subgroups, but Chromium drops it (no external-image support).
// The library (web/src/vibevoice) is bundled for the browser, with Transformers.js' web build and
// onnxruntime-web's WebGPU EP, exactly as vibevoice-asr.js is; this file only supplies what a page
// would: navigator.gpu, document.baseURI, and same-origin fetches (served from local folders).
//
// Usage: node --liftoff-only run.mjs --model DIR --dtype DTYPE --audio FILE [--audio FILE...] --out FILE.json
//   [--max-new-tokens N] [--prefill-chunk-tokens N] [--require-feature NAME...]
//   [--node-modules DIR] [--dawn-modules DIR] [--web-dir DIR] [--artifact-description FILE]
// With lavapipe: VK_ICD_FILENAMES=<icd json> LD_LIBRARY_PATH=<its lib/> MESA_SHADER_CACHE_DIR=<scratch>
// (tools/lavapipe/setup.sh --print-env). --liftoff-only: see webgpu.mjs, which sets up the GPU.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installFetch, ORIGIN } from './serve.mjs';
import { adapterReport, installWebGpu, runMain } from './webgpu.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

function parseArgs(argv) {
  const options = {
    'node-modules': join(repo, 'web', 'node_modules'),
    'dawn-modules': join(here, 'node_modules'),
    'web-dir': join(repo, 'web'),
    audio: [],
    'require-feature': [],
  };
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '');
    if (!(name in options) && !['model', 'dtype', 'out', 'max-new-tokens', 'prefill-chunk-tokens', 'artifact-description'].includes(name)) {
      throw new Error(`unknown argument ${argv[i]}: see the usage at the top of run.mjs`);
    }
    if (Array.isArray(options[name])) options[name].push(argv[i + 1]);
    else options[name] = argv[i + 1];
  }
  for (const needed of ['model', 'dtype', 'out']) {
    if (!options[needed]) throw new Error(`--${needed} is required: see the usage at the top of run.mjs`);
  }
  return options;
}

async function bundleLibrary(options, out) {
  const nodeModules = resolve(options['node-modules']);
  const webDir = resolve(options['web-dir']);
  const { build } = await import(pathToFileURL(join(nodeModules, 'esbuild', 'lib', 'main.js')).href);
  const { artifactDescriptionPlugin, descriptionFile } = await import(pathToFileURL(join(webDir, 'artifact_description.mjs')).href);
  const { NODE_PROBES } = await import(pathToFileURL(join(webDir, 'ort_files.mjs')).href);
  const file = join(out, 'vibevoice-asr.mjs');
  await build({
    entryPoints: [join(webDir, 'src', 'vibevoice', 'index.ts')],
    outfile: file,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    nodePaths: [nodeModules],
    logLevel: 'warning',
    plugins: [artifactDescriptionPlugin(descriptionFile(options['artifact-description'], join(webDir, '..'))), browserTransformers()],
    external: NODE_PROBES,
  });
  return { file, ortDist: join(nodeModules, 'onnxruntime-web', 'dist') };
}

/**
 * Transformers.js' web build tells Node from a page by its globals: `process` (then it expects
 * onnxruntime-node) and `window.document` (a page: it creates and runs sessions one at a time, which
 * onnxruntime-web's WebGPU EP needs). Only those two tests change, so it takes the page's paths.
 */
const PAGE_ENVIRONMENT = [
  ['var IS_PROCESS_AVAILABLE = typeof process !== "undefined";', 'var IS_PROCESS_AVAILABLE = false;'],
  ['var IS_BROWSER_ENV = typeof window !== "undefined" && typeof window.document !== "undefined";', 'var IS_BROWSER_ENV = true;'],
];

function browserTransformers() {
  return {
    name: 'browser-transformers',
    setup(build) {
      build.onLoad({ filter: /transformers\.web\.js$/ }, async (args) => {
        const { readFile } = await import('node:fs/promises');
        let source = await readFile(args.path, 'utf8');
        for (const [test, page] of PAGE_ENVIRONMENT) {
          if (!source.includes(test)) throw new Error(`${args.path} no longer holds \`${test}\`: update run.mjs for this Transformers.js`);
          source = source.replace(test, page);
        }
        return { contents: source, loader: 'js' };
      });
    },
  };
}

async function transcribeAll(lib, options, ort) {
  const asr = await lib.VibeVoiceASR.load('models/', {
    device: 'webgpu',
    dtype: options.dtype,
    wasm: { mjs: pathToFileURL(join(ort, 'ort-wasm-simd-threaded.asyncify.mjs')).href, wasm: pathToFileURL(join(ort, 'ort-wasm-simd-threaded.asyncify.wasm')).href },
  });
  const runtime = asr.runtimeInfo();
  const results = [];
  for (const clip of options.audio) {
    const started = performance.now();
    const r = await asr.transcribe(new URL(`audio/${basename(clip)}`, ORIGIN), {
      maxNewTokens: options['max-new-tokens'] ? Number(options['max-new-tokens']) : undefined,
      prefillChunkTokens: options['prefill-chunk-tokens'] ? Number(options['prefill-chunk-tokens']) : undefined,
    });
    results.push({
      audio: basename(clip),
      promptIds: r.promptIds,
      generatedIds: r.generatedIds,
      text: r.text,
      rawText: r.rawText,
      segments: r.segments,
      stopReason: r.stopReason,
      top: r.firstStepTopLogits,
      seconds: (performance.now() - started) / 1000,
    });
    console.error(`run.mjs: ${options.dtype} ${basename(clip)}: ${r.generatedIds.length} tokens, ${r.stopReason}, ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  await asr.dispose();
  return { runtime, results };
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  await installWebGpu(options['dawn-modules']);
  const adapter = await adapterReport();
  const absent = options['require-feature'].filter((f) => !adapter.features.includes(f));
  if (absent.length) throw new Error(`the adapter (${adapter.description}) lacks ${absent.join(', ')}; features: ${adapter.features.join(' ')}`);
  console.error(`run.mjs: adapter ${adapter.description} (${adapter.vendor}), subgroups ${adapter.subgroupMinSize}..${adapter.subgroupMaxSize}, shader-f16 ${adapter.features.includes('shader-f16')}`);
  const out = mkdtempSync(join(process.env.TEST_TMPDIR ?? tmpdir(), 'vibevoice-dawn-'));
  const { file, ortDist } = await bundleLibrary(options, out);
  installFetch({ '/models/': resolve(options.model), '/audio/': options.audio.map((a) => resolve(a)) });
  // What a page offers the library: its URL (relative model and wasm locations resolve against it).
  globalThis.document = { baseURI: ORIGIN };
  globalThis.location = new URL(ORIGIN);
  globalThis.self = globalThis;
  const lib = await import(pathToFileURL(file).href);
  const { runtime, results } = await transcribeAll(lib, options, ortDist);
  writeFileSync(options.out, JSON.stringify({ adapter, runtime, dtype: options.dtype, results }, null, 1));
}

runMain('run.mjs', main);
