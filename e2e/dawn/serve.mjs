// Same-origin fetches for the library in Node: what the page's server would answer, read from local
// folders. Nothing else is fetched: a request for another origin fails, so the run cannot reach a network.
// Hand-written rather than a real HTTP server: the library only needs GET, HEAD and byte ranges, and
// a fetch() that never leaves the process keeps the run free of ports.
import { createReadStream, statSync } from 'node:fs';
import { basename, join, normalize } from 'node:path';
import { Readable } from 'node:stream';

/** The page's origin; .test is reserved (RFC 2606), so it can name no real host. */
export const ORIGIN = 'http://vibevoice.test/';

const TYPES = { '.json': 'application/json', '.txt': 'text/plain', '.wav': 'audio/wav' };

function fileFor(pathname, routes) {
  for (const [prefix, target] of Object.entries(routes)) {
    if (!pathname.startsWith(prefix)) continue;
    const rest = decodeURIComponent(pathname.slice(prefix.length));
    if (Array.isArray(target)) return target.find((file) => basename(file) === rest) ?? null;
    const path = normalize(join(target, rest));
    return path.startsWith(normalize(target)) ? path : null;
  }
  return null;
}

function answer(file, method, range) {
  let size;
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return new Response('not a file', { status: 404 });
    size = stat.size;
  } catch {
    return new Response('not found', { status: 404 });
  }
  const headers = { 'content-type': TYPES[file.slice(file.lastIndexOf('.'))] ?? 'application/octet-stream', 'accept-ranges': 'bytes' };
  const match = range && /^bytes=(\d+)-(\d*)$/.exec(range);
  const [start, end] = match ? [Number(match[1]), Math.min(size - 1, match[2] ? Number(match[2]) : size - 1)] : [0, size - 1];
  if (match) headers['content-range'] = `bytes ${start}-${end}/${size}`;
  headers['content-length'] = String(Math.max(0, end - start + 1));
  const status = match ? 206 : 200;
  if (method === 'HEAD' || size === 0) return new Response(null, { status, headers });
  return new Response(Readable.toWeb(createReadStream(file, { start, end })), { status, headers });
}

/** Replaces fetch(): ORIGIN + a route prefix serves a folder (or, for a list, those files by name). */
export function installFetch(routes) {
  const origin = new URL(ORIGIN).origin;
  globalThis.fetch = async (input, init = {}) => {
    const request = input instanceof Request ? input : null;
    const url = new URL(request ? request.url : String(input), ORIGIN);
    const method = (init.method ?? request?.method ?? 'GET').toUpperCase();
    if (url.origin !== origin) throw new TypeError(`fetch ${url.href}: only ${ORIGIN} is served here (no network in this test)`);
    const file = fileFor(url.pathname, routes);
    if (!file) return new Response('not found', { status: 404 });
    return answer(file, method, new Headers(init.headers ?? request?.headers).get('range'));
  };
}
