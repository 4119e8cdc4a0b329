// One model file downloaded into the cache while Transformers.js reads it: a single pass that hashes
// the bytes, writes them to OPFS in parts and hands them on. An interrupted download resumes where
// its committed parts end, with `Range: bytes=N-` (and `If-Range: <ETag>` on the page's own origin);
// the consumer gets the stored prefix replayed from disk, then the rest from the network. At the end
// the size and sha256 must be manifest.json's, or nothing is kept.
//
// sha256 comes from hash-wasm, a maintained streaming implementation: crypto.subtle.digest takes the
// whole input at once, and a 2 GB data file must not be held twice in memory to be hashed.
import { createSHA256, type IHasher } from 'hash-wasm';
import { VibeVoiceError } from '../errors';
import type { Entry, EntryMeta, WritableLike } from './cache_store';

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** A file's entry in manifest.json. */
export interface ManifestFile {
  sha256: string;
  bytes: number;
}

export interface DownloadTarget {
  url: string;
  file: string;
  expected: ManifestFile;
}

export interface DownloadOptions {
  fetch: Fetch;
  init?: RequestInit;
  partBytes: number;
  /** If-Range only on the page's own origin: elsewhere it is not a CORS-safelisted header, and the Hub's storage may refuse the preflight. */
  sameOrigin: boolean;
  /** The file is stored whole and its sha256 matched; `signature` identifies the parts as written. */
  onStored?: (signature: string) => void;
}

/** What identifies a stored file's bytes on disk (sizes and write times of its parts). */
export function partsSignature(parts: File[], sha256: string): string {
  return `${sha256}:${parts.map((p) => `${p.size}@${p.lastModified}`).join(',')}`;
}

export async function sha256Of(blob: Blob): Promise<string> {
  const hasher = await createSHA256();
  hasher.init();
  const reader = blob.stream().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return hasher.digest('hex');
    hasher.update(value);
  }
}

/** Writes a byte stream as parts of at most `partBytes`; a write failure (e.g. the storage quota) stops the caching, not the download. */
class PartWriter {
  private writable: WritableLike | null = null;
  private inPart = 0;
  failure: unknown;

  constructor(
    private readonly entry: Entry | null,
    private index: number,
    private readonly partBytes: number,
    failure: unknown,
  ) {
    this.failure = failure;
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) return;
    try {
      for (let offset = 0; offset < chunk.length; ) {
        if (!this.writable) {
          this.writable = await this.entry!.newPart(this.index);
          this.inPart = 0;
        }
        const n = Math.min(chunk.length - offset, this.partBytes - this.inPart);
        await this.writable.write(chunk.subarray(offset, offset + n));
        this.inPart += n;
        offset += n;
        if (this.inPart === this.partBytes) await this.commit();
      }
    } catch (error) {
      this.failure = error;
      const writable = this.writable;
      this.writable = null;
      await writable?.abort?.(error).catch(() => undefined);
    }
  }

  /** Closes the open part, which commits it (an unclosed one is dropped by the browser). */
  async commit(): Promise<void> {
    const writable = this.writable;
    if (!writable) return;
    this.writable = null;
    this.index++;
    await writable.close();
  }
}

function total(parts: File[]): number {
  return parts.reduce((n, p) => n + p.size, 0);
}

function contentLength(response: Response): number | null {
  // A compressed body's Content-Length counts compressed bytes; only an identity one is the file's size.
  const encoding = response.headers.get('Content-Encoding');
  const length = response.headers.get('Content-Length');
  return length !== null && (!encoding || encoding === 'identity') ? Number(length) : null;
}

/** One download of one file into its entry, read chunk by chunk by the body stream. */
class DownloadRun {
  private received = 0;
  private replay: ReadableStreamDefaultReader<Uint8Array> | null;
  private network: ReadableStreamDefaultReader<Uint8Array> | null;

  private constructor(
    private readonly entry: Entry | null,
    private readonly target: DownloadTarget,
    private readonly options: DownloadOptions,
    private readonly meta: EntryMeta,
    private readonly hasher: IHasher,
    private readonly writer: PartWriter,
    stored: File[],
    response: Response | null,
  ) {
    this.replay = stored.length ? new Blob(stored).stream().getReader() : null;
    this.network = response?.body?.getReader() ?? null;
  }

  /** What of the file is stored and usable for a resume; anything else there is cleared. */
  private static async stored(entry: Entry, expected: ManifestFile): Promise<{ meta: EntryMeta | null; parts: File[] }> {
    const meta = await entry.meta();
    // An unfinished download of this version; a finished one is downloaded again only when it was found bad.
    if (meta && !meta.complete && meta.sha256 === expected.sha256 && meta.bytes === expected.bytes) {
      const parts = await entry.parts();
      if (total(parts) <= expected.bytes) return { meta, parts };
    }
    await entry.clear();
    return { meta: null, parts: [] };
  }

  /**
   * Requests what is not stored yet. A storage failure (no room, storage blocked) is kept as the
   * writer's failure: the file then loads from the network and is not cached.
   */
  static async start(entryOf: () => Promise<Entry>, target: DownloadTarget, options: DownloadOptions): Promise<DownloadRun> {
    const { expected } = target;
    let entry: Entry | null = null;
    let failure: unknown = null;
    let prior: { meta: EntryMeta | null; parts: File[] } = { meta: null, parts: [] };
    try {
      entry = await entryOf();
      prior = await DownloadRun.stored(entry, expected);
    } catch (error) {
      failure = error;
    }
    const { meta } = prior;
    let { parts } = prior;
    let response: Response | null = null;
    if (total(parts) < expected.bytes) {
      response = await DownloadRun.request(target, options, total(parts), meta?.etag ?? null);
      if (parts.length && !DownloadRun.resumes(response, total(parts), expected.bytes, meta?.etag ?? null)) {
        // The server sent the whole file (it changed, or ignores Range) or something unusable: start over.
        if (response.status !== 200) {
          await response.body?.cancel().catch(() => undefined);
          response = await DownloadRun.request(target, options, 0, null);
        }
        parts = [];
        failure ??= await entry!.clear().then(() => null, (error: unknown) => error);
      }
      DownloadRun.check(response, target, parts.length > 0);
    }
    const etag = response?.headers.get('ETag') ?? meta?.etag ?? null;
    const fresh: EntryMeta = { file: target.file, bytes: expected.bytes, sha256: expected.sha256, etag, complete: false };
    failure ??= await entry!.writeMeta(fresh).then(() => null, (error: unknown) => error);
    const hasher = await createSHA256();
    hasher.init();
    const writer = new PartWriter(entry, parts.length, options.partBytes, failure);
    return new DownloadRun(entry, target, options, fresh, hasher, writer, parts, response);
  }

  private static request(target: DownloadTarget, options: DownloadOptions, from: number, etag: string | null): Promise<Response> {
    const headers = new Headers(options.init?.headers);
    if (from > 0) {
      headers.set('Range', `bytes=${from}-`);
      if (etag && options.sameOrigin) headers.set('If-Range', etag);
    }
    // no-store: this cache holds the file; the HTTP cache would keep a second copy.
    return options.fetch(target.url, { ...options.init, headers, cache: 'no-store' });
  }

  /** A 206 that continues exactly where the stored parts end, of the same version when the server names one. */
  private static resumes(response: Response, from: number, bytes: number, etag: string | null): boolean {
    if (response.status !== 206) return false;
    if (response.headers.get('Content-Range')?.replace(/\s+/g, ' ').trim() !== `bytes ${from}-${bytes - 1}/${bytes}`) return false;
    const now = response.headers.get('ETag');
    return !etag || !now || now === etag;
  }

  private static check(response: Response, target: DownloadTarget, resumed: boolean): void {
    if (!(response.status === 200 || (resumed && response.status === 206))) {
      // "Could not locate file" is what classifyError reads as a download failure.
      throw new Error(`Could not locate file: HTTP ${response.status} for ${target.url}`);
    }
    const length = response.status === 200 ? contentLength(response) : null;
    if (length !== null && length !== target.expected.bytes) {
      throw new VibeVoiceError(
        'download-failed',
        `${target.url} is ${length} bytes but manifest.json says ${target.expected.bytes}: the folder changed after its ` +
          'manifest was written; export or upload the folder again.',
      );
    }
  }

  /** The next chunk of the file (stored prefix first), or null at its end. */
  async next(): Promise<Uint8Array | null> {
    if (this.replay) {
      const { done, value } = await this.replay.read();
      if (!done) return this.take(value);
      this.replay = null;
    }
    if (this.network) {
      const { done, value } = await this.network.read();
      if (!done) {
        this.take(value);
        await this.writer.write(value); // before handing it on: the consumer may transfer the buffer
        return value;
      }
      this.network = null;
    }
    return null;
  }

  private take(chunk: Uint8Array): Uint8Array {
    this.received += chunk.length;
    if (this.received > this.target.expected.bytes) {
      throw new VibeVoiceError(
        'download-failed',
        `${this.target.url} is longer than the ${this.target.expected.bytes} bytes manifest.json says: export or upload the folder again.`,
      );
    }
    this.hasher.update(chunk);
    return chunk;
  }

  /** After the last chunk: keep the file if it is the manifest's, else drop it and fail the read. */
  async finish(): Promise<void> {
    const { url, expected } = this.target;
    await this.writer.commit().catch((error) => (this.writer.failure ??= error));
    if (this.received < expected.bytes) {
      // A cut connection can end a body early: the parts so far are kept for the next try.
      throw new Error(`Could not locate file: the download of ${url} ended after ${this.received} of ${expected.bytes} bytes; load again to resume it.`);
    }
    const sha256 = this.hasher.digest('hex');
    if (sha256 !== expected.sha256) {
      await this.entry?.clear().catch(() => undefined);
      throw new VibeVoiceError(
        'download-failed',
        `${url} does not match manifest.json (sha256 ${sha256}, expected ${expected.sha256}): the server's copy is damaged or ` +
          'differs from its manifest; export or upload the folder again.',
      );
    }
    try {
      if (this.writer.failure) throw this.writer.failure;
      await this.entry!.writeMeta({ ...this.meta, complete: true });
      this.options.onStored?.(partsSignature(await this.entry!.parts(), sha256));
    } catch (error) {
      // The bytes are good and handed on; only keeping them failed.
      console.warn(`vibevoice: ${this.target.file} was not cached (${String(error)}); it downloads again next time.`);
      await this.entry?.clear().catch(() => undefined);
    }
  }

  /** The read stopped early (error or cancel): commit what was written, so the next download resumes there. */
  async interrupt(reason: unknown): Promise<void> {
    await this.network?.cancel(reason).catch(() => undefined);
    this.network = null;
    await this.writer.commit().catch(() => undefined);
  }
}

/** The file's body: nothing starts until the first read, so a response only looked at for its headers costs nothing. */
export function cachingBody(entry: () => Promise<Entry>, target: DownloadTarget, options: DownloadOptions): ReadableStream<Uint8Array> {
  let run: DownloadRun | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          run ??= await DownloadRun.start(entry, target, options);
          const chunk = await run.next();
          if (chunk) controller.enqueue(chunk);
          else {
            await run.finish();
            controller.close();
          }
        } catch (error) {
          await run?.interrupt(error);
          throw error;
        }
      },
      async cancel(reason) {
        await run?.interrupt(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
