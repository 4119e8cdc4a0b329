// The esbuild plugin that gives the library its artifact description (src/vibevoice/artifact.ts):
// the JSON file Bazel built (//web:artifact_description), or, outside Bazel, the one the Python
// package in this checkout writes (`python3 -m vibevoice_asr_web describe-artifact`; the artifact
// layer needs nothing beyond the standard library).
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const MODULE = 'vibevoice:artifact-description';

/** The description's path: `given`, else one written now from `repoRoot`/python. */
export function descriptionFile(given, repoRoot) {
  if (given) return resolve(given);
  const out = join(mkdtempSync(join(tmpdir(), 'vibevoice-artifact-')), 'artifact_description.json');
  const python = process.env.PYTHON ?? 'python3';
  const result = spawnSync(python, ['-m', 'vibevoice_asr_web', 'describe-artifact', '--output', out], {
    stdio: 'inherit',
    env: { ...process.env, PYTHONPATH: join(resolve(repoRoot), 'python') },
  });
  if (result.error || result.status !== 0) {
    throw new Error(`could not write the artifact description with ${python} (pass --artifact-description FILE, or build //web:artifact_description)`);
  }
  return out;
}

export function artifactDescriptionPlugin(file) {
  return {
    name: 'vibevoice-artifact-description',
    setup(build) {
      build.onResolve({ filter: /^vibevoice:artifact-description$/ }, () => ({ path: file }));
    },
  };
}
