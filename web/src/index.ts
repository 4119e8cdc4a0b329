// The demo page: load a VibeVoice-ASR artifact folder, pick or record audio, transcribe on WebGPU
// (WASM when the browser has no WebGPU, and the page says so), read and export the segments.
//
// Stable hooks for UI tests (each element has id = data-testid = the name below):
//   device-status      WebGPU adapter or the reason for WASM; data-device="webgpu"|"wasm";
//                      data-software="true" for a CPU renderer (SwiftShader, llvmpipe), marked as slow
//   model-location     text field: folder URL (default "models/") or Hub repo id ("org/name")
//   dtype-select       "auto" + the dtypes the folder holds (ones this GPU cannot run are disabled)
//   device-select      "auto" | "webgpu" | "wasm"
//   load-button        loads the model (transcribe-button also loads it when needed)
//   model-info         what the folder holds and what will run
//   preflight          the pre-flight check for the chosen variant and audio, before any download:
//                      data-fits="true"|"false", data-codes = the problems' codes, data-audio="true" once it is
//                      the chosen clip's (else one minute's); preflight-summary (download
//                      and memory), preflight-problems li[data-code][data-severity] (what won't fit, what would)
//   download-progress  <details>, folded once the model is loaded; per-file bars:
//                      li[data-file][data-state="waiting"|"downloading"|"done"]; download-total is the overall <progress>
//   file-input         <input type=file>; drop-zone accepts dropped files too
//   record-button      starts/stops a microphone recording (data-recording="true" while on)
//   audio-info         name, size and duration of the chosen audio, decoded and checked when chosen (in the
//                      Worker): data-state="checking"|"ok"|"error"|"recording" (a recording shows its length)
//   hotwords-input     optional context/hotwords; max-new-tokens: token cap
//   transcribe-button  runs the transcription; stop-button cancels it, or the loading, within 2 s (what was
//                      written so far stays as partial rows)
//   status             one line; data-state="idle"|"inspecting"|"loading"|"ready"|"transcribing"|"done"|"error";
//                      data-phase="prepare-gpu" (session creation, then on WebGPU the first run) while its elapsed time ticks
//   error              the last error; data-code = the library's error code (no-webgpu, out-of-memory,
//                      download-failed, unsupported-audio, silent-audio, ...)
//   live-segments      the complete segments so far as rows (data-testid="live-segment-row"), parsed from the
//                      partial output as it streams (never shown raw); live-tokens: what is being written;
//                      tokens-per-second, token-count
//   result             the result section (data-empty="true" when there is no transcript text); result-meta:
//                      device, dtype, tokens, timings; empty-result: why there is none (no speech, token limit)
//   segments-table     <table>; tbody rows have data-testid="segment-row", cells data-label=Speaker|Start|End|Text
//   raw-text           the raw model output
//   copy-button, download-json, download-srt, download-vtt (disabled for an empty result)
//   cache-panel        the models stored in this browser, each with remove-cached-model (ui/cache_panel.ts)
// Query parameters preset the form: ?model=...&dtype=fp32&device=webgpu&hotwords=...&maxNewTokens=256;
// ?prefillChunk=N sets the prompt tokens per decoder call during prefill (default 512).
// The library runs in a module Worker (worker.js) through VibeVoiceASRClient; this page's main thread
// only renders. window.vibevoice = { library(), parseTranscription, toSrt, toVtt, toJson,
//   describeWebGpuAdapter, app: { asr, result, audio, ready, load(), setAudio(blob, name), transcribe(),
//   showResult(result) } } for tests and the console; library() imports vibevoice-asr.js, the whole
// library on this thread (VibeVoiceASR), only when asked.
import {
  VibeVoiceASRClient,
  cutOffSegmentText,
  describeWebGpuAdapter,
  isSoftwareAdapter,
  parseTranscription,
  toJson,
  toSrt,
  toVtt,
  VibeVoiceError,
  type AdapterReport,
  type LoadProgress,
  type TokenEvent,
  TranscriptionAborted,
  type AudioCheck,
  type TranscriptionResult,
} from './vibevoice/client';
import { CachePanel } from './ui/cache_panel';
import { byId, formatBytes, formatDuration, show } from './ui/dom';
import { describeError } from './ui/messages';
import { PhaseClock } from './ui/phase_clock';
import { PreflightView } from './ui/preflight_view';
import { DownloadProgress } from './ui/progress';
import { Recorder } from './ui/recorder';
import { emptyResultMessage, isEmptyResult, ResultView } from './ui/result_view';
import { renderSegments } from './ui/segments';

type State = 'idle' | 'inspecting' | 'loading' | 'ready' | 'transcribing' | 'done' | 'error';

const el = {
  deviceStatus: byId('device-status'),
  location: byId<HTMLInputElement>('model-location'),
  dtype: byId<HTMLSelectElement>('dtype-select'),
  device: byId<HTMLSelectElement>('device-select'),
  modelForm: byId<HTMLFormElement>('model-form'),
  load: byId<HTMLButtonElement>('load-button'),
  modelInfo: byId('model-info'),
  downloads: byId<HTMLDetailsElement>('download-progress'),
  dropZone: byId('drop-zone'),
  file: byId<HTMLInputElement>('file-input'),
  record: byId<HTMLButtonElement>('record-button'),
  audioInfo: byId('audio-info'),
  preview: byId<HTMLAudioElement>('audio-preview'),
  hotwords: byId<HTMLInputElement>('hotwords-input'),
  maxTokens: byId<HTMLInputElement>('max-new-tokens'),
  transcribe: byId<HTMLButtonElement>('transcribe-button'),
  stop: byId<HTMLButtonElement>('stop-button'),
  status: byId('status'),
  error: byId('error'),
  live: byId('live'),
  liveTokens: byId('live-tokens'),
  liveSegments: byId<HTMLTableElement>('live-segments'),
  tokensPerSecond: byId('tokens-per-second'),
  tokenCount: byId('token-count'),
};

const progress = new DownloadProgress(el.downloads, byId<HTMLUListElement>('download-files'), byId<HTMLProgressElement>('download-total'), byId('download-total-text'));
const recorder = new Recorder();
const clock = new PhaseClock(byId('status'), (text) => (el.status.textContent = text));
const preflightView = new PreflightView(byId('preflight'), byId('preflight-summary'), byId<HTMLUListElement>('preflight-problems'));
const cachePanel = new CachePanel(byId<HTMLUListElement>('cached-models'), byId('cache-total'), (error) => showError(error));
const results = new ResultView(
  (text) => setStatus('done', text),
  (error) => showError(error),
);

const client = new VibeVoiceASRClient(); // starts worker.js, beside this page's script, on first use
let asr: VibeVoiceASRClient | null = null;
let loadedKey = '';
let loading: Promise<VibeVoiceASRClient> | null = null;
let audio: { blob: Blob; name: string; check: AudioCheck } | null = null;
let result: TranscriptionResult | null = null;
let abort: AbortController | null = null;
let busy = false;

function setStatus(state: State, text: string): void {
  clock.stop();
  el.status.dataset.state = state;
  el.status.textContent = text;
}

function clearError(): void {
  show(el.error, false);
  el.error.replaceChildren();
  delete el.error.dataset.code;
}

function showError(error: unknown): void {
  const message = describeError(error);
  const title = document.createElement('strong');
  title.textContent = message.title;
  const detail = document.createElement('p');
  detail.textContent = message.detail;
  el.error.replaceChildren(title, detail);
  el.error.dataset.code = message.code;
  show(el.error);
  setStatus('error', message.title);
  console.error(error);
}

function updateButtons(): void {
  el.transcribe.disabled = busy || !audio || recorder.recording;
  el.load.disabled = busy;
  el.record.disabled = busy || !Recorder.supported();
  show(el.stop, busy && abort !== null);
}

function selectedKey(): string {
  return JSON.stringify([el.location.value.trim(), el.dtype.value, el.device.value]);
}

// ----------------------------------------------------------------------------- device and model

async function showDevice(): Promise<void> {
  const adapter: AdapterReport = await describeWebGpuAdapter().catch((error) => ({ available: false, reason: String(error), features: [] }));
  if (adapter.available) {
    const f16 = adapter.features.includes('shader-f16') ? 'shader-f16' : 'no shader-f16';
    const software = isSoftwareAdapter(adapter);
    el.deviceStatus.textContent =
      `WebGPU: ${adapter.vendor || 'GPU'} ${adapter.architecture || ''}`.trim() +
      ` (${f16})` +
      (software ? ' — a software adapter that renders on the CPU: expect it to be very slow' : '');
    el.deviceStatus.dataset.device = 'webgpu';
    el.deviceStatus.dataset.software = String(software);
  } else {
    el.deviceStatus.textContent = `No WebGPU — transcription will run on the CPU (WASM), much more slowly. ${adapter.reason ?? ''}`;
    el.deviceStatus.dataset.device = 'wasm';
  }
}

async function inspect(): Promise<void> {
  const location = el.location.value.trim();
  setStatus('inspecting', `Reading ${location}…`);
  clearError();
  try {
    const inspection = await client.inspect(location, { device: el.device.value as 'auto' | 'webgpu' | 'wasm' });
    const keep = el.dtype.value;
    const options = [new Option('Automatic (best for this GPU)', 'auto')];
    for (const dtype of inspection.available) {
      const option = new Option(dtype, dtype);
      if (!inspection.runnable.includes(dtype)) {
        option.disabled = true;
        option.textContent = `${dtype} (needs WebGPU shader-f16)`;
      }
      options.push(option);
    }
    el.dtype.replaceChildren(...options);
    el.dtype.value = options.some((o) => o.value === keep && !o.disabled) ? keep : 'auto';
    const best = inspection.runnable[0];
    el.modelInfo.textContent =
      `This folder holds ${inspection.available.join(', ') || 'no known variant'}. ` +
      (best ? `Automatic choice here: ${best} on ${inspection.device === 'webgpu' ? 'WebGPU' : 'WASM (CPU)'}.` : 'None of them can run here.') +
      (inspection.fallbackReason ? ` No WebGPU: ${inspection.fallbackReason}.` : '');
    setStatus('idle', asr?.loaded ? 'Model loaded. Choose audio and transcribe.' : 'Load the model, choose audio, then transcribe.');
    await checkFit();
  } catch (error) {
    el.modelInfo.textContent = '';
    preflightView.hide();
    showError(error);
  }
}

/** The pre-flight check for the chosen location, variant, device and audio (one minute without audio); reads no graph. */
async function checkFit(): Promise<void> {
  const key = selectedKey() + (audio?.check.durationS ?? '');
  try {
    const report = await client.preflight(el.location.value.trim(), {
      dtype: el.dtype.value as 'auto',
      device: el.device.value as 'auto',
      durationS: audio?.check.durationS,
    });
    if (key === selectedKey() + (audio?.check.durationS ?? '')) preflightView.render(report, audio !== null);
  } catch {
    preflightView.hide(); // inspect() and load() report a folder's errors
  }
}

async function loadModel(): Promise<VibeVoiceASRClient> {
  const key = selectedKey();
  if (asr?.loaded && key === loadedKey) return asr;
  if (loading) return loading;
  clearError();
  progress.reset();
  setStatus('loading', 'Loading the model…');
  asr = null;
  loading = (async () => {
    // The Worker frees the previous model before it loads this one.
    const model = await client.load(el.location.value.trim(), {
      dtype: el.dtype.value as 'auto',
      device: el.device.value as 'auto',
      durationS: audio?.check.durationS, // refused before any download when it will not fit
      signal: abort?.signal, // Stop while loading stops the Worker at once
      onProgress: (event: LoadProgress) => {
        if (event.status !== 'stage') progress.update(event);
        else if (event.phase === 'prepare-gpu') clock.start('prepare-gpu', event.message ?? 'Preparing the GPU');
        else if (event.message) setStatus('loading', event.message);
      },
    });
    asr = model;
    loadedKey = key;
    progress.collapse();
    void cachePanel.refresh();
    void checkFit(); // now stored: nothing left to download
    const where = model.device === 'webgpu' ? 'WebGPU' : `WASM (CPU)${model.fallbackReason ? ` — no WebGPU: ${model.fallbackReason}` : ''}`;
    el.modelInfo.textContent = `Loaded ${model.dtype} on ${where}.`;
    setStatus('ready', `Model ready (${model.dtype} on ${model.device}).`);
    return model;
  })();
  try {
    return await loading;
  } finally {
    loading = null;
  }
}

async function onLoadClicked(): Promise<void> {
  busy = true;
  abort = new AbortController();
  updateButtons();
  try {
    await loadModel();
  } catch (error) {
    if (error instanceof VibeVoiceError && error.code === 'aborted') setStatus('idle', 'Loading stopped.');
    else showError(error);
  } finally {
    busy = false;
    abort = null;
    updateButtons();
  }
}

// ----------------------------------------------------------------------------- audio input

function setAudioInfo(state: 'checking' | 'ok' | 'error' | 'recording', text: string): void {
  el.audioInfo.dataset.state = state;
  el.audioInfo.textContent = text;
}

let audioPicks = 0;

/** Decodes and checks the clip in the Worker when it is chosen, before any model download; only a clip that passes can be transcribed. */
async function setAudio(blob: Blob, name: string): Promise<AudioCheck | null> {
  const pick = ++audioPicks; // a later choice wins over this one's check
  audio = null;
  if (el.preview.src) URL.revokeObjectURL(el.preview.src);
  el.preview.src = URL.createObjectURL(blob);
  show(el.preview);
  clearError();
  setAudioInfo('checking', `${name} — ${formatBytes(blob.size)}, decoding…`);
  updateButtons();
  try {
    const check = await client.checkAudio(blob);
    if (pick !== audioPicks) return null;
    audio = { blob, name, check };
    const rate = `${(check.sourceSampleRate / 1000).toFixed(check.sourceSampleRate % 1000 ? 1 : 0)} kHz`;
    setAudioInfo('ok', `${name} — ${formatBytes(blob.size)}, ${formatDuration(check.durationS)}, ${rate} ${check.channels === 1 ? 'mono' : `${check.channels} channels`}`);
    void checkFit();
    return check;
  } catch (error) {
    if (pick !== audioPicks) return null;
    setAudioInfo('error', `${name} — ${formatBytes(blob.size)}: not usable`);
    showError(error);
    return null;
  } finally {
    updateButtons();
  }
}

function onFiles(files: FileList | null | undefined): void {
  const file = files?.[0];
  if (file) void setAudio(file, file.name);
}

let recordTimer = 0;

async function onRecordClicked(): Promise<void> {
  try {
    if (recorder.recording) {
      clearInterval(recordTimer);
      const blob = await recorder.stop();
      el.record.dataset.recording = 'false';
      el.record.textContent = '● Record';
      const check = await setAudio(blob, `recording.${blob.type.includes('mp4') ? 'm4a' : blob.type.includes('ogg') ? 'ogg' : 'webm'}`);
      if (check) setStatus(asr?.loaded ? 'ready' : 'idle', `Recording ready (${formatDuration(check.durationS)}). Transcribe it when you like.`);
    } else {
      clearError();
      await recorder.start();
      el.record.dataset.recording = 'true';
      el.record.textContent = '■ Stop recording';
      const tick = () => {
        const text = `Recording… ${formatDuration(recorder.elapsedSeconds())}`;
        setAudioInfo('recording', text);
        setStatus('idle', text);
      };
      tick();
      recordTimer = window.setInterval(tick, 500);
    }
  } catch (error) {
    showError(error);
  } finally {
    updateButtons();
  }
}

// ----------------------------------------------------------------------------- transcription

/**
 * The live output: the complete segments so far as rows, re-parsed at most once a frame (tokens come
 * faster), and at least every LIVE_MAX_WAIT_MS when frames lag behind the Worker's messages.
 */
const LIVE_MAX_WAIT_MS = 100;
const live = {
  latest: null as TokenEvent | null,
  frame: 0,
  timer: 0,
  reset(): void {
    this.cancel();
    this.latest = null;
    el.liveSegments.tBodies[0].replaceChildren();
    show(el.liveSegments, false);
    el.liveTokens.textContent = 'Waiting for the first segment…';
    el.tokensPerSecond.textContent = '0.0';
    el.tokenCount.textContent = '0';
    show(el.live);
  },
  update(event: TokenEvent): void {
    this.latest = event;
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => this.render());
    this.timer = window.setTimeout(() => this.render(), LIVE_MAX_WAIT_MS);
  },
  cancel(): void {
    cancelAnimationFrame(this.frame);
    clearTimeout(this.timer);
    this.frame = 0;
  },
  /** Renders the last event now: a frame still pending after the result would overwrite its status. */
  finish(): void {
    if (this.frame) this.render();
  },
  render(): void {
    this.cancel();
    const event = this.latest;
    if (!event) return;
    const { segments } = parseTranscription(event.text); // a cut-off list gives its complete segments
    renderSegments(el.liveSegments.tBodies[0], segments, 'live-segment-row');
    show(el.liveSegments, segments.length > 0);
    const writing = cutOffSegmentText(event.text);
    el.liveTokens.textContent = segments.length || writing ? `Writing segment ${segments.length + 1}…${writing ? ` “${writing}”` : ''}` : 'Waiting for the first segment…';
    el.tokensPerSecond.textContent = event.tokensPerSecond.toFixed(1);
    el.tokenCount.textContent = String(event.count);
    setStatus('transcribing', `Transcribing… ${event.count} tokens, ${event.tokensPerSecond.toFixed(1)} tokens/s`);
  },
};

async function transcribe(): Promise<TranscriptionResult | null> {
  if (!audio) {
    showError(new VibeVoiceError('bad-input', 'Choose or record some audio first.'));
    return null;
  }
  busy = true;
  abort = new AbortController();
  updateButtons();
  clearError();
  results.hide();
  try {
    const model = await loadModel();
    live.reset();
    setStatus('transcribing', 'Decoding the audio…');
    const maxNewTokens = el.maxTokens.value ? Number(el.maxTokens.value) : undefined;
    result = await model.transcribe(audio.blob, {
      hotwords: el.hotwords.value.trim() || null,
      maxNewTokens,
      prefillChunkTokens: prefillChunkFromQuery(),
      signal: abort.signal,
      onStage: (stage) => {
        if (stage.stage === 'prepare') setStatus('transcribing', 'Preparing the audio…');
        else if (stage.stage === 'encode' && stage.chunk === 0 && stage.firstRun && model.device === 'webgpu') {
          el.status.dataset.state = 'transcribing';
          clock.start('prepare-gpu', 'Preparing the GPU: the first run compiles its programs, then encodes the audio');
        } else if (stage.stage === 'encode' && stage.chunk < stage.chunks) setStatus('transcribing', `Encoding the audio (${stage.chunk}/${stage.chunks})…`);
        else if (stage.stage === 'encode') setStatus('transcribing', 'Reading the prompt…');
        else if (stage.stage === 'prefill') setStatus('transcribing', `Reading the prompt (${stage.tokens}/${stage.total} tokens)…`);
      },
      onToken: (event) => live.update(event),
    }).finally(() => live.finish());
    showResult(result);
    return result;
  } catch (error) {
    if (error instanceof TranscriptionAborted && error.partial?.segments.length) {
      setStatus('idle', `Stopped; the ${error.partial.segments.length} segments written so far are kept above. The model loads again for the next run.`);
    } else if (error instanceof VibeVoiceError && error.code === 'aborted') setStatus(asr?.loaded ? 'ready' : 'idle', 'Stopped.');
    else showError(error);
    return null;
  } finally {
    busy = false;
    abort = null;
    updateButtons();
  }
}

function showResult(r: TranscriptionResult): void {
  show(el.live, false); // the result's table replaces the live rows
  results.render(r, audio?.name ?? 'transcript');
  if (isEmptyResult(r)) setStatus('done', emptyResultMessage(r));
  else setStatus('done', r.stopReason === 'aborted' ? 'Stopped; showing what was transcribed so far.' : 'Done.');
}

// ----------------------------------------------------------------------------- wiring

/** ?prefillChunk=N, or undefined for the library's default; transcribe() rejects a bad value. */
function prefillChunkFromQuery(): number | undefined {
  const value = new URLSearchParams(location.search).get('prefillChunk');
  return value === null || value === '' ? undefined : Number(value);
}

function applyQuery(): void {
  const query = new URLSearchParams(location.search);
  const set = (input: HTMLInputElement | HTMLSelectElement, name: string) => {
    const value = query.get(name);
    if (value !== null) {
      if (input instanceof HTMLSelectElement && ![...input.options].some((o) => o.value === value)) input.append(new Option(value, value));
      input.value = value;
    }
  };
  set(el.location, 'model');
  set(el.dtype, 'dtype');
  set(el.device, 'device');
  set(el.hotwords, 'hotwords');
  set(el.maxTokens, 'maxNewTokens');
}

function wire(): void {
  el.modelForm.addEventListener('submit', (event) => {
    event.preventDefault();
    void onLoadClicked();
  });
  el.location.addEventListener('change', () => void inspect());
  el.device.addEventListener('change', () => void inspect());
  el.file.addEventListener('change', () => onFiles(el.file.files));
  el.dropZone.addEventListener('dragover', (event) => {
    event.preventDefault();
    el.dropZone.classList.add('dragging');
  });
  el.dropZone.addEventListener('dragleave', () => el.dropZone.classList.remove('dragging'));
  el.dropZone.addEventListener('drop', (event) => {
    event.preventDefault();
    el.dropZone.classList.remove('dragging');
    onFiles(event.dataTransfer?.files);
  });
  el.record.addEventListener('click', () => void onRecordClicked());
  el.transcribe.addEventListener('click', () => void transcribe());
  el.stop.addEventListener('click', () => {
    abort?.abort();
    if (el.status.dataset.state === 'transcribing') setStatus('transcribing', 'Stopping…');
  });
  el.dtype.addEventListener('change', () => void checkFit());
  if (!Recorder.supported()) el.record.title = 'This browser cannot record audio here (needs a secure context and MediaRecorder).';
}

applyQuery();
wire();
updateButtons();
const ready = Promise.all([showDevice(), inspect(), cachePanel.refresh()]).then(() => undefined);

Object.assign(window, {
  vibevoice: {
    library: () => import(/* not bundled: the whole library, on this thread */ new URL('vibevoice-asr.js', import.meta.url).href),
    parseTranscription,
    toSrt,
    toVtt,
    toJson,
    describeWebGpuAdapter,
    app: {
      get asr() {
        return asr;
      },
      get result() {
        return result;
      },
      get audio() {
        return audio;
      },
      load: loadModel,
      transcribe,
      setAudio,
      showResult,
      ready,
    },
  },
});
