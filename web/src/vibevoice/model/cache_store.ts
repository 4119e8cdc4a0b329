// Where cached model files live: the origin-private file system (OPFS), which works in a page and in a
// Worker, holds multi-GB files on disk (not in memory), and can be written in pieces, which the Cache
// API cannot (a Cache entry is one whole Response, so an interrupted download could not be resumed).
//
// Layout under navigator.storage.getDirectory():
//   vibevoice-asr-cache/<encodeURIComponent(folder URL)>/<encodeURIComponent(file)>/meta.json
//                                                                                /part-000000, part-000001, ...
// A file is stored as parts of at most `partBytes` bytes, each written by its own writable stream and
// committed by close(): a download killed mid-part loses that part only (the browser drops an
// unclosed writable), so the parts on disk are always a prefix of the file, where the next download
// resumes. Read back, the parts are one disk-backed Blob.

/** The part of FileSystemDirectoryHandle this module uses (typed here so tests can pass a fake). */
export interface DirHandle {
  getDirectoryHandle(name: string, options?: { create?: boolean }): Promise<DirHandle>;
  getFileHandle(name: string, options?: { create?: boolean }): Promise<FileHandleLike>;
  removeEntry(name: string, options?: { recursive?: boolean }): Promise<void>;
  keys(): AsyncIterableIterator<string>;
}

export interface FileHandleLike {
  getFile(): Promise<File>;
  createWritable(): Promise<WritableLike>;
}

export interface WritableLike {
  write(data: Uint8Array | string): Promise<void>;
  close(): Promise<void>;
  abort?(reason?: unknown): Promise<void>;
}

/** What meta.json says about one stored file: the manifest entry it was downloaded for, and the server's validator. */
export interface EntryMeta {
  file: string;
  bytes: number;
  sha256: string;
  /** The server's ETag for the bytes stored, so a resumed download can ask for the same version. */
  etag: string | null;
  /** All parts are stored and their sha256 matched `sha256` when downloaded. */
  complete: boolean;
}

export const CACHE_DIRECTORY = 'vibevoice-asr-cache';
const META = 'meta.json';
const PART = /^part-(\d{6})$/;

function notFound(error: unknown): boolean {
  return (error as { name?: string } | null)?.name === 'NotFoundError' || (error as { name?: string } | null)?.name === 'TypeMismatchError';
}

async function names(dir: DirHandle): Promise<string[]> {
  const out: string[] = [];
  for await (const name of dir.keys()) out.push(name);
  return out.sort();
}

export function partName(index: number): string {
  return `part-${String(index).padStart(6, '0')}`;
}

/** One stored file: its meta.json and its parts. */
export class Entry {
  constructor(
    readonly folder: string,
    readonly file: string,
    private readonly dir: DirHandle,
  ) {}

  async meta(): Promise<EntryMeta | null> {
    try {
      const text = await (await (await this.dir.getFileHandle(META)).getFile()).text();
      const meta = JSON.parse(text) as EntryMeta;
      return typeof meta.sha256 === 'string' && Number.isInteger(meta.bytes) ? meta : null;
    } catch {
      return null; // absent, or torn by a crash: the entry starts over
    }
  }

  async writeMeta(meta: EntryMeta): Promise<void> {
    const writable = await (await this.dir.getFileHandle(META, { create: true })).createWritable();
    await writable.write(JSON.stringify(meta));
    await writable.close();
  }

  /** The committed parts, in order; a gap (a missing index) ends the usable prefix. */
  async parts(): Promise<File[]> {
    const indices = (await names(this.dir)).flatMap((name) => (PART.test(name) ? [Number(PART.exec(name)![1])] : []));
    const files: File[] = [];
    for (let i = 0; indices.includes(i); i++) files.push(await (await this.dir.getFileHandle(partName(i))).getFile());
    return files;
  }

  async newPart(index: number): Promise<WritableLike> {
    return (await this.dir.getFileHandle(partName(index), { create: true })).createWritable();
  }

  /** Removes the parts and meta.json, keeping the (empty) entry. */
  async clear(): Promise<void> {
    for (const name of await names(this.dir)) await this.dir.removeEntry(name, { recursive: true });
  }
}

/** The cache's folder in OPFS: one sub-folder per model folder URL, one per file inside it. */
export class CacheStore {
  constructor(private readonly root: DirHandle) {}

  /** The store in this origin's OPFS, or null where there is none (old browsers, some private modes). */
  static async open(): Promise<CacheStore | null> {
    const storage = (globalThis.navigator as { storage?: { getDirectory?: () => Promise<unknown> } } | undefined)?.storage;
    if (typeof storage?.getDirectory !== 'function') return null;
    // Writable streams on OPFS files came later than OPFS itself (Safari had only Worker sync handles).
    const handle = (globalThis as { FileSystemFileHandle?: { prototype: Partial<FileHandleLike> } }).FileSystemFileHandle;
    if (typeof handle?.prototype.createWritable !== 'function') return null;
    try {
      const opfs = (await storage.getDirectory()) as DirHandle;
      return new CacheStore(await opfs.getDirectoryHandle(CACHE_DIRECTORY, { create: true }));
    } catch {
      return null; // e.g. SecurityError where storage is blocked
    }
  }

  /** Folder URLs that have anything stored. */
  async folders(): Promise<string[]> {
    return (await names(this.root)).map(decodeURIComponent);
  }

  /** Files stored (wholly or in part) for one folder URL. */
  async files(folder: string): Promise<string[]> {
    const dir = await this.folderDir(folder, false);
    return dir ? (await names(dir)).map(decodeURIComponent) : [];
  }

  async entry(folder: string, file: string, create: boolean): Promise<Entry | null> {
    const dir = await this.folderDir(folder, create);
    if (!dir) return null;
    try {
      return new Entry(folder, file, await dir.getDirectoryHandle(encodeURIComponent(file), { create }));
    } catch (error) {
      if (notFound(error)) return null;
      throw error;
    }
  }

  async removeFile(folder: string, file: string): Promise<void> {
    const dir = await this.folderDir(folder, false);
    await dir?.removeEntry(encodeURIComponent(file), { recursive: true }).catch((error) => {
      if (!notFound(error)) throw error;
    });
  }

  /** Removes everything stored for a folder URL; false when nothing was. */
  async removeFolder(folder: string): Promise<boolean> {
    try {
      await this.root.removeEntry(encodeURIComponent(folder), { recursive: true });
      return true;
    } catch (error) {
      if (notFound(error)) return false;
      throw error;
    }
  }

  private async folderDir(folder: string, create: boolean): Promise<DirHandle | null> {
    try {
      return await this.root.getDirectoryHandle(encodeURIComponent(folder), { create });
    } catch (error) {
      if (notFound(error)) return null;
      throw error;
    }
  }
}
