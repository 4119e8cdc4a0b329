// The library in a module Web Worker: `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`,
// driven by VibeVoiceASRClient (client.ts). Model loading, audio decoding (WebCodecs), the front end
// and generation all run here, so the page's main thread only sends files and renders events.
import { VibeVoiceASR } from '../asr';
import { VibeVoiceError } from '../errors';
import type { ErrorPayload, LoadedModel, Reply, Request } from './protocol';

interface WorkerScope {
  postMessage(message: Reply): void;
  addEventListener(type: 'message', listener: (event: { data: Request }) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
let asr: VibeVoiceASR | null = null;
const aborts = new Map<number, AbortController>();

function errorPayload(error: unknown): ErrorPayload {
  return {
    name: (error as Error)?.name ?? 'Error',
    message: (error as Error)?.message ?? String(error),
    code: error instanceof VibeVoiceError ? error.code : null,
    mainThreadDecode: Boolean((error as { mainThreadDecode?: boolean })?.mainThreadDecode),
  };
}

function loaded(model: VibeVoiceASR): LoadedModel {
  const { source, device, dtype, available, adapter, fallbackReason, settings, plan } = model;
  return { source, device, dtype, available, adapter, fallbackReason, settings, plan };
}

async function handle(request: Request): Promise<unknown> {
  const { id } = request;
  switch (request.type) {
    case 'inspect':
      return VibeVoiceASR.inspect(request.location, request.options);
    case 'preflight':
      return VibeVoiceASR.preflight(request.location, request.options);
    case 'checkAudio':
      return VibeVoiceASR.checkAudio(request.source);
    case 'load': {
      const previous = asr;
      asr = null;
      await previous?.dispose().catch(() => undefined);
      asr = await VibeVoiceASR.load(request.location, {
        ...request.options,
        onProgress: (event) => scope.postMessage({ id, type: 'progress', event }),
      });
      return loaded(asr);
    }
    case 'transcribe': {
      if (!asr) throw new VibeVoiceError('bad-input', 'No model is loaded in the worker: call load() before transcribe().');
      const abort = new AbortController();
      aborts.set(id, abort);
      try {
        return await asr.transcribe(request.source, {
          ...request.options,
          signal: abort.signal,
          onToken: (event) => scope.postMessage({ id, type: 'token', event }),
          onStage: (event) => scope.postMessage({ id, type: 'stage', event }),
        });
      } finally {
        aborts.delete(id);
      }
    }
    case 'abort':
      aborts.get(request.target)?.abort();
      return null;
    case 'runtimeInfo':
      if (!asr) throw new VibeVoiceError('bad-input', 'No model is loaded in the worker: call load() first.');
      return asr.runtimeInfo();
    case 'dispose': {
      const model = asr;
      asr = null;
      await model?.dispose();
      return null;
    }
  }
}

scope.addEventListener('message', ({ data }) => {
  handle(data).then(
    (value) => scope.postMessage({ id: data.id, type: 'done', value } as Reply),
    (error) => scope.postMessage({ id: data.id, type: 'error', error: errorPayload(error) }),
  );
});
