// Builds the npm package's dist/: the library (index.js), the main-thread client (client.js) and the
// Worker (worker.js) as ES modules with source maps, each whole (no shared chunks, so import.meta.url
// is the entry's own file), the artifact description inlined; Transformers.js, onnxruntime-web,
// Mediabunny and the wasm audio decoders stay imports (dependencies, not bundled; the decoders'
// imports are dynamic, so an app's bundler can split them off); onnxruntime-web's wasm files under dist/ort/,
// where the library looks for them (beside its own file); the .d.ts types under dist/types/.
// Usage: node build_package.mjs [--node-modules DIR] [--out DIR] [--artifact-description FILE]
// (npm pack runs it as `prepack`; without --artifact-description the Python package writes it).
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { copyRuntimeFiles } from './ort_files.mjs';
import { artifactDescriptionPlugin, descriptionFile } from './artifact_description.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const options = { 'node-modules': join(here, 'node_modules'), out: join(here, 'dist') };
for (let i = 2; i < process.argv.length; i += 2) options[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const nodeModules = resolve(options['node-modules']);
const out = resolve(options.out);
const { build } = await import(pathToFileURL(join(nodeModules, 'esbuild', 'lib', 'main.js')).href);

rmSync(out, { recursive: true, force: true });
await build({
  entryPoints: [
    { in: join(here, 'src', 'vibevoice', 'index.ts'), out: 'index' },
    { in: join(here, 'src', 'vibevoice', 'client.ts'), out: 'client' },
    { in: join(here, 'src', 'vibevoice', 'worker', 'worker.ts'), out: 'worker' },
  ],
  outdir: out,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  sourcemap: true,
  nodePaths: [nodeModules],
  logLevel: 'warning',
  plugins: [artifactDescriptionPlugin(descriptionFile(options['artifact-description'], join(here, '..')))],
  // The dependencies: an app bundles them once, shared with its own use of them.
  external: [
    '@huggingface/transformers',
    'onnxruntime-web',
    'onnxruntime-web/*',
    'mediabunny',
    'mpg123-decoder',
    '@wasm-audio-decoders/flac',
    'ogg-opus-decoder',
    '@wasm-audio-decoders/ogg-vorbis',
  ],
});
copyRuntimeFiles(nodeModules, join(out, 'ort'));
const tsc = join(nodeModules, 'typescript', 'bin', 'tsc');
const types = spawnSync(process.execPath, [tsc, '-p', join(here, 'tsconfig.package.json'), '--outDir', join(out, 'types')], {
  stdio: 'inherit',
  cwd: here,
});
if (types.status !== 0) throw new Error(`tsc could not write the .d.ts files into ${relative(process.cwd(), join(out, 'types'))}`);
