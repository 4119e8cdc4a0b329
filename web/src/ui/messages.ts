// What to tell a person when something fails, by the library's error codes.
import { VibeVoiceError } from '../vibevoice/client';

export interface UserMessage {
  code: string;
  title: string;
  detail: string;
}

const TITLES: Record<string, string> = {
  'no-webgpu': 'WebGPU is not available in this browser',
  'unsupported-dtype': 'This precision cannot run here',
  'out-of-memory': 'Out of memory',
  'wont-fit': 'This model does not fit here',
  'download-failed': 'A model file could not be downloaded',
  'unsupported-audio': 'This file cannot be read as audio',
  'silent-audio': 'The audio is silent',
  'bad-location': 'Model location not usable',
  'bad-input': 'Invalid input',
  'bad-config': 'The model folder is not a VibeVoice-ASR export',
  aborted: 'Stopped',
  runtime: 'Something went wrong',
  microphone: 'The microphone is not available',
};

export function describeError(error: unknown): UserMessage {
  if (error instanceof VibeVoiceError) return { code: error.code, title: TITLES[error.code] ?? TITLES.runtime, detail: error.message };
  if (error instanceof DOMException && ['NotAllowedError', 'NotFoundError', 'NotReadableError', 'SecurityError'].includes(error.name)) {
    const detail =
      error.name === 'NotAllowedError'
        ? 'Permission to use the microphone was refused. Allow it in the address bar and try again.'
        : error.name === 'NotFoundError'
          ? 'No microphone was found. Connect one, or choose a file instead.'
          : `The microphone could not be opened (${error.message}).`;
    return { code: 'microphone', title: TITLES.microphone, detail };
  }
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return { code: 'runtime', title: TITLES.runtime, detail };
}
