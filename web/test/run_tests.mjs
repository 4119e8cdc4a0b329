// Runs the web library's Node tests: bundles test/entry.mjs (the library's browser-free core) with
// esbuild for Node and test/entry_tensors.mjs (its Tensor helpers on Transformers.js), then
// `node --test` on test/*.test.mjs. With --typecheck it runs `tsc --noEmit` on src/ instead.
// Usage: node run_tests.mjs [--node-modules DIR] [--web-dir DIR] [--repo-root DIR] [--out DIR] [--artifact-description FILE] [--typecheck]
// (defaults: this checkout's web/node_modules, web/, the repository, a temporary folder; Bazel's
// web_node_test passes runfiles paths).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { artifactDescriptionPlugin, descriptionFile } from '../artifact_description.mjs';
import { NODE_PROBES } from '../ort_files.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const options = { 'node-modules': join(here, '..', 'node_modules'), 'web-dir': join(here, '..'), 'repo-root': join(here, '..', '..') };
const flags = new Set();
for (let i = 2; i < process.argv.length; i++) {
  const name = process.argv[i].replace(/^--/, '');
  if (name === 'typecheck') flags.add(name);
  else options[name] = process.argv[++i];
}
const nodeModules = resolve(options['node-modules']);
const webDir = resolve(options['web-dir']);
const out = resolve(options.out ?? process.env.TEST_TMPDIR ?? mkdtempSync(join(tmpdir(), 'vibevoice-web-test-')));
mkdirSync(out, { recursive: true });

function run(command, args, env = {}) {
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

if (flags.has('typecheck')) {
  // tsc resolves packages from the sources' folder upwards; give it a web/ whose node_modules is ours.
  const web = join(mkdtempSync(join(out, 'typecheck-')), 'web');
  mkdirSync(web, { recursive: true });
  symlinkSync(join(webDir, 'src'), join(web, 'src'));
  symlinkSync(nodeModules, join(web, 'node_modules'));
  const tsc = join(nodeModules, 'typescript', 'bin', 'tsc');
  // The whole of src/ with the DOM, then the library alone with only a Worker's globals (no DOM).
  let status = 0;
  for (const config of ['tsconfig.json', 'tsconfig.worker.json']) {
    writeFileSync(join(web, config), readFileSync(join(webDir, config)));
    status ||= run(process.execPath, [tsc, '--noEmit', '--preserveSymlinks', '-p', join(web, config)]);
  }
  process.exit(status);
}

const { build } = await import(pathToFileURL(join(nodeModules, 'esbuild', 'lib', 'main.js')).href);
const description = descriptionFile(options['artifact-description'], options['repo-root']);
const bundle = join(out, 'vibevoice-core.mjs');
await build({
  entryPoints: [join(webDir, 'test', 'entry.mjs')],
  outfile: bundle,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  nodePaths: [nodeModules],
  logLevel: 'warning',
  plugins: [artifactDescriptionPlugin(description)],
  // The wasm decoders' Node Worker shim (@eshaz/web-worker) is CommonJS that requires Node's modules.
  banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
});
// The Tensor helpers on Transformers.js' browser build, as the page runs them (its Node build needs
// onnxruntime-node, which the Bazel node_modules leave out); test/entry_tensors.mjs hands it onnxruntime-web.
const tensorsBundle = join(out, 'vibevoice-tensors.mjs');
await build({
  entryPoints: [join(webDir, 'test', 'entry_tensors.mjs')],
  outfile: tensorsBundle,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  nodePaths: [nodeModules],
  logLevel: 'warning',
  external: NODE_PROBES,
});
const testDir = join(webDir, 'test');
const tests = readdirSync(testDir)
  .filter((name) => name.endsWith('.test.mjs'))
  .sort()
  .map((name) => join(testDir, name));
process.exit(
  run(process.execPath, ['--test', ...tests], {
    VIBEVOICE_TEST_LIB: pathToFileURL(bundle).href,
    VIBEVOICE_TEST_TENSORS: pathToFileURL(tensorsBundle).href,
    VIBEVOICE_REPO_ROOT: resolve(options['repo-root']),
    VIBEVOICE_ARTIFACT_DESCRIPTION: description,
    VIBEVOICE_WEB_DIR: webDir,
    VIBEVOICE_NODE_MODULES: nodeModules,
  }),
);
