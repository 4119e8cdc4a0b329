// The demo bundle as build.mjs writes it (//web:bundle): every page, the library and the Worker
// built on its own, with only the wasm audio decoders split off into chunks/. Every import in it
// must find its file in the bundle, no chunk may use import.meta.url (it would point into chunks/,
// not at ort/), and ogg-opus-decoder's unused speech-enhancement model (4 MB) must stay out.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

const DECODER_CHUNKS = ['flac', 'mpg123-decoder', 'ogg-opus-decoder', 'ogg-vorbis'];

/** The relative module specifiers a minified ES module imports, statically or dynamically. */
function relativeImports(code) {
  return [...code.matchAll(/(?:\bfrom|\bimport\s*\(|\bimport)\s*"(\.\.?\/[^"]+\.js)"/g)].map((match) => match[1]);
}

describe('demo bundle (build.mjs)', () => {
  const out = mkdtempSync(join(process.env.TEST_TMPDIR ?? tmpdir(), 'bundle-'));
  const read = (path) => readFileSync(join(out, path), 'latin1');

  before(() => {
    const webDir = process.env.VIBEVOICE_WEB_DIR;
    const args = [join(webDir, 'build.mjs'), '--node-modules', process.env.VIBEVOICE_NODE_MODULES, '--out', out];
    args.push('--src', join(webDir, 'src'), '--static', join(webDir, 'static'), '--artifact-description', process.env.VIBEVOICE_ARTIFACT_DESCRIPTION);
    const built = spawnSync(process.execPath, args, { encoding: 'utf8' });
    assert.equal(built.status, 0, `build.mjs failed:\n${built.stdout}\n${built.stderr}`);
  });
  after(() => rmSync(out, { recursive: true, force: true }));

  it('finds every imported file inside the bundle', () => {
    const seen = new Set();
    const visit = (path) => {
      if (seen.has(path)) return;
      seen.add(path);
      for (const specifier of relativeImports(read(path))) {
        const target = relative(out, resolve(out, dirname(path), specifier));
        assert.ok(!target.startsWith('..') && existsSync(join(out, target)), `${path} imports ${specifier}, which is not in the bundle`);
        visit(target);
      }
    };
    for (const name of readdirSync(out).filter((name) => name.endsWith('.js'))) visit(name);
    assert.ok([...seen].some((path) => path.startsWith('chunks/')), 'no chunk is imported at all');
  });

  it('loads each wasm decoder as its own chunk, kept out of the Worker file itself', () => {
    const worker = read('worker.js');
    const chunks = relativeImports(worker).filter((specifier) => specifier.startsWith('./chunks/'));
    for (const name of DECODER_CHUNKS) {
      assert.ok(chunks.some((specifier) => specifier.startsWith(`./chunks/${name}-`)), `worker.js does not import a ${name} chunk: ${chunks}`);
    }
    assert.ok(!worker.includes('"MPEGDecoder"'), 'mpg123-decoder is inlined into worker.js');
  });

  it('keeps import.meta out of the chunks, and the speech-enhancement model out of the bundle', () => {
    let total = 0;
    for (const name of readdirSync(join(out, 'chunks'))) {
      const code = read(join('chunks', name));
      assert.ok(!code.includes('import.meta'), `chunks/${name} uses import.meta`);
      total += statSync(join(out, 'chunks', name)).size;
    }
    assert.ok(total < 1_500_000, `chunks/ holds ${total} bytes: the 4 MB opus-ml model got in?`);
  });
});
