// Bundles the web library and pages with esbuild and copies onnxruntime-web's wasm files beside them,
// so the page needs nothing from another origin. Every src/X.ts with a static/X.html becomes X.js;
// the library's Worker (src/vibevoice/worker/worker.ts) becomes worker.js, which the demo's client
// starts; the library itself (src/vibevoice/index.ts) becomes vibevoice-asr.js, an ES module other
// pages can import. Each file is built on its own (no code shared between them): the page's main
// thread then loads only the client, and each file finds ort/ beside itself from import.meta.url.
// Only what a file imports dynamically, the wasm audio decoders (loaded when a file needs them), is
// split off into chunks/, with the few bundler helpers they share with the file; none of that code
// uses import.meta.url.
// Usage: node build.mjs --node-modules DIR --out DIR [--src DIR] [--static DIR] [--artifact-description FILE]
// (without --artifact-description, the Python package of this checkout writes it: artifact_description.mjs).
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { copyRuntimeFiles, NODE_PROBES } from './ort_files.mjs';
import { artifactDescriptionPlugin, descriptionFile } from './artifact_description.mjs';

const here = dirname(fileURLToPath(import.meta.url));
// ogg-opus-decoder's optional speech enhancement (4 MB of model): imported only when asked for, and
// the library never asks (src/vibevoice/audio/wasm_decoders.ts), so it is not bundled.
const NEVER_IMPORTED = ['@wasm-audio-decoders/opus-ml'];
const options = { src: join(here, 'src'), static: join(here, 'static'), 'node-modules': join(here, 'node_modules') };
for (let i = 2; i < process.argv.length; i += 2) options[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
if (!options.out) throw new Error('--out DIR is required');

const nodeModules = resolve(options['node-modules']);
const out = resolve(options.out);
const { build } = await import(pathToFileURL(join(nodeModules, 'esbuild', 'lib', 'main.js')).href);

const entryPoints = readdirSync(options.src)
  .filter((name) => /\.ts$/.test(name) && !name.endsWith('.d.ts'))
  .filter((name) => readdirSync(options.static).includes(name.replace(/\.ts$/, '.html')))
  .map((name) => ({ in: join(options.src, name), out: name.replace(/\.ts$/, '') }));
entryPoints.push({ in: join(options.src, 'vibevoice', 'index.ts'), out: 'vibevoice-asr' });
entryPoints.push({ in: join(options.src, 'vibevoice', 'worker', 'worker.ts'), out: 'worker' });

mkdirSync(out, { recursive: true });
const plugins = [artifactDescriptionPlugin(descriptionFile(options['artifact-description'], join(here, '..')))];
for (const entryPoint of entryPoints) {
  await build({
    entryPoints: [entryPoint],
    outdir: out,
    bundle: true,
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    nodePaths: [nodeModules],
    logLevel: 'warning',
    plugins,
    external: [...NODE_PROBES, ...NEVER_IMPORTED],
  });
}
cpSync(options.static, out, { recursive: true, dereference: true });
copyRuntimeFiles(nodeModules, join(out, 'ort'));
