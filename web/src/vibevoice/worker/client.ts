// The main-thread side of the library in a Worker: the same load / transcribe API as VibeVoiceASR,
// with progress, token and stage events and AbortSignals, while the model, the audio decoding and
// generation run in a module Worker (worker.ts). This module imports no Transformers.js or
// onnxruntime-web, so a page that uses it stays small and its main thread stays free.
//
//   const asr = await VibeVoiceASRClient.load('models/', { onProgress });
//   const result = await asr.transcribe(file, { onToken, signal });
import type { AudioCheck, InspectOptions, LoadOptions, LoadProgress, ModelInspection, PreflightOptions, TranscribeOptions, TranscribeStage, TranscriptionResult } from '../asr';
import { loadAudio, type AudioSource, type DecodeInfo, type RawAudioInput } from '../audio/decode';
import { ARTIFACT } from '../artifact';
import { VibeVoiceError } from '../errors';
import type { TokenEvent } from '../generation/hooks';
import type { AdapterReport } from '../model/adapter';
import type { ModelSource } from '../model/location';
import type { PreflightReport } from '../model/preflight';
import { parseTranscription, type Segment } from '../output/parse';
import type { Device, Dtype } from '../model/variants';
import type { ModelSettings } from '../text/settings';
import type { ErrorPayload, LoadedModel, Reply, Request, RequestBody, RuntimeInfo, WorkerTranscribeOptions } from './protocol';

/** The Worker to run the library in: a Worker already made, its script's URL, or a function that makes one. */
export type WorkerSource = Worker | URL | string | (() => Worker);

export interface ClientOptions {
  /** Default: worker.js beside this module's file, as a module Worker (bundlers that know `new Worker(new URL(...))` pick it up). */
  worker?: WorkerSource;
}

export interface ClientLoadOptions extends LoadOptions, ClientOptions {
  /** Cancels loading: the Worker is stopped at once (the next call starts a new one). */
  signal?: AbortSignal;
}

/**
 * How long a cancelled transcription may take to stop by itself (at the next token, encoder chunk
 * or prefill call) before the Worker is stopped: one GPU or WASM run cannot be interrupted, and on a
 * slow adapter an encoder chunk takes a minute. Stopping the Worker loses the loaded model; the next
 * load() reads it back from the browser's cache.
 */
export const CANCEL_GRACE_MS = 1000;

/** What a transcription had written when it was cancelled and the Worker had to be stopped. */
export interface PartialTranscript {
  /** The text so far (special tokens skipped); `segments` are its complete segments. */
  text: string;
  segments: Segment[];
  generatedIds: number[];
}

/** A cancelled transcription's error; `partial` holds what was written before it stopped (null before the first token). */
export class TranscriptionAborted extends VibeVoiceError {
  constructor(
    message: string,
    readonly partial: PartialTranscript | null,
  ) {
    super('aborted', message);
  }
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onEvent?(reply: Reply): void;
}

function defaultWorker(): Worker {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
}

function makeWorker(source: WorkerSource | undefined): Worker {
  if (source === undefined) return defaultWorker();
  if (typeof source === 'function') return source();
  if (typeof source === 'string' || source instanceof URL) return new Worker(source, { type: 'module' });
  return source;
}

/** The page's base URL: relative model and audio locations mean the page's, not the Worker script's. */
function pageBase(): string {
  return (globalThis as { document?: { baseURI?: string } }).document?.baseURI ?? globalThis.location?.href ?? 'http://localhost/';
}

function toError(payload: ErrorPayload): VibeVoiceError {
  const error = new VibeVoiceError(payload.code ?? 'runtime', payload.code ? payload.message : `${payload.name}: ${payload.message}`);
  if (payload.mainThreadDecode) (error as { mainThreadDecode?: boolean }).mainThreadDecode = true;
  return error;
}

function stoppedMidRun(last: TokenEvent | null, ids: number[]): TranscriptionAborted {
  const partial = last ? { text: last.text, segments: parseTranscription(last.text).segments, generatedIds: [...ids] } : null;
  return new TranscriptionAborted(
    `Transcription was cancelled; the worker was stopped in the middle of a run${partial ? ` after ${ids.length} tokens (kept as partial)` : ''}, ` +
      'so the next transcription loads the model again (from the browser\'s cache).',
    partial,
  );
}

function aborted(what: string): VibeVoiceError {
  return new VibeVoiceError('aborted', `${what} was cancelled.`);
}

export class VibeVoiceASRClient {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private model: LoadedModel | null = null;

  constructor(private readonly options: ClientOptions = {}) {}

  /** Starts a Worker and loads the model in it: VibeVoiceASR.load's options and events. */
  static async load(location = 'models/', options: ClientLoadOptions = {}): Promise<VibeVoiceASRClient> {
    const client = new VibeVoiceASRClient({ worker: options.worker });
    await client.load(location, options);
    return client;
  }

  get loaded(): boolean {
    return this.model !== null;
  }
  get source(): ModelSource {
    return this.require().source;
  }
  get device(): Device {
    return this.require().device;
  }
  get dtype(): Dtype {
    return this.require().dtype;
  }
  get available(): Dtype[] {
    return this.require().available;
  }
  get adapter(): AdapterReport {
    return this.require().adapter;
  }
  get fallbackReason(): string | null {
    return this.require().fallbackReason;
  }
  get settings(): ModelSettings {
    return this.require().settings;
  }
  /** The pre-flight report the Worker's load() went by. */
  get plan(): PreflightReport {
    return this.require().plan;
  }

  /** What a model folder holds and what this browser would run there (VibeVoiceASR.inspect, in the Worker). */
  inspect(location: string, options: InspectOptions = {}): Promise<ModelInspection> {
    return this.call({ type: 'inspect', location, options: { baseUrl: pageBase(), ...options } }) as Promise<ModelInspection>;
  }

  /** The pre-flight check in the Worker (VibeVoiceASR.preflight): nothing but config.json and manifest.json is read. */
  preflight(location: string, options: PreflightOptions = {}): Promise<PreflightReport> {
    return this.call({ type: 'preflight', location, options: { baseUrl: pageBase(), ...options } }) as Promise<PreflightReport>;
  }

  /** Decodes and checks a clip in the Worker (VibeVoiceASR.checkAudio), on this thread where the Worker cannot decode it. */
  async checkAudio(source: AudioSource): Promise<AudioCheck> {
    const { reply, decode } = await this.withAudio(source, (audio, transfer) => this.call({ type: 'checkAudio', source: audio }, undefined, transfer) as Promise<AudioCheck>);
    return decode ? { ...reply, decode } : reply;
  }

  /** Loads (or replaces) the model in the Worker. */
  async load(location = 'models/', options: ClientLoadOptions = {}): Promise<this> {
    const { onProgress, signal, worker: _worker, ...rest } = options;
    if (signal?.aborted) throw aborted('Loading the model');
    this.model = null;
    const onAbort = () => this.terminate(aborted('Loading the model'));
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      this.model = (await this.call({ type: 'load', location, options: { baseUrl: pageBase(), ...rest } }, (reply) => {
        if (reply.type === 'progress') onProgress?.(reply.event as LoadProgress);
      })) as LoadedModel;
      return this;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Transcribes one clip in the Worker: VibeVoiceASR.transcribe's options and events. */
  async transcribe(source: AudioSource, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    this.require();
    const { reply, decode } = await this.withAudio(source, (audio, transfer) => this.transcribeIn(audio, options, transfer));
    return decode ? { ...reply, audio: { ...reply.audio, decode } } : reply;
  }

  /** Where the sessions run (VibeVoiceASR.runtimeInfo, asked of the Worker). */
  runtimeInfo(): Promise<RuntimeInfo> {
    return this.call({ type: 'runtimeInfo' }) as Promise<RuntimeInfo>;
  }

  /** Frees the model's sessions; the Worker stays for the next load(). */
  async dispose(): Promise<void> {
    this.model = null;
    if (this.worker) await this.call({ type: 'dispose' });
  }

  /** Stops the Worker at once; every pending call rejects with `reason`. */
  terminate(reason: unknown = aborted('The worker')): void {
    this.worker?.terminate();
    this.worker = null;
    this.model = null;
    for (const pending of this.pending.values()) pending.reject(reason);
    this.pending.clear();
  }

  private require(): LoadedModel {
    if (!this.model) throw new VibeVoiceError('bad-input', 'No model is loaded: call load() first and wait for it.');
    return this.model;
  }

  /**
   * `send`s the audio to the Worker; where the Worker has neither WebCodecs nor a wasm decoder for
   * the file, decodes it here (WebAudio) and sends the samples instead: `decode` says how (null when
   * the Worker decoded it).
   */
  private async withAudio<T>(
    source: AudioSource,
    send: (audio: AudioSource, transfer: Transferable[]) => Promise<T>,
  ): Promise<{ reply: T; decode: DecodeInfo | null }> {
    try {
      return { reply: await send(this.forWorker(source), []), decode: null };
    } catch (error) {
      if (!(error as { mainThreadDecode?: boolean }).mainThreadDecode) throw error;
    }
    const { audio, info } = await loadAudio(source, ARTIFACT.front_end.sampling_rate);
    const samples: RawAudioInput = { samples: audio.channels, sampleRate: audio.sampleRate };
    return { reply: await send(samples, audio.channels.map((c) => c.buffer as ArrayBuffer)), decode: info };
  }

  /** A URL means the page's; everything else is cloned as it is (a Blob is not copied). */
  private forWorker(source: AudioSource): AudioSource {
    if (typeof source === 'string' || source instanceof URL) return new URL(String(source), pageBase()).href;
    return source;
  }

  private async transcribeIn(source: AudioSource, options: TranscribeOptions, transfer: Transferable[] = []): Promise<TranscriptionResult> {
    const { onToken, onStage, signal, ...rest } = options;
    if (signal?.aborted) throw new VibeVoiceError('aborted', 'Transcription was cancelled before it started.');
    let id = 0;
    let grace: ReturnType<typeof setTimeout> | undefined;
    let last: TokenEvent | null = null;
    const ids: number[] = [];
    // Ask the Worker to stop at its next check; if one run holds it past the grace period, stop the Worker.
    const onAbort = () => {
      this.post({ id: this.nextId++, type: 'abort', target: id });
      grace = setTimeout(() => this.terminate(stoppedMidRun(last, ids)), CANCEL_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      return (await this.call(
        { type: 'transcribe', source, options: rest satisfies WorkerTranscribeOptions },
        (reply) => {
          if (reply.type === 'token') {
            last = reply.event as TokenEvent;
            ids.push(last.id);
            onToken?.(last);
          } else if (reply.type === 'stage') onStage?.(reply.event as TranscribeStage);
        },
        transfer,
        (assigned) => (id = assigned),
      )) as TranscriptionResult;
    } finally {
      clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = makeWorker(this.options.worker);
    worker.addEventListener('message', (event: MessageEvent<Reply>) => this.receive(event.data));
    worker.addEventListener('error', (event: ErrorEvent) => {
      event.preventDefault();
      this.terminate(new VibeVoiceError('runtime', `The worker failed: ${event.message || 'its script did not load (check its URL and that it is served as JavaScript)'}.`));
    });
    this.worker = worker;
    return worker;
  }

  private post(message: Request, transfer: Transferable[] = []): void {
    this.started().postMessage(message, transfer);
  }

  private call(
    request: RequestBody,
    onEvent?: (reply: Reply) => void,
    transfer: Transferable[] = [],
    onId?: (id: number) => void,
  ): Promise<unknown> {
    const id = this.nextId++;
    onId?.(id);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      this.post({ ...request, id } as Request, transfer);
    });
  }

  private receive(reply: Reply): void {
    const pending = this.pending.get(reply.id);
    if (!pending) return;
    if (reply.type === 'done') {
      this.pending.delete(reply.id);
      pending.resolve(reply.value);
    } else if (reply.type === 'error') {
      this.pending.delete(reply.id);
      pending.reject(toError(reply.error));
    } else {
      pending.onEvent?.(reply);
    }
  }
}
