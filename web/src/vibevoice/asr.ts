// The public entry point:
//   const asr = await VibeVoiceASR.load('models/', { device: 'auto', dtype: 'auto', onProgress });
//   const result = await asr.transcribe(file, { hotwords: 'Alice, Bob', maxNewTokens: 2048, onToken });
import { Tensor, type PretrainedConfig, type PreTrainedTokenizer } from '@huggingface/transformers';
import { webgpuDeviceCreated, type AdapterReport, type WasmPaths } from './model/onnxruntime';
import { loadAudio, type AudioSource, type DecodeInfo } from './audio/decode';
import { decodeWithWebCodecs } from './audio/webcodecs';
import { prepareAudio, type PreparedAudio } from './audio/prepare';
import { classifyError, VibeVoiceError } from './errors';
import { checkPrefillChunkTokens, PREFILL_CHUNK_TOKENS, prefillRowLimit } from './generation/prefill';
import { AbortStop, FirstStepLogits, RepetitionStop, TokenStreamer, type TokenEvent, type TopLogits } from './generation/hooks';
import { RepetitionGuard, type RepetitionGuardOptions } from './generation/repetition';
import { stopReason, type StopReason } from './generation/stop';
import { chooseDevice, type DeviceRequest } from './model/device';
import { configureEnvironment } from './model/environment';
import { loadConfig, loadManifest, loadTextFiles } from './model/files';
import { resolveModelLocation, type ModelSource } from './model/location';
import { listCachedModels } from './model/cache';
import { fixLoopLocals } from './model/loop_locals';
import { planEnvironment, planVariant } from './model/plan';
import { assertFits, formatBytes, preflight, variantFiles, type PreflightEnvironment, type PreflightReport } from './model/preflight';
import { availableDtypes, runnableDtypes, type Device, type Dtype } from './model/variants';
import { ARTIFACT } from './artifact';
import { VibeVoiceAsrForConditionalGeneration, type AudioChunkProgress, type PrefillProgress } from './model/vibevoice_model';
import { parseTranscription, type Segment } from './output/parse';
import { buildPrompt, type ChatMessage, type Prompt, type PromptTokenizer } from './text/prompt';
import { checkModelType, readSettings, type ModelSettings } from './text/settings';

/**
 * Where load() is: 'check' reads config.json and manifest.json and runs the pre-flight check;
 * 'download' fetches the variant's files (or reads them from the browser's cache); 'prepare-gpu'
 * creates the sessions once every graph is here (onnxruntime-web compiles its programs then and on
 * the first run, which on a real GPU can take minutes).
 */
export type LoadPhase = 'check' | 'download' | 'prepare-gpu';

/** A download or loading step, for progress displays. */
export interface LoadProgress {
  /** 'initiate' | 'download' | 'progress' | 'done' per file; 'ready' when everything is loaded; 'stage' when a phase starts. */
  status: 'initiate' | 'download' | 'progress' | 'done' | 'ready' | 'stage';
  /** The phase a 'stage' event starts. */
  phase?: LoadPhase;
  /** The file, relative to the model folder (e.g. "onnx/decoder_model_merged_q4.onnx_data"). */
  file?: string;
  loaded?: number;
  total?: number;
  /** 0..100 for this file. */
  progress?: number;
  /** What is happening, for 'stage' events. */
  message?: string;
}

export interface LoadOptions {
  /** 'auto' (default): WebGPU when available, else WASM (reported in `fallbackReason`). */
  device?: DeviceRequest;
  /** 'auto' (default): q4f16 with shader-f16, else q4, else fp32 — among the dtypes the folder holds. */
  dtype?: Dtype | 'auto';
  onProgress?: (event: LoadProgress) => void;
  /** Hub revision (branch, tag or commit); ignored for same-origin folders. */
  revision?: string;
  /** onnxruntime-web's wasm files: a folder URL (default: ort/ beside the library's own file) or both file URLs. */
  wasm?: string | WasmPaths;
  /**
   * What relative model and wasm locations are resolved against (default: globalThis.location, the
   * page's, or in a Worker the Worker script's; the worker client passes the page's document.baseURI).
   */
  baseUrl?: string;
  /** Extra onnxruntime-web session options (e.g. executionProviders with enableMatmulFp32Accumulation). */
  sessionOptions?: Record<string, unknown>;
  /**
   * The longest audio to plan for, in seconds (default 60). Before any download, load() checks that
   * the variant fits this device for it (preflight): a 'wont-fit' error says what does not and what
   * would; with dtype 'auto' it takes the best variant that fits.
   */
  durationS?: number;
}

export type InspectOptions = Pick<LoadOptions, 'device' | 'revision' | 'wasm' | 'baseUrl'>;
export type PreflightOptions = InspectOptions & Pick<LoadOptions, 'dtype' | 'durationS'>;

/** What checkAudio() found: the clip decodes, is not silent, and this is how long it is. */
export interface AudioCheck {
  durationS: number;
  /** Samples at the encoders' rate (24 kHz) before padding. */
  numSamples: number;
  numAudioTokens: number;
  sourceSampleRate: number;
  channels: number;
  decode: DecodeInfo;
}

export interface ModelInspection {
  source: ModelSource;
  /** Dtypes whose graphs the folder holds. */
  available: Dtype[];
  /** Of those, what this browser can run, best first. */
  runnable: Dtype[];
  device: Device;
  adapter: AdapterReport;
  fallbackReason: string | null;
  shaderF16: boolean;
}

export interface TranscribeOptions {
  /** Context for the model: names, terms, topic (free text after the audio in the prompt). */
  hotwords?: string | string[] | null;
  /** Cap on generated tokens (default: generation_config.json's max_new_tokens). */
  maxNewTokens?: number;
  onToken?: (event: TokenEvent) => void;
  /** 'decode' | 'prepare' | 'encode' | 'generate' progress. */
  onStage?: (stage: TranscribeStage) => void;
  /** The repetition guard's settings, or false to turn it off. */
  repetitionGuard?: RepetitionGuardOptions | false;
  /**
   * Most prompt tokens per decoder call during prefill (default 512, as in the Python runtime): a long
   * prompt (~27,000 tokens for an hour of audio) goes through the decoder in chunks, each appending to
   * the KV cache, which bounds the attention buffers. The result does not depend on it. On a WebGPU
   * adapter with subgroups narrower than 8 lanes (SwiftShader) a call takes at most 31 tokens, the
   * most onnxruntime-web's attention gets right there (runtimeInfo().prefillRowLimit).
   */
  prefillChunkTokens?: number;
  signal?: AbortSignal;
}

export type TranscribeStage =
  | { stage: 'decode' }
  | { stage: 'prepare' }
  /** Before the first chunk (chunk 0) and after each; firstRun: this model's first transcription, whose first run compiles the GPU programs. */
  | { stage: 'encode'; chunk: number; chunks: number; firstRun: boolean }
  /** Before each decoder call of a prompt split into several (see prefillChunkTokens). */
  | { stage: 'prefill'; tokens: number; total: number }
  | { stage: 'generate'; tokens: number };

export interface Timings {
  decodeAudioMs: number;
  prepareMs: number;
  encodeAudioMs: number;
  /** Embedding, audio merge and the decoder's prefill (audio encoding excluded). */
  prefillMs: number;
  /** From the first generated token to the last. */
  decodeMs: number;
  totalMs: number;
}

export interface TranscriptionResult {
  /** The transcript as plain text (segment texts joined), or the raw output when it did not parse. */
  text: string;
  segments: Segment[];
  /** Whether the output parsed as a JSON list of segments. */
  parsed: boolean;
  /** The list was cut off (max tokens, repetition, abort) and only complete segments were kept. */
  truncated: boolean;
  /** The generated text with special tokens skipped. */
  rawText: string;
  promptIds: number[];
  generatedIds: number[];
  stopReason: StopReason;
  /** The repeating n-gram's length when the repetition guard stopped generation. */
  repeatedNgram: number | null;
  /** The first decoding step's 10 largest logits (the prefill's last position). */
  firstStepTopLogits: TopLogits;
  /** Generated tokens per second after the first one (decode speed). */
  tokensPerSecond: number;
  timings: Timings;
  audio: { numSamples: number; durationS: number; numAudioTokens: number; sourceSampleRate: number; decode: DecodeInfo };
  device: Device;
  dtype: Dtype;
}

/**
 * Transformers.js' progress events as LoadProgress; `graphsHere` once every graph file of the
 * variant is here (the manifest's list; without one, once each graph's .onnx and every file begun are done).
 */
function wrapProgress(onProgress: ((event: LoadProgress) => void) | undefined, expected: string[] | null, graphsHere: () => void): (info: unknown) => void {
  const pending = new Set<string>();
  const done = new Set<string>();
  let here = false;
  return (info) => {
    const i = info as Record<string, unknown>;
    const status = i.status as string;
    const file = typeof i.file === 'string' ? i.file : null;
    if (file && status === 'initiate') pending.add(file);
    if (file && status === 'done') {
      pending.delete(file);
      done.add(file);
      const all = expected ? expected.every((g) => done.has(g)) : !pending.size && [...done].filter((f) => f.endsWith('.onnx')).length >= ARTIFACT.graphs.length;
      if (all && !here) {
        here = true;
        queueMicrotask(graphsHere); // after this file's own 'done' event
      }
    }
    if (!onProgress || !['initiate', 'download', 'progress', 'done', 'ready'].includes(status)) return; // progress_total: callers sum files
    onProgress({
      status: status as LoadProgress['status'],
      file: file ?? undefined,
      loaded: typeof i.loaded === 'number' ? i.loaded : undefined,
      total: typeof i.total === 'number' ? i.total : undefined,
      progress: typeof i.progress === 'number' ? i.progress : undefined,
    });
  };
}

function promptTokenizer(tokenizer: PreTrainedTokenizer): PromptTokenizer {
  return {
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }),
    renderChat: (messages: ChatMessage[]) =>
      tokenizer.apply_chat_template(messages as never, { tokenize: false, add_generation_prompt: true }) as string,
  };
}

function downloadHint(source: ModelSource): string | undefined {
  if (source.kind === 'local') return undefined;
  return (
    `Check the repo id and revision. Loading from the Hub needs network access to huggingface.co and its download hosts, ` +
    "and a page whose Content-Security-Policy allows them (connect-src); the project's local server allows only its own origin, " +
    'so download the folder and serve it locally instead.'
  );
}

function pageUrl(baseUrl?: string): string {
  return baseUrl ?? globalThis.location?.href ?? 'http://localhost/';
}

/** What transcribe() decoded and prepared, and when each step ended (performance.now()). */
interface TranscribeInput {
  prepared: PreparedAudio;
  decode: DecodeInfo;
  prompt: Prompt;
  started: number;
  decoded: number;
  preparedAt: number;
}

/** One transcription's generation settings and the hooks that watch generate(). */
interface GenerationHooks {
  maxNewTokens: number;
  prefillChunkTokens: number;
  guard: RepetitionStop | null;
  abort: AbortStop | null;
  firstStep: FirstStepLogits;
  streamer: TokenStreamer;
}

/** The ids generate() added after the prompt, and when it started and returned. */
interface GenerationRun {
  generatedIds: number[];
  generateStarted: number;
  finished: number;
}

export class VibeVoiceASR {
  private constructor(
    readonly source: ModelSource,
    readonly device: Device,
    readonly dtype: Dtype,
    readonly available: Dtype[],
    readonly adapter: AdapterReport,
    /** Why WASM runs instead of WebGPU (null when WebGPU runs or WASM was asked for). */
    readonly fallbackReason: string | null,
    readonly settings: ModelSettings,
    readonly config: PretrainedConfig,
    readonly tokenizer: PreTrainedTokenizer,
    private readonly model: VibeVoiceAsrForConditionalGeneration,
    /** The pre-flight report load() went by (download, memory, largest tensor). */
    readonly plan: PreflightReport,
    private readonly environment: PreflightEnvironment,
  ) {}

  /** No transcription has run yet: the first one's first GPU run compiles the programs. */
  private fresh = true;

  /** What a model folder holds and what this browser would run, without downloading the graphs. */
  static async inspect(location: string, options: InspectOptions = {}): Promise<ModelInspection> {
    return (await VibeVoiceASR.examine(location, options)).inspection;
  }

  /**
   * The pre-flight check without loading: what the variant (default 'auto': the one load() would take)
   * downloads and needs here for `durationS` seconds of audio (default 60), and what will not fit.
   */
  static async preflight(location: string, options: PreflightOptions = {}): Promise<PreflightReport> {
    const { inspection, config, manifest } = await VibeVoiceASR.examine(location, options);
    return (await VibeVoiceASR.plan(inspection, config, manifest, options)).report;
  }

  /** Decodes and checks a clip as transcribe() would (it decodes, it is not silent), without a model: before any download. */
  static async checkAudio(source: AudioSource): Promise<AudioCheck> {
    const { audio, info } = await loadAudio(source, ARTIFACT.front_end.sampling_rate, decodeWithWebCodecs);
    const { durationS, numSamples, numAudioTokens, sourceSampleRate } = prepareAudio(audio);
    return { durationS, numSamples, numAudioTokens, sourceSampleRate, channels: audio.channels.length, decode: info };
  }

  /** The report of the variant load() takes, and the limits it was measured against. */
  private static async plan(
    info: ModelInspection,
    config: PretrainedConfig,
    manifest: Record<string, unknown> | null,
    options: PreflightOptions,
  ): Promise<{ report: PreflightReport; environment: PreflightEnvironment }> {
    const [environment, cached] = await Promise.all([planEnvironment(info.device, info.adapter), listCachedModels().catch(() => [])]);
    const report = planVariant({
      folder: info.source.baseUrl,
      config: config as unknown as Record<string, unknown>,
      manifest,
      dtype: options.dtype ?? 'auto',
      durationS: options.durationS,
      device: info.device,
      shaderF16: info.shaderF16,
      available: info.available,
      runnable: info.runnable,
      environment,
      cached,
    });
    return { report, environment };
  }

  private static async examine(
    location: string,
    options: InspectOptions,
  ): Promise<{ inspection: ModelInspection; config: PretrainedConfig; manifest: Record<string, unknown> | null }> {
    const base = pageUrl(options.baseUrl);
    const source = resolveModelLocation(location, base, options.revision);
    const choice = await chooseDevice(options.device ?? 'auto');
    configureEnvironment(source, choice.device, options.wasm, base);
    const [config, manifest] = await Promise.all([
      loadConfig(source, { revision: options.revision }).catch((error) => {
        throw classifyError(error, `reading ${source.baseUrl}config.json`, downloadHint(source));
      }),
      loadManifest(source),
    ]);
    checkModelType(config as unknown as Record<string, unknown>);
    const available = availableDtypes(config as unknown as Record<string, unknown>, manifest);
    const inspection: ModelInspection = {
      source,
      available,
      runnable: runnableDtypes(available, choice.device, choice.shaderF16),
      device: choice.device,
      adapter: choice.adapter,
      fallbackReason: choice.fallbackReason,
      shaderF16: choice.shaderF16,
    };
    return { inspection, config, manifest };
  }

  /** Loads an artifact folder (same-origin URL/path, default "models/") or a Hub repo id ("org/name"). */
  static async load(location = 'models/', options: LoadOptions = {}): Promise<VibeVoiceASR> {
    const stage = (phase: LoadPhase, message: string) => options.onProgress?.({ status: 'stage', phase, message });
    const { revision } = options;
    stage('check', 'Checking the model folder, the GPU and what fits');
    const { inspection: info, config, manifest } = await VibeVoiceASR.examine(location, options);
    const { source, device } = info;
    // Before onnxruntime-web compiles anything: where Tint zeroes a loop's local once, its zeros are written out.
    const adapter: AdapterReport = device === 'webgpu' ? { ...info.adapter, loopLocals: await fixLoopLocals() } : info.adapter;
    const { report: plan, environment } = await VibeVoiceASR.plan(info, config, manifest, options);
    assertFits(plan); // nothing large is fetched before this
    const { dtype } = plan;
    const graphs = variantFiles(manifest, dtype);
    const progress_callback = wrapProgress(options.onProgress, graphs && [...graphs.keys()].filter((f) => f.startsWith(`${ARTIFACT.files.onnx_dir}/`)), () =>
      stage('prepare-gpu', device === 'webgpu' ? 'Preparing the GPU: creating the sessions and compiling their programs' : 'Creating the sessions'),
    );
    const where = `${dtype} on ${device}${info.fallbackReason ? ` (no WebGPU: ${info.fallbackReason})` : ''}`;
    const { toFetchBytes, cachedBytes } = plan.download;
    stage('download', `Loading ${where}: ${formatBytes(toFetchBytes)} to download${cachedBytes ? `, ${formatBytes(cachedBytes)} cached` : ''}`);
    try {
      const raw = config as unknown as Record<string, unknown>;
      const [files, model] = await Promise.all([
        loadTextFiles(source, { progress_callback, revision }),
        VibeVoiceAsrForConditionalGeneration.load(source.id, {
          config,
          dtype,
          device,
          progress_callback,
          revision,
          session_options: options.sessionOptions,
        }),
      ]);
      let settings: ModelSettings;
      try {
        settings = readSettings({
          config: raw,
          preprocessor: files.preprocessor,
          processor: files.processor,
          generation: (model.generation_config ?? null) as Record<string, unknown> | null,
          tokenToId: (token) => files.tokenizer.convert_tokens_to_ids(token) as number | null,
        });
        model.configure(settings.chunkSize, settings.frontEnd.hop);
      } catch (error) {
        await model.dispose().catch(() => undefined);
        throw error;
      }
      options.onProgress?.({ status: 'ready' });
      return new VibeVoiceASR(source, device, dtype, info.available, adapter, info.fallbackReason, settings, config, files.tokenizer, model, plan, environment);
    } catch (error) {
      throw classifyError(error, `loading the ${dtype} model on ${device}`, downloadHint(source));
    }
  }

  /** Decodes and prepares audio exactly as transcribe() does (24 kHz mono, normalised, padded). */
  async prepareAudio(source: AudioSource): Promise<{ prepared: PreparedAudio; decode: DecodeInfo }> {
    const { audio, info } = await loadAudio(source, this.settings.frontEnd.sampleRate, decodeWithWebCodecs);
    return { prepared: prepareAudio(audio, this.settings.frontEnd), decode: info };
  }

  /** The prompt for a clip of `numSamples` samples at 24 kHz. */
  buildPrompt(numSamples: number, hotwords?: string | string[] | null): Prompt {
    const { hop, sampleRate } = this.settings.frontEnd;
    return buildPrompt(promptTokenizer(this.tokenizer), this.settings.prompt, Math.ceil(numSamples / hop), numSamples / sampleRate, hotwords);
  }

  decode(ids: number[], skipSpecialTokens = true): string {
    return ids.length ? this.tokenizer.decode(ids, { skip_special_tokens: skipSpecialTokens }) : '';
  }

  /** Transcribes one clip: decode, prepare, prompt, chunked audio encoding, greedy decoding, parsing. */
  async transcribe(source: AudioSource, options: TranscribeOptions = {}): Promise<TranscriptionResult> {
    const input = await this.prepareInput(source, options);
    const hooks = this.generationHooks(options, input.prompt.ids.length);
    const run = await this.greedyDecode(input, hooks, options);
    const stop = stopReason(run.generatedIds, {
      eosTokenIds: this.settings.eosTokenIds,
      maxNewTokens: hooks.maxNewTokens,
      repeatedNgram: hooks.guard?.repeatedNgram ?? null,
      aborted: options.signal?.aborted ?? false,
    });
    return this.result(input, hooks, run, stop);
  }

  /** Decodes and prepares the audio and builds its prompt, noting when each step ended. */
  private async prepareInput(source: AudioSource, options: TranscribeOptions): Promise<TranscribeInput> {
    const started = performance.now();
    const { onStage, signal } = options;
    if (signal?.aborted) throw new VibeVoiceError('aborted', 'Transcription was cancelled before it started.');
    onStage?.({ stage: 'decode' });
    const { audio, info } = await loadAudio(source, this.settings.frontEnd.sampleRate, decodeWithWebCodecs); // WebCodecs where there is no WebAudio
    const decoded = performance.now();
    onStage?.({ stage: 'prepare' });
    const prepared = prepareAudio(audio, this.settings.frontEnd);
    this.checkFits(prepared.durationS);
    const prompt = this.buildPrompt(prepared.numSamples, options.hotwords);
    return { prepared, decode: info, prompt, started, decoded, preparedAt: performance.now() };
  }

  /** Refuses, before encoding, a clip too long for the model's context or this GPU's buffers (preflight's errors for it). */
  private checkFits(durationS: number): void {
    const report = preflight({
      config: this.config as unknown as Record<string, unknown>,
      dtype: this.dtype,
      durationS,
      environment: { ...this.environment, storage: undefined, deviceMemoryGiB: undefined }, // downloaded already; memory is an estimate
      dtypes: [this.dtype],
      maxNewTokens: this.settings.maxNewTokens,
    });
    assertFits(report);
  }

  /** Checks the generation options and makes generate()'s streamer, logits processor and stopping criteria. */
  private generationHooks(options: TranscribeOptions, promptLength: number): GenerationHooks {
    const maxNewTokens = options.maxNewTokens ?? this.settings.maxNewTokens;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1) {
      throw new VibeVoiceError('bad-input', `maxNewTokens must be a positive integer, got ${maxNewTokens}.`);
    }
    const prefillChunkTokens = checkPrefillChunkTokens(options.prefillChunkTokens ?? PREFILL_CHUNK_TOKENS);
    const guard = options.repetitionGuard === false ? null : new RepetitionStop(new RepetitionGuard(options.repetitionGuard ?? {}), promptLength);
    const { onStage, signal } = options;
    const streamer = new TokenStreamer((ids) => this.decode(ids), (event) => {
      options.onToken?.(event);
      onStage?.({ stage: 'generate', tokens: event.count });
    });
    return { maxNewTokens, prefillChunkTokens, guard, abort: signal ? new AbortStop(signal) : null, firstStep: new FirstStepLogits(10), streamer };
  }

  /** Greedy decoding through Transformers.js' generate(): the prompt ids and audio in, the new ids out. */
  private async greedyDecode(input: TranscribeInput, hooks: GenerationHooks, options: TranscribeOptions): Promise<GenerationRun> {
    const { onStage, signal } = options;
    const { prompt, prepared } = input;
    this.model.prefillChunkTokens = Math.min(hooks.prefillChunkTokens, prefillRowLimit(this.device, this.adapter));
    const firstRun = this.fresh;
    this.fresh = false;
    this.model.onAudioChunk = (p: AudioChunkProgress) => {
      if (signal?.aborted) throw new VibeVoiceError('aborted', 'Transcription was cancelled while encoding the audio.');
      onStage?.({ stage: 'encode', ...p, firstRun });
    };
    this.model.onPrefillChunk = (p: PrefillProgress) => {
      if (signal?.aborted) throw new VibeVoiceError('aborted', 'Transcription was cancelled during the prefill.');
      onStage?.({ stage: 'prefill', ...p });
    };
    const length = prompt.ids.length;
    let sequences: Tensor;
    const generateStarted = performance.now();
    try {
      sequences = (await this.model.generate({
        input_ids: new Tensor('int64', BigInt64Array.from(prompt.ids, BigInt), [1, length]),
        attention_mask: new Tensor('int64', new BigInt64Array(length).fill(1n), [1, length]),
        audio_values: new Tensor('float32', prepared.samples, [1, prepared.samples.length]),
        max_new_tokens: hooks.maxNewTokens,
        do_sample: false,
        num_beams: 1,
        eos_token_id: this.settings.eosTokenIds,
        // generate() extends its own lists with plain arrays; the typedefs ask for list classes.
        streamer: hooks.streamer as never,
        logits_processor: [hooks.firstStep] as never,
        stopping_criteria: [hooks.guard, hooks.abort].filter((c) => c !== null),
      })) as Tensor;
    } catch (error) {
      throw classifyError(error, 'transcribing');
    } finally {
      this.model.onAudioChunk = null;
      this.model.onPrefillChunk = null;
    }
    const finished = performance.now();
    const generatedIds = (sequences.tolist()[0] as bigint[]).map(Number).slice(length);
    return { generatedIds, generateStarted, finished };
  }

  /** The result: the parsed transcript, the ids, why generation stopped, timings and the audio's facts. */
  private result(input: TranscribeInput, hooks: GenerationHooks, run: GenerationRun, stop: StopReason): TranscriptionResult {
    const { prepared, prompt, started, decoded, preparedAt } = input;
    const { guard, firstStep, streamer } = hooks;
    const { generatedIds, generateStarted, finished } = run;
    const rawText = this.decode(generatedIds);
    const parsed = parseTranscription(rawText);
    const encodeAudioMs = this.model.lastEncodeMs;
    const firstTokenAt = streamer.firstTokenAt ?? finished;
    return {
      text: parsed.text,
      segments: parsed.segments,
      parsed: parsed.parsed,
      truncated: parsed.truncated,
      rawText,
      promptIds: prompt.ids,
      generatedIds,
      stopReason: stop,
      repeatedNgram: stop === 'repetition' ? guard?.repeatedNgram ?? null : null,
      firstStepTopLogits: firstStep.top ?? { ids: [], values: [] },
      tokensPerSecond: streamer.tokensPerSecond(),
      timings: {
        decodeAudioMs: decoded - started,
        prepareMs: preparedAt - decoded,
        encodeAudioMs,
        prefillMs: Math.max(0, firstTokenAt - generateStarted - encodeAudioMs),
        decodeMs: (streamer.lastTokenAt ?? finished) - firstTokenAt,
        totalMs: finished - started,
      },
      audio: {
        numSamples: prepared.numSamples,
        durationS: prepared.durationS,
        numAudioTokens: prepared.numAudioTokens,
        sourceSampleRate: prepared.sourceSampleRate,
        decode: input.decode,
      },
      device: this.device,
      dtype: this.dtype,
    };
  }

  /** Where the sessions run and whether onnxruntime-web created a WebGPU device: proof of the backend. */
  runtimeInfo(): {
    device: Device;
    dtype: Dtype;
    sessions: Record<string, { device?: string; dtype?: string }>;
    webgpuDeviceCreated: boolean;
    adapter: AdapterReport;
    fallbackReason: string | null;
    /** The most prompt tokens per decoder call on this adapter (null: only prefillChunkTokens). */
    prefillRowLimit: number | null;
  } {
    const rowLimit = prefillRowLimit(this.device, this.adapter);
    return {
      device: this.device,
      dtype: this.dtype,
      sessions: this.model.sessionPlacement(),
      webgpuDeviceCreated: webgpuDeviceCreated(),
      adapter: this.adapter,
      fallbackReason: this.fallbackReason,
      prefillRowLimit: Number.isFinite(rowLimit) ? rowLimit : null,
    };
  }

  async dispose(): Promise<void> {
    await this.model.dispose();
  }
}
