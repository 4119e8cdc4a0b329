// The model cache: artifact files kept across visits in OPFS (cache_store.ts), for same-origin folders
// and Hub repos alike, and checked against the folder's manifest.json when they are read back: a file
// whose size or sha256 is not the manifest's is deleted and downloaded again. Transformers.js 4.3.1
// asks it before every file (env.customCache); on a miss its request comes through fetch.ts, which
// hands manifest-listed files to `fetch` below: a download that is stored as it is read and resumes
// if it was cut (cache_download.ts). No DOM: it runs in a page or a Worker.
//
//   await listCachedModels();            // [{ folder, bytes, complete, files: [{ file, bytes, ... }] }]
//   await deleteCachedModel(folder);     // a folder URL from the list, or a model location ("models/")
import { cachingBody, partsSignature, sha256Of, type Fetch, type ManifestFile } from './cache_download';
import { CacheStore, type Entry } from './cache_store';
import { resolveModelLocation } from './location';

export type { ManifestFile } from './cache_download';

/** The part of the Cache API (and of Transformers.js' CacheInterface) a fallback cache needs. */
export interface CacheLike {
  match(request: string): Promise<unknown>;
  put(request: string, response: Response): Promise<void>;
}

export interface CachedFile {
  /** The path inside the folder, as manifest.json names it. */
  file: string;
  /** Bytes stored (less than `expectedBytes` while a download is unfinished). */
  bytes: number;
  expectedBytes: number | null;
  complete: boolean;
}

export interface CachedModel {
  /** The folder's URL (a Hub repo's resolve/<revision>/ URL); pass it to deleteCachedModel. */
  folder: string;
  bytes: number;
  /** Every stored file is whole (files never requested, e.g. other dtypes, are not counted). */
  complete: boolean;
  files: CachedFile[];
}

export interface ModelCacheOptions {
  /** Where files are stored; null turns caching off (the default: this origin's OPFS, where there is one). */
  store?: () => Promise<CacheStore | null>;
  /** Largest part a file is stored in; a download cut mid-part loses that part (default 64 MiB). */
  partBytes?: number;
  /** What relative requests resolve against (default: the page's or the Worker's URL). */
  baseUrl?: () => string;
  /** What fetches manifest.json (default: globalThis.fetch). */
  fetch?: Fetch;
}

const PART_BYTES = 64 << 20;
const SHA256 = /^[0-9a-f]{64}$/;

/** manifest.json's `files` (as artifact/manifest.py writes them), or null when it has none that are well formed. */
export function manifestFiles(manifest: unknown): Map<string, ManifestFile> | null {
  const files = (manifest as { files?: unknown } | null)?.files;
  if (!files || typeof files !== 'object') return null;
  const out = new Map<string, ManifestFile>();
  for (const [name, entry] of Object.entries(files as Record<string, unknown>)) {
    const { sha256, bytes } = (entry ?? {}) as Partial<ManifestFile>;
    if (typeof sha256 !== 'string' || !SHA256.test(sha256) || !Number.isInteger(bytes) || bytes! < 0) return null;
    out.set(name, { sha256, bytes: bytes! });
  }
  return out;
}

async function fetchManifest(folder: string, fetchImpl: Fetch): Promise<Record<string, unknown> | null> {
  try {
    const response = await fetchImpl(`${folder}manifest.json`, { cache: 'no-cache' });
    return response.ok ? ((await response.json()) as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function defaultBaseUrl(): string {
  return globalThis.location?.href ?? 'http://localhost/';
}

interface Located {
  folder: string;
  file: string;
  url: string;
  expected: ManifestFile;
}

export class ModelCache {
  private readonly manifests = new Map<string, Promise<Record<string, unknown> | null>>();
  /** Files whose sha256 was checked in this session, by folder, file and parts signature. */
  private readonly checked = new Map<string, Promise<boolean>>();
  private readonly storeOf: () => Promise<CacheStore | null>;
  private readonly partBytes: number;
  private readonly baseUrl: () => string;
  private readonly fetchImpl: Fetch;
  private storePromise: Promise<CacheStore | null> | null = null;
  /** Where files the cache does not keep (not in a manifest) are looked up and put, e.g. the Cache API for Hub repos. */
  fallback: (() => Promise<CacheLike | null>) | null = null;

  constructor(options: ModelCacheOptions = {}) {
    this.storeOf = options.store ?? CacheStore.open;
    this.partBytes = options.partBytes ?? PART_BYTES;
    this.baseUrl = options.baseUrl ?? defaultBaseUrl;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  /** Starts reading the folder's manifest.json (again: a re-exported folder is seen on the next load). */
  attach(folder: string): Promise<Record<string, unknown> | null> {
    const manifest = fetchManifest(folder, this.fetchImpl);
    this.manifests.set(folder, manifest);
    return manifest;
  }

  /** The folder's manifest.json, or null when it has none. */
  manifest(folder: string): Promise<Record<string, unknown> | null> {
    return this.manifests.get(folder) ?? this.attach(folder);
  }

  // --------------------------------------------------------------- Transformers.js' CacheInterface

  /** The stored file, when it is whole and its size and sha256 are the manifest's; otherwise undefined (and a bad copy is deleted). */
  async match(request: string): Promise<Response | undefined> {
    const where = await this.locate(request);
    if (!where) return (await this.fallbackCache())?.match(request) as Promise<Response | undefined>;
    const store = await this.store();
    const entry = await store?.entry(where.folder, where.file, false);
    if (!store || !entry) return undefined;
    const blob = await this.readBack(store, entry, where);
    return blob ? fileResponse(blob, where.expected.bytes) : undefined;
  }

  /** Files are stored while they download (see fetch()); only the fallback gets puts. */
  async put(request: string, response: Response): Promise<void> {
    if (await this.locate(request)) return;
    await (await this.fallbackCache())?.put(request, response);
  }

  async delete(request: string): Promise<boolean> {
    const where = await this.locate(request);
    const store = await this.store();
    if (!where || !store) return false;
    await store.removeFile(where.folder, where.file);
    return true;
  }

  // --------------------------------------------------------------- downloads (through fetch.ts)

  /**
   * The response for a GET of a manifest-listed file, or null for any other request. Its headers come
   * from the manifest (no request is made for them); its body, once read, is the stored copy's bytes
   * followed by the rest from the network, saved as they pass.
   */
  async fetch(url: string, init: RequestInit | undefined, fetchImpl: Fetch): Promise<Response | null> {
    const where = await this.locate(url);
    const store = where && (await this.store());
    if (!where || !store) return null;
    const key = checkKey(where);
    const body = cachingBody(async () => (await store.entry(where.folder, where.file, true))!, where, {
      fetch: fetchImpl,
      init,
      partBytes: this.partBytes,
      sameOrigin: new URL(where.url).origin === new URL(this.baseUrl()).origin,
      onStored: (signature) => this.checked.set(`${key}\n${signature}`, Promise.resolve(true)),
    });
    return fileResponse(body, where.expected.bytes);
  }

  // --------------------------------------------------------------- listing and removal

  async list(): Promise<CachedModel[]> {
    const store = await this.store();
    if (!store) return [];
    const models: CachedModel[] = [];
    for (const folder of await store.folders()) {
      const files: CachedFile[] = [];
      for (const file of await store.files(folder)) {
        const entry = await store.entry(folder, file, false);
        if (!entry) continue;
        const [meta, parts] = await Promise.all([entry.meta(), entry.parts()]);
        const bytes = parts.reduce((n, p) => n + p.size, 0);
        files.push({ file, bytes, expectedBytes: meta?.bytes ?? null, complete: Boolean(meta?.complete) && bytes === meta?.bytes });
      }
      models.push({ folder, bytes: files.reduce((n, f) => n + f.bytes, 0), complete: files.every((f) => f.complete), files });
    }
    return models;
  }

  /** Deletes what is stored for a folder (its URL from list(), or a model location); false when nothing was. */
  async remove(location: string): Promise<boolean> {
    const store = await this.store();
    if (!store) return false;
    const folders = await store.folders();
    const folder = folders.includes(location) ? location : resolveModelLocation(location, this.baseUrl()).baseUrl;
    for (const key of this.checked.keys()) if (key.startsWith(`${folder}\n`)) this.checked.delete(key);
    return store.removeFolder(folder);
  }

  // --------------------------------------------------------------- internals

  private store(): Promise<CacheStore | null> {
    this.storePromise ??= this.storeOf().catch(() => null);
    return this.storePromise;
  }

  private async fallbackCache(): Promise<CacheLike | null> {
    return (await this.fallback?.().catch(() => null)) ?? null;
  }

  /** The attached folder (the longest that contains the URL) and the manifest entry of a request, if it has one. */
  private async locate(request: string): Promise<Located | null> {
    let url: URL;
    try {
      url = new URL(request, this.baseUrl());
    } catch {
      return null;
    }
    const href = `${url.origin}${url.pathname}`;
    const folders = [...this.manifests.keys()].filter((f) => href.startsWith(f)).sort((a, b) => b.length - a.length);
    for (const folder of folders) {
      const file = decodeURIComponent(href.slice(folder.length));
      const expected = manifestFiles(await this.manifests.get(folder))?.get(file);
      if (expected) return { folder, file, url: url.href, expected };
    }
    return null;
  }

  /** The stored bytes when whole and the manifest's (sizes first, then sha256, once per session); a bad copy is deleted. */
  private async readBack(store: CacheStore, entry: Entry, where: Located): Promise<Blob | null> {
    const meta = await entry.meta();
    if (!meta?.complete) return null; // unfinished: the next download resumes it
    const parts = await entry.parts();
    const bytes = parts.reduce((n, p) => n + p.size, 0);
    const { expected } = where;
    if (meta.sha256 !== expected.sha256 || meta.bytes !== expected.bytes || bytes !== expected.bytes) {
      await store.removeFile(where.folder, where.file); // another version of the folder, or truncated
      return null;
    }
    const blob = new Blob(parts);
    const key = `${checkKey(where)}\n${partsSignature(parts, expected.sha256)}`;
    let check = this.checked.get(key);
    if (!check) {
      check = sha256Of(blob).then((sha256) => sha256 === expected.sha256);
      this.checked.set(key, check);
    }
    if (await check) return blob;
    this.checked.delete(key);
    console.warn(`vibevoice: the cached ${where.file} fails its sha256 check against manifest.json; downloading it again.`);
    await store.removeFile(where.folder, where.file);
    return null;
  }
}

function checkKey(where: Located): string {
  return `${where.folder}\n${where.file}`;
}

function fileResponse(body: Blob | ReadableStream<Uint8Array>, bytes: number): Response {
  return new Response(body, { status: 200, headers: { 'Content-Length': String(bytes), 'Content-Type': 'application/octet-stream' } });
}

/** The library's cache (this origin's OPFS). */
export const modelCache = new ModelCache();

/** Models cached in this origin, with the bytes stored per file. */
export function listCachedModels(): Promise<CachedModel[]> {
  return modelCache.list();
}

/** Deletes a cached model: its folder URL from listCachedModels(), or the location it was loaded from. */
export function deleteCachedModel(location: string): Promise<boolean> {
  return modelCache.remove(location);
}
