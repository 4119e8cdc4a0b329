// Where an artifact folder lives: a folder on the page's own origin (the default, e.g. "models/"),
// or a Hugging Face Hub repo id ("org/name", or its https://huggingface.co/org/name URL).
import { VibeVoiceError } from '../errors';

export type ModelSource =
  | {
      kind: 'local';
      /** What Transformers.js gets as `pretrained_model_name_or_path`: the folder's absolute path ("/models"). */
      id: string;
      /** The folder's absolute URL, with a trailing slash. */
      baseUrl: string;
    }
  | { kind: 'hub'; id: string; revision: string; baseUrl: string };

const HUB_ID = /^[A-Za-z0-9][\w.-]*\/[A-Za-z0-9][\w.-]*$/;
const HUB_HOSTS = ['huggingface.co', 'hf.co'];
export const HUB_HOST = 'https://huggingface.co/';

function hub(id: string, revision: string): ModelSource {
  if (id.includes('..') || id.includes('--') || id.endsWith('.git')) {
    throw new VibeVoiceError('bad-location', `"${id}" is not a valid Hugging Face repo id.`);
  }
  return { kind: 'hub', id, revision, baseUrl: `${HUB_HOST}${id}/resolve/${encodeURIComponent(revision)}/` };
}

/**
 * Reads a model location. "org/name" is a Hub repo id; anything else is a URL or path resolved
 * against the page, and must be on the page's own origin. Write relative folders as "models/" or
 * "./models" (a trailing slash or leading "./" keeps "a/b" from reading as a repo id).
 */
export function resolveModelLocation(location: string, pageUrl: string, revision = 'main'): ModelSource {
  const text = location.trim();
  if (!text) throw new VibeVoiceError('bad-location', 'No model location given: enter a folder URL such as "models/" or a Hub repo id.');
  if (HUB_ID.test(text)) return hub(text, revision);
  let url: URL;
  try {
    url = new URL(text, pageUrl);
  } catch {
    throw new VibeVoiceError('bad-location', `"${text}" is neither a URL nor a Hugging Face repo id ("org/name").`);
  }
  if (HUB_HOSTS.includes(url.hostname)) {
    const [org, name, ...rest] = url.pathname.split('/').filter(Boolean);
    const rev = rest[0] === 'tree' || rest[0] === 'resolve' ? rest[1] ?? revision : revision;
    if (org && name) return hub(`${org}/${name}`, rev);
  }
  const page = new URL(pageUrl);
  if (url.origin !== page.origin) {
    throw new VibeVoiceError(
      'bad-location',
      `Model files must come from this page's origin (${page.origin}) or the Hugging Face Hub; ${url.origin} is neither. ` +
        'Serve the artifact folder from this server (e.g. `bazel run //web:serve -- --model-dir DIR` serves it at models/).',
    );
  }
  const path = url.pathname.endsWith('/') ? url.pathname : `${url.pathname}/`;
  return { kind: 'local', id: path.replace(/\/+$/, '') || '/', baseUrl: `${url.origin}${path}` };
}
