// Errors the library raises on purpose: each has a stable `code` a page can map to a message.

export type VibeVoiceErrorCode =
  | 'no-webgpu' // WebGPU was asked for but this browser/GPU has none
  | 'unsupported-dtype' // the dtype is not in the artifact folder, or the device cannot run it
  | 'out-of-memory' // an allocation failed on the GPU or in the wasm heap
  | 'wont-fit' // the pre-flight check found the variant too large for this device, its storage or the audio's length
  | 'download-failed' // a model file could not be fetched
  | 'unsupported-audio' // the audio could not be decoded
  | 'silent-audio' // the audio decodes but holds no signal
  | 'bad-location' // the model location is neither a same-origin URL nor a Hub repo id
  | 'bad-input' // an argument has the wrong type or value
  | 'bad-config' // the artifact folder's config files are not what this library expects
  | 'aborted' // the caller's AbortSignal fired
  | 'runtime'; // anything else that failed inside Transformers.js or onnxruntime-web

export class VibeVoiceError extends Error {
  readonly code: VibeVoiceErrorCode;
  override readonly cause?: unknown;

  constructor(code: VibeVoiceErrorCode, message: string, cause?: unknown) {
    super(message);
    this.name = 'VibeVoiceError';
    this.code = code;
    this.cause = cause;
  }
}

const OUT_OF_MEMORY = [
  /out of memory/i,
  /array buffer allocation failed/i,
  /failed to allocate/i,
  /bad_alloc/i,
  /exceeds the max buffer size/i,
  /device (?:was )?lost/i,
  /maximum call stack/i,
  /memory access out of bounds/i,
  /cannot enlarge memory/i,
];

const DOWNLOAD = [
  /could not locate file/i,
  /failed to fetch/i,
  /networkerror/i,
  /load failed/i,
  /unable to get model file/i,
  /file was not found locally/i,
  /error occurred while trying to load file/i,
  /unauthorized access to file/i,
  /forbidden access to file/i,
  /content security policy/i,
];

function messageOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/**
 * The library's error for anything thrown while loading or running, classifying memory and download
 * failures. `downloadHint` replaces the default advice for download failures.
 */
export function classifyError(error: unknown, while_: string, downloadHint?: string): VibeVoiceError {
  if (error instanceof VibeVoiceError) return error;
  const text = messageOf(error);
  if ((error as { name?: string } | null)?.name === 'ModelFileNotFoundError' || DOWNLOAD.some((re) => re.test(text))) {
    return new VibeVoiceError(
      'download-failed',
      `A model file could not be downloaded while ${while_} (${text}). ` +
        (downloadHint ?? 'Check the model location, that the server is running, and that the folder holds every file of the chosen dtype.'),
      error,
    );
  }
  if (OUT_OF_MEMORY.some((re) => re.test(text))) {
    return new VibeVoiceError(
      'out-of-memory',
      `Out of memory while ${while_} (${text}). Close other tabs, choose a smaller dtype (q4f16 or q4), or ` +
        'transcribe a shorter clip.',
      error,
    );
  }
  return new VibeVoiceError('runtime', `Failed while ${while_}: ${text}`, error);
}
