// The model cache (model/cache.ts) on a fake OPFS and a fake server: files are stored as they are
// read, read back only when their size and sha256 are the manifest's, resumed with Range after a cut,
// and listed and deleted per folder.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { lib } from './helpers.mjs';
import { FakeDir, FakeServer, pseudoRandomBytes, sha256Hex } from './fake_storage.mjs';

const ORIGIN = 'http://127.0.0.1:8000';
const FOLDER = `${ORIGIN}/models/`;
const DATA = 'onnx/decoder_model_merged.onnx_data';
const DATA_URL = `${FOLDER}${DATA}`;
const PART = 1000;

function folderFiles(data = pseudoRandomBytes(4321)) {
  const config = new TextEncoder().encode('{"model_type": "vibevoice_asr"}');
  const files = { [DATA]: data, 'config.json': config };
  const manifest = { format: 1, files: Object.fromEntries(Object.entries(files).map(([name, b]) => [name, { sha256: sha256Hex(b), bytes: b.length }])) };
  return {
    data,
    config,
    served: {
      '/models/onnx/decoder_model_merged.onnx_data': data,
      '/models/config.json': config,
      '/models/manifest.json': new TextEncoder().encode(JSON.stringify(manifest)),
      '/models/tokenizer_extra.json': new TextEncoder().encode('{}'),
    },
  };
}

function setup({ files = folderFiles(), quota = Infinity } = {}) {
  const root = new FakeDir({ used: 0, quota });
  const server = new FakeServer(ORIGIN, files.served);
  const cache = new lib.ModelCache({ store: async () => new lib.CacheStore(root), partBytes: PART, baseUrl: () => `${ORIGIN}/index.html`, fetch: server.fetch });
  cache.attach(FOLDER);
  return { root, server, cache, files };
}

async function bytesOf(response) {
  return new Uint8Array(await response.arrayBuffer());
}

/** What Transformers.js does for one file: ask the cache, else fetch (through fetch.ts) and read the body. */
async function load(cache, server, url = DATA_URL) {
  const hit = await cache.match(url);
  if (hit) return { bytes: await bytesOf(hit), hit: true };
  const response = await cache.fetch(url, {}, server.fetch);
  return { bytes: await bytesOf(response), hit: false };
}

function entryDir(root, file = DATA) {
  return root.at(`${encodeURIComponent(FOLDER)}/${encodeURIComponent(file)}`);
}

describe('model cache', () => {
  test('a downloaded file is read back from the store with no request', async () => {
    const { cache, server, files } = setup();
    const first = await load(cache, server);
    assert.equal(first.hit, false);
    assert.deepEqual(first.bytes, files.data);
    assert.equal(server.gets('/models/onnx/decoder_model_merged.onnx_data').length, 1);
    const second = await load(cache, server);
    assert.equal(second.hit, true);
    assert.deepEqual(second.bytes, files.data);
    assert.equal(server.gets('/models/onnx/decoder_model_merged.onnx_data').length, 1, 'the second load asked the server again');
  });

  test('parts are at most partBytes and the response headers come from the manifest, before any request', async () => {
    const { cache, server, root, files } = setup();
    const response = await cache.fetch(DATA_URL, {}, server.fetch);
    assert.equal(response.headers.get('Content-Length'), String(files.data.length));
    assert.equal(server.gets('/models/onnx/decoder_model_merged.onnx_data').length, 0, 'headers alone made a request');
    await bytesOf(response);
    const sizes = [...entryDir(root).children].filter(([name]) => name.startsWith('part-')).map(([, h]) => h.bytes.length);
    assert.deepEqual(sizes, [1000, 1000, 1000, 1000, 321]);
  });

  test('a fresh cache (a new page) checks the stored sha256 and finds a corrupted copy, which is downloaded again', async () => {
    const { root, server, files } = setup();
    const first = new lib.ModelCache({ store: async () => new lib.CacheStore(root), partBytes: PART, baseUrl: () => `${ORIGIN}/`, fetch: server.fetch });
    first.attach(FOLDER);
    await load(first, server);
    const part = entryDir(root).children.get('part-000002');
    part.bytes = part.bytes.slice();
    part.bytes[17] ^= 0xff; // same size, other bytes
    part.lastModified++;
    const reload = new lib.ModelCache({ store: async () => new lib.CacheStore(root), partBytes: PART, baseUrl: () => `${ORIGIN}/`, fetch: server.fetch });
    reload.attach(FOLDER);
    const warnings = [];
    const warn = console.warn;
    console.warn = (message) => warnings.push(String(message));
    try {
      assert.equal(await reload.match(DATA_URL), undefined);
    } finally {
      console.warn = warn;
    }
    assert.match(warnings.join('\n'), /fails its sha256 check/);
    assert.equal(entryDir(root), undefined, 'the corrupted entry was kept');
    const again = await load(reload, server);
    assert.equal(again.hit, false);
    assert.deepEqual(again.bytes, files.data);
    assert.equal(server.gets('/models/onnx/decoder_model_merged.onnx_data').length, 2);
    assert.equal((await load(reload, server)).hit, true);
  });

  test('a truncated copy is caught by its size and deleted', async () => {
    const { cache, root, server } = setup();
    await load(cache, server);
    entryDir(root).children.delete('part-000004');
    assert.equal(await cache.match(DATA_URL), undefined);
    assert.equal(entryDir(root), undefined);
  });

  test('a copy of another version of the folder (new manifest) is not used', async () => {
    const { root, server } = setup();
    const old = new lib.ModelCache({ store: async () => new lib.CacheStore(root), partBytes: PART, baseUrl: () => `${ORIGIN}/`, fetch: server.fetch });
    old.attach(FOLDER);
    await load(old, server);
    const changed = folderFiles(pseudoRandomBytes(4321, 7));
    server.files = new Map(Object.entries(changed.served));
    old.attach(FOLDER); // the next load reads manifest.json again
    const next = await load(old, server);
    assert.equal(next.hit, false);
    assert.deepEqual(next.bytes, changed.data);
  });

  test('a cut download resumes with Range and If-Range where its stored parts end', async () => {
    const { cache, server, root, files } = setup();
    server.cutAfter.set('/models/onnx/decoder_model_merged.onnx_data', 2500);
    await assert.rejects(load(cache, server), /network error/);
    const stored = [...entryDir(root).children].filter(([n]) => n.startsWith('part-')).reduce((n, [, h]) => n + h.bytes.length, 0);
    assert.equal(stored, 2500, 'what arrived before the cut is kept');
    assert.deepEqual((await cache.list())[0].files.find((f) => f.file === DATA), { file: DATA, bytes: 2500, expectedBytes: files.data.length, complete: false });
    const resumed = await load(cache, server);
    assert.deepEqual(resumed.bytes, files.data);
    const gets = server.gets('/models/onnx/decoder_model_merged.onnx_data');
    assert.deepEqual(gets.map((r) => [r.range, r.ifRange]), [[null, null], ['bytes=2500-', '"v1"']]);
    assert.equal((await load(cache, server)).hit, true);
  });

  test('a resume against a changed file (new ETag) starts over with the whole file', async () => {
    const { cache, server, files } = setup();
    server.cutAfter.set('/models/onnx/decoder_model_merged.onnx_data', 1500);
    await assert.rejects(load(cache, server));
    server.etag = '"v2"'; // same bytes here, so the manifest still matches: only the validator moved
    const again = await load(cache, server);
    assert.deepEqual(again.bytes, files.data);
    const [, second] = server.gets('/models/onnx/decoder_model_merged.onnx_data');
    assert.deepEqual([second.range, second.ifRange], ['bytes=1500-', '"v1"']);
    assert.equal((await load(cache, server)).hit, true);
  });

  test('a server file that is not the manifest\'s fails the read and is not kept', async () => {
    const files = folderFiles();
    files.served['/models/onnx/decoder_model_merged.onnx_data'] = pseudoRandomBytes(4321, 99);
    const { cache, server, root } = setup({ files });
    await assert.rejects(load(cache, server), (error) => error.code === 'download-failed' && /does not match manifest\.json/.test(error.message));
    assert.equal(await cache.match(DATA_URL), undefined);
    assert.deepEqual([...(entryDir(root)?.children.keys() ?? [])].filter((n) => n.startsWith('part-')), []);
    server.files.set('/models/onnx/decoder_model_merged.onnx_data', pseudoRandomBytes(10, 99));
    await assert.rejects(load(cache, server), /is 10 bytes but manifest\.json says 4321/);
  });

  for (const quota of [0, 2000]) {
    test(`when the storage is full (${quota} bytes free) the file still loads, and nothing half-stored is kept`, async () => {
      const { cache, server, root, files } = setup({ quota });
      const warnings = [];
      const warn = console.warn;
      console.warn = (message) => warnings.push(String(message));
      try {
        assert.deepEqual((await load(cache, server)).bytes, files.data);
      } finally {
        console.warn = warn;
      }
      assert.match(warnings.join('\n'), /was not cached \(QuotaExceededError/);
      assert.equal(await cache.match(DATA_URL), undefined);
      assert.deepEqual([...(entryDir(root)?.children.keys() ?? [])], []);
    });
  }

  test('files the manifest does not list are left to the network and the fallback cache', async () => {
    const { cache, server } = setup();
    assert.equal(await cache.fetch(`${FOLDER}tokenizer_extra.json`, {}, server.fetch), null);
    assert.equal(await cache.fetch(`${ORIGIN}/other/config.json`, {}, server.fetch), null);
    assert.equal(await cache.match(`${FOLDER}tokenizer_extra.json`), undefined);
    const asked = [];
    cache.fallback = async () => ({ match: async (r) => (asked.push(r), 'from fallback'), put: async () => {} });
    assert.equal(await cache.match(`${FOLDER}tokenizer_extra.json`), 'from fallback');
    assert.equal(await cache.match(DATA_URL), undefined, 'a manifest file went to the fallback');
    assert.deepEqual(asked, [`${FOLDER}tokenizer_extra.json`]);
  });

  test('a relative request (Transformers.js\' local path) resolves against the page', async () => {
    const { cache, server, files } = setup();
    await load(cache, server, '/models/config.json');
    assert.deepEqual(await bytesOf(await cache.match('/models/config.json')), files.config);
  });

  test('list shows each folder and file with its bytes; remove deletes a folder by URL or location', async () => {
    const { cache, server, files } = setup();
    assert.deepEqual(await cache.list(), []);
    await load(cache, server);
    await load(cache, server, `${FOLDER}config.json`);
    const [model, ...others] = await cache.list();
    assert.deepEqual(others, []);
    assert.equal(model.folder, FOLDER);
    assert.equal(model.complete, true);
    assert.equal(model.bytes, files.data.length + files.config.length);
    assert.deepEqual(model.files.map((f) => [f.file, f.bytes, f.complete]).sort(), [['config.json', files.config.length, true], [DATA, files.data.length, true]]);
    assert.equal(await cache.remove('models/'), true);
    assert.deepEqual(await cache.list(), []);
    assert.equal(await cache.remove(FOLDER), false);
    assert.equal((await load(cache, server)).hit, false, 'a removed file was still served from memory');
  });

  test('without a store (no OPFS) nothing is cached and requests pass through', async () => {
    const server = new FakeServer(ORIGIN, folderFiles().served);
    const cache = new lib.ModelCache({ store: async () => null, baseUrl: () => `${ORIGIN}/`, fetch: server.fetch });
    cache.attach(FOLDER);
    assert.equal(await cache.match(DATA_URL), undefined);
    assert.equal(await cache.fetch(DATA_URL, {}, server.fetch), null);
    assert.deepEqual(await cache.list(), []);
  });

  test('manifestFiles reads what manifest.py writes and refuses malformed entries', () => {
    const good = { files: { 'a.onnx': { sha256: 'a'.repeat(64), bytes: 3 } } };
    assert.deepEqual([...lib.manifestFiles(good)], [['a.onnx', { sha256: 'a'.repeat(64), bytes: 3 }]]);
    assert.equal(lib.manifestFiles(null), null);
    assert.equal(lib.manifestFiles({ files: { 'a.onnx': { sha256: 'short', bytes: 3 } } }), null);
    assert.equal(lib.manifestFiles({ files: { 'a.onnx': { sha256: 'a'.repeat(64), bytes: -1 } } }), null);
  });
});
