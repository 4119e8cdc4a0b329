// Model-file requests for same-origin folders. Transformers.js 4.3.1, when given a progress
// callback, first GETs every file of a local model only to read its headers and never reads or
// cancels those bodies; each large file then holds an HTTP/1.1 connection until garbage collection
// and, with six or more, every later request stalls (the browser's per-host limit). Here such a
// GET becomes a HEAD (for the headers) plus a body that is fetched only when someone reads it.
// A file manifest.json lists (same-origin or Hub) goes to the model cache instead, whose response
// takes its headers from the manifest (no HEAD) and whose body is stored as it downloads (cache.ts).
import { env } from '@huggingface/transformers';
import { modelCache } from './cache';
import type { Fetch } from './cache_download';
import type { ModelSource } from './location';

const localBases = new Set<string>();
let original: Fetch | null = null;

function requestUrl(input: string | URL | Request): string {
  if (input instanceof Request) return input.url;
  return new URL(String(input), globalThis.location?.href).href; // a page's or a Worker's location; no DOM
}

function lazyBody(url: string, init: RequestInit | undefined, fetchImpl: Fetch): ReadableStream<Uint8Array> {
  let reader: ReadableStreamDefaultReader<Uint8Array> | null = null;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (!reader) {
          const response = await fetchImpl(url, init);
          if (!response.ok || !response.body) {
            controller.error(new Error(`Could not locate file: HTTP ${response.status} for ${url}`));
            return;
          }
          reader = response.body.getReader();
        }
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      },
      cancel(reason) {
        return reader?.cancel(reason);
      },
    },
    { highWaterMark: 0 }, // never pull before a read: an unread body costs nothing
  );
}

async function routedFetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  const fetchImpl = original!;
  const url = requestUrl(input);
  const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
  const ranged = new Headers(init?.headers).has('Range');
  if (method !== 'GET' || ranged) return fetchImpl(input, init);
  const cached = await modelCache.fetch(url, init, fetchImpl);
  if (cached) return cached;
  if (![...localBases].some((base) => url.startsWith(base))) return fetchImpl(input, init);
  const head = await fetchImpl(url, { ...init, method: 'HEAD' });
  if (!head.ok) return head;
  return new Response(lazyBody(url, init, fetchImpl), { status: head.status, statusText: head.statusText, headers: head.headers });
}

/** Sends Transformers.js' requests through the model cache, and those for a same-origin folder's other files through the lazy-body fetch. */
export function routeModelFetches(source: ModelSource): void {
  if (source.kind === 'local') localBases.add(source.baseUrl);
  if (!original) {
    original = (env.fetch as Fetch | undefined) ?? globalThis.fetch.bind(globalThis);
    (env as { fetch: Fetch }).fetch = routedFetch;
  }
}
