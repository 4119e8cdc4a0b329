// Fakes for the model cache's tests: an in-memory origin-private file system with the browser's
// commit-on-close writables, and a file server that answers Range/If-Range/ETag like serve.py and
// can cut a body short.
import { createHash } from 'node:crypto';

function domError(name) {
  const error = new Error(name);
  error.name = name;
  return error;
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

export class FakeFileHandle {
  bytes = new Uint8Array(0);
  lastModified = 1;

  constructor(storage) {
    this.storage = storage;
  }

  async getFile() {
    return new File([this.bytes], 'file', { lastModified: this.lastModified });
  }

  /** Like Chrome's: starts empty, and only close() makes the written bytes the file's. */
  async createWritable() {
    const chunks = [];
    const storage = this.storage;
    return {
      write: async (data) => {
        const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data);
        if (storage.used + bytes.length > storage.quota) throw domError('QuotaExceededError');
        storage.used += bytes.length;
        chunks.push(bytes.slice());
      },
      close: async () => {
        this.bytes = concat(chunks);
        this.lastModified++;
      },
      abort: async () => {},
    };
  }
}

export class FakeDir {
  children = new Map();

  constructor(storage = { used: 0, quota: Infinity }) {
    this.storage = storage;
  }

  async getDirectoryHandle(name, { create = false } = {}) {
    let child = this.children.get(name);
    if (!child) {
      if (!create) throw domError('NotFoundError');
      child = new FakeDir(this.storage);
      this.children.set(name, child);
    }
    if (!(child instanceof FakeDir)) throw domError('TypeMismatchError');
    return child;
  }

  async getFileHandle(name, { create = false } = {}) {
    let child = this.children.get(name);
    if (!child) {
      if (!create) throw domError('NotFoundError');
      child = new FakeFileHandle(this.storage);
      this.children.set(name, child);
    }
    if (!(child instanceof FakeFileHandle)) throw domError('TypeMismatchError');
    return child;
  }

  async removeEntry(name) {
    if (!this.children.delete(name)) throw domError('NotFoundError');
  }

  async *keys() {
    yield* [...this.children.keys()];
  }

  /** A handle by path ("a/b/c"), for tests that reach into the store. */
  at(path) {
    return path.split('/').reduce((dir, name) => dir?.children.get(name), this);
  }
}

export function sha256Hex(bytes) {
  return createHash('sha256').update(bytes).digest('hex');
}

export function pseudoRandomBytes(n, seed = 1) {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/**
 * A server of `files` (path -> bytes) at `origin`. `cutAfter` (path -> bytes) ends that file's next
 * body with a network error after so many bytes; `requests` logs what was asked.
 */
export class FakeServer {
  requests = [];
  cutAfter = new Map();
  chunk = 700;

  constructor(origin, files, etag = '"v1"') {
    this.origin = origin;
    this.files = new Map(Object.entries(files));
    this.etag = etag;
    this.fetch = this.fetch.bind(this);
  }

  async fetch(input, init = {}) {
    const url = new URL(String(input));
    const headers = new Headers(init.headers);
    const path = decodeURIComponent(url.pathname);
    this.requests.push({ path, method: init.method ?? 'GET', range: headers.get('Range'), ifRange: headers.get('If-Range') });
    const bytes = this.files.get(path);
    if (!bytes) return new Response('not found', { status: 404 });
    const common = { ETag: this.etag, 'Accept-Ranges': 'bytes' };
    const range = /^bytes=(\d+)-$/.exec(headers.get('Range') ?? '');
    const ifRange = headers.get('If-Range');
    if (range && (ifRange === null || ifRange === this.etag)) {
      const start = Number(range[1]);
      return new Response(this.body(path, bytes.subarray(start)), {
        status: 206,
        headers: { ...common, 'Content-Length': String(bytes.length - start), 'Content-Range': `bytes ${start}-${bytes.length - 1}/${bytes.length}` },
      });
    }
    return new Response(this.body(path, bytes), { status: 200, headers: { ...common, 'Content-Length': String(bytes.length) } });
  }

  body(path, bytes) {
    const cut = this.cutAfter.get(path);
    this.cutAfter.delete(path);
    let offset = 0;
    const chunk = this.chunk;
    return new ReadableStream({
      pull(controller) {
        if (cut !== undefined && offset >= cut) {
          controller.error(new TypeError('network error'));
          return;
        }
        if (offset >= bytes.length) {
          controller.close();
          return;
        }
        const end = Math.min(bytes.length, offset + chunk, cut ?? Infinity);
        controller.enqueue(bytes.slice(offset, end));
        offset = end;
      },
    });
  }

  /** Requests for `path` that were GETs of its bytes (not the manifest, not HEADs). */
  gets(path) {
    return this.requests.filter((r) => r.path === path && r.method === 'GET');
  }
}
