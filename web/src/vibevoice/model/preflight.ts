// The pre-flight check: before anything large is downloaded, what the chosen variant needs for the
// chosen audio length (download, memory, the largest GPU buffer) against what this browser offers,
// and for each thing that will not fit, what would (another variant, or the longest audio that fits).
// Browser-free: the limits come in as plain numbers (model/probe.ts reads them in a page or Worker).
import { ARTIFACT, type Dtype } from '../artifact';
import { VibeVoiceError } from '../errors';
import {
  encoderActivations,
  kvBytesPerToken,
  largestChunkSamples,
  parameters,
  readModelShape,
  tokenEstimate,
  weightSizes,
  type ModelShape,
  type NamedBytes,
  type Parameter,
  type TokenEstimate,
  type WeightSizes,
} from './footprint';
import { availableDtypes, DTYPES, isDtype, runnableDtypes, type Device } from './variants';

type Json = Record<string, unknown>;

export interface PreflightEnvironment {
  device: Device;
  /** The adapter has shader-f16 (only used to pick which variants a suggestion may name). */
  shaderF16?: boolean;
  /** GPUAdapter.limits; absent on WASM. */
  maxBufferSize?: number;
  maxStorageBufferBindingSize?: number;
  /** navigator.deviceMemory (GiB, rounded, at most 8 in Chrome), where the browser has it. */
  deviceMemoryGiB?: number;
  /** navigator.storage.estimate(), where the browser has it and downloads go to the browser's cache. */
  storage?: { quota?: number; usage?: number };
  /** Bytes of this variant already in the browser's cache (0 when unknown). */
  cachedBytes?: number;
}

export interface PreflightInput {
  /** The artifact folder's config.json. */
  config: Json;
  /** manifest.json, when the folder has one: exact download sizes. */
  manifest?: Json | null;
  dtype: Dtype;
  durationS: number;
  environment: PreflightEnvironment;
  /** Variants a suggestion may name; default: those the folder holds that the device runs. */
  dtypes?: readonly Dtype[];
  /** Prompt tokens besides the audio's (default footprint.PROMPT_TOKENS; more with long hotwords). */
  promptTokens?: number;
  /** generation_config.json's max_new_tokens, when known: caps the transcript estimate. */
  maxNewTokens?: number;
}

export type PreflightCode = 'tensor-too-large' | 'device-memory' | 'storage-quota' | 'audio-too-long';

export interface PreflightProblem {
  code: PreflightCode;
  /** 'warning': may not fit (navigator.deviceMemory is capped, so the device may have more). */
  severity: 'error' | 'warning';
  /** What does not fit, with both numbers. */
  message: string;
  /** What would fit: another variant, or shorter audio; or that nothing here would. */
  suggestion: string;
  /** The same as data: a variant that fits at this length, the longest audio this variant fits. */
  fix: { dtype?: Dtype; maxDurationS?: number };
}

export interface MemoryEstimate {
  weights: number;
  /** Key and value of every layer for every prompt and answer token. */
  kvCache: number;
  /** What the audio encoder holds at once in its largest chunk. */
  encoderActivations: number;
  /** The decoded clip, 24 kHz float32. */
  audio: number;
  total: number;
}

export interface PreflightReport {
  dtype: Dtype;
  durationS: number;
  device: Device;
  download: { bytes: number; exact: boolean; cachedBytes: number; toFetchBytes: number };
  memory: MemoryEstimate;
  tokens: TokenEstimate & { maxPositions: number };
  kvBytesPerToken: number;
  largestWeight: NamedBytes;
  largestActivation: NamedBytes;
  /** The larger of the two: what must fit in one GPU buffer. */
  largestTensor: NamedBytes & { kind: 'weight' | 'activation' };
  /** The smaller of maxBufferSize and maxStorageBufferBindingSize; null on WASM or when unknown. */
  bufferLimit: { bytes: number; name: 'maxBufferSize' | 'maxStorageBufferBindingSize' } | null;
  problems: PreflightProblem[];
  /** No problem of severity 'error'. */
  fits: boolean;
}

const GIB = 2 ** 30;
// Chrome reports navigator.deviceMemory rounded to a power of two and at most 8: a device reporting
// 8 may have more, so needing more than that is a warning, not an error.
const DEVICE_MEMORY_CAP_GIB = 8;

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  return `${Math.round(n / 1e3)} kB`;
}

export function formatDuration(seconds: number): string {
  const s = Math.floor(seconds);
  const [h, m, r] = [Math.floor(s / 3600), Math.floor((s % 3600) / 60), s % 60];
  return [h && `${h} h`, m && `${m} min`, (r || !(h || m)) && `${r} s`].filter(Boolean).join(' ');
}

/**
 * The folder's files for one variant, with their sizes: its three graphs and their data chunks, and
 * every file outside onnx/. Null without a manifest (or one that lacks the variant's graphs).
 */
export function variantFiles(manifest: Json | null | undefined, dtype: Dtype): Map<string, number> | null {
  const files = manifest?.files;
  if (!files || typeof files !== 'object') return null;
  const dir = `${ARTIFACT.files.onnx_dir}/`;
  const graphs = ARTIFACT.graphs.map((g) => `${dir}${g}${ARTIFACT.dtypes[dtype].suffix}.onnx`);
  if (!graphs.every((g) => g in (files as Json))) return null;
  const out = new Map<string, number>();
  for (const [name, entry] of Object.entries(files as Json)) {
    const size = (entry as Json | null)?.bytes;
    if (typeof size !== 'number') continue;
    const ours = graphs.some((g) => name === g || name === `${g}_data` || name.startsWith(`${g}_data_`));
    if (ours || !name.startsWith(dir)) out.set(name, size);
  }
  return out;
}

/** The bytes of variantFiles(), or null without a manifest. */
export function manifestDownloadBytes(manifest: Json | null | undefined, dtype: Dtype): number | null {
  const files = variantFiles(manifest, dtype);
  return files ? [...files.values()].reduce((a, b) => a + b, 0) : null;
}

/** Numbers of one variant at one length, before they are compared with anything. */
interface Estimate {
  dtype: Dtype;
  durationS: number;
  download: PreflightReport['download'];
  memory: MemoryEstimate;
  tokens: PreflightReport['tokens'];
  kvBytesPerToken: number;
  largestWeight: NamedBytes;
  largestActivation: NamedBytes;
  largestTensor: PreflightReport['largestTensor'];
}

type Problem = Omit<PreflightProblem, 'suggestion' | 'fix'>;

class Model {
  readonly shape: ModelShape;
  private readonly params: Parameter[];
  private readonly weights = new Map<Dtype, WeightSizes>();

  constructor(
    config: Json,
    private readonly input: PreflightInput,
  ) {
    this.shape = readModelShape(config);
    this.params = parameters(this.shape);
  }

  weightsOf(dtype: Dtype): WeightSizes {
    if (!this.weights.has(dtype)) this.weights.set(dtype, weightSizes(this.params, dtype));
    return this.weights.get(dtype)!;
  }

  estimate(dtype: Dtype, durationS: number): Estimate {
    const weights = this.weightsOf(dtype);
    const tokens = tokenEstimate(this.shape, durationS, this.input);
    const kv = kvBytesPerToken(this.shape, dtype);
    const activations = encoderActivations(this.shape, dtype, largestChunkSamples(this.shape, durationS));
    const audio = Math.round(durationS * ARTIFACT.front_end.sampling_rate) * 4;
    const memory = { weights: weights.total, kvCache: tokens.total * kv, encoderActivations: activations.peakBytes, audio, total: 0 };
    memory.total = memory.weights + memory.kvCache + memory.encoderActivations + memory.audio;
    const exact = manifestDownloadBytes(this.input.manifest, dtype);
    const cachedBytes = Math.max(0, this.input.environment.cachedBytes ?? 0);
    const bytes = exact ?? weights.total;
    const largestTensor =
      activations.largest.bytes > weights.largest.bytes
        ? { ...activations.largest, kind: 'activation' as const }
        : { ...weights.largest, kind: 'weight' as const };
    return {
      dtype,
      durationS,
      download: { bytes, exact: exact !== null, cachedBytes, toFetchBytes: Math.max(0, bytes - cachedBytes) },
      memory,
      tokens: { ...tokens, maxPositions: this.shape.maxPositions },
      kvBytesPerToken: kv,
      largestWeight: weights.largest,
      largestActivation: activations.largest,
      largestTensor,
    };
  }
}

export function bufferLimit(env: PreflightEnvironment): PreflightReport['bufferLimit'] {
  if (env.device !== 'webgpu') return null;
  const limits = (['maxBufferSize', 'maxStorageBufferBindingSize'] as const)
    .filter((name) => typeof env[name] === 'number' && env[name]! > 0)
    .map((name) => ({ name, bytes: env[name]! }));
  return limits.sort((a, b) => a.bytes - b.bytes)[0] ?? null;
}

/** What of one estimate does not fit this environment. */
function problemsOf(e: Estimate, env: PreflightEnvironment): Problem[] {
  const out: Problem[] = [];
  const limit = bufferLimit(env);
  const t = e.largestTensor;
  if (limit && t.bytes > limit.bytes) {
    out.push({
      code: 'tensor-too-large',
      severity: 'error',
      message: `${e.dtype}'s largest ${t.kind === 'weight' ? 'weight' : 'activation'}, ${t.name} (${formatBytes(t.bytes)}), exceeds this GPU's ${limit.name} (${formatBytes(limit.bytes)}).`,
    });
  }
  if (e.tokens.total > e.tokens.maxPositions) {
    out.push({
      code: 'audio-too-long',
      severity: 'error',
      message: `${formatDuration(e.durationS)} of audio needs about ${e.tokens.total} decoder positions (${e.tokens.audio} audio, ${e.tokens.prompt} prompt, ${e.tokens.answer} transcript); the model has ${e.tokens.maxPositions}.`,
    });
  }
  if (env.deviceMemoryGiB !== undefined && env.deviceMemoryGiB > 0 && e.memory.total > env.deviceMemoryGiB * GIB) {
    const capped = env.deviceMemoryGiB >= DEVICE_MEMORY_CAP_GIB;
    out.push({
      code: 'device-memory',
      severity: capped ? 'warning' : 'error',
      message:
        `${e.dtype} with ${formatDuration(e.durationS)} of audio needs about ${formatBytes(e.memory.total)} of memory; this device reports ` +
        (capped ? `${env.deviceMemoryGiB} GiB, the most browsers tell, so it may still fit.` : `${env.deviceMemoryGiB} GiB.`),
    });
  }
  const quota = env.storage?.quota;
  if (quota !== undefined && e.download.toFetchBytes > quota - (env.storage?.usage ?? 0)) {
    const free = Math.max(0, quota - (env.storage?.usage ?? 0));
    out.push({
      code: 'storage-quota',
      severity: 'error',
      message: `${e.dtype} downloads ${formatBytes(e.download.toFetchBytes)}${e.download.cachedBytes ? ' beyond what is cached' : ''}; this site may store ${formatBytes(free)} more.`,
    });
  }
  return out;
}

/** The variants a suggestion may name: the caller's, else those the folder holds that the device runs. */
function candidates(input: PreflightInput): Dtype[] {
  if (input.dtypes) return DTYPES.filter((d) => input.dtypes!.includes(d));
  const held = availableDtypes(input.config, input.manifest ?? null);
  const env = input.environment;
  // Without a listing, any variant but the ternary ones: only a folder exported from a ternary
  // (BitNet) checkpoint has q2 / q2f16, and it lists them.
  const possible = held.length ? held : DTYPES.filter((d) => !ARTIFACT.dtypes[d].ternary);
  return runnableDtypes(possible, env.device, env.shaderF16 ?? false);
}

/** The longest whole number of seconds below `durationS` at which `ok` holds, or undefined. */
function longestThatFits(durationS: number, ok: (seconds: number) => boolean): number | undefined {
  let lo = 1;
  let hi = Math.ceil(durationS) - 1; // ok(s) is monotone: more audio never needs less
  if (hi < 1 || !ok(1)) return undefined; // shorter audio would not help
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function suggest(model: Model, input: PreflightInput, code: PreflightCode): Pick<PreflightProblem, 'suggestion' | 'fix'> {
  const env = input.environment;
  const errors = (e: Estimate) => problemsOf(e, env).filter((p) => p.severity === 'error');
  const other = candidates(input)
    .filter((d) => d !== input.dtype)
    .map((d) => model.estimate(d, input.durationS))
    .find((e) => !errors(e).length && !problemsOf(e, env).some((p) => p.code === code));
  const maxDurationS = longestThatFits(input.durationS, (s) => !problemsOf(model.estimate(input.dtype, s), env).some((p) => p.code === code));
  const parts: string[] = [];
  if (other) {
    parts.push(
      `${other.dtype} would fit (downloads ${formatBytes(other.download.toFetchBytes)}, needs about ${formatBytes(other.memory.total)}, largest tensor ${formatBytes(other.largestTensor.bytes)}).`,
    );
  }
  if (maxDurationS !== undefined) parts.push(`${other ? 'Or t' : 'T'}ranscribe at most ${formatDuration(maxDurationS)} of audio at a time with ${input.dtype}.`);
  if (!parts.length) {
    parts.push(
      code === 'storage-quota'
        ? "Free some of this site's storage: remove models cached here that you no longer use (listCachedModels(), deleteCachedModel()), or free disk space for the browser."
        : code === 'audio-too-long'
          ? 'Split the audio into shorter parts.'
          : `No variant this folder holds fits here, at any audio length: use a device with ${code === 'tensor-too-large' ? 'larger GPU buffers' : 'more memory'}.`,
    );
  }
  return { suggestion: parts.join(' '), fix: { ...(other ? { dtype: other.dtype } : {}), ...(maxDurationS !== undefined ? { maxDurationS } : {}) } };
}

function checkInput(input: PreflightInput): void {
  if (!isDtype(input.dtype)) {
    throw new VibeVoiceError('bad-input', `preflight: dtype ${JSON.stringify(input.dtype)} is not one of ${DTYPES.join(', ')}; pass the variant to load.`);
  }
  if (typeof input.durationS !== 'number' || !Number.isFinite(input.durationS) || input.durationS <= 0) {
    throw new VibeVoiceError('bad-input', `preflight: durationS is ${JSON.stringify(input.durationS)}; expected the audio's length in seconds, above 0.`);
  }
  if (!input.environment || (input.environment.device !== 'webgpu' && input.environment.device !== 'wasm')) {
    throw new VibeVoiceError('bad-input', "preflight: environment.device must be 'webgpu' or 'wasm' (probeEnvironment() gives the whole environment).");
  }
}

/** What `input.dtype` needs for `input.durationS` seconds of audio here, and what will not fit. */
export function preflight(input: PreflightInput): PreflightReport {
  checkInput(input);
  const model = new Model(input.config, input);
  const estimate = model.estimate(input.dtype, input.durationS);
  const problems = problemsOf(estimate, input.environment).map((p) => ({ ...p, ...suggest(model, input, p.code) }));
  return {
    ...estimate,
    device: input.environment.device,
    bufferLimit: bufferLimit(input.environment),
    problems,
    fits: !problems.some((p) => p.severity === 'error'),
  };
}

/** Throws a 'wont-fit' VibeVoiceError naming every error of the report and what would fit; returns the report otherwise. */
export function assertFits(report: PreflightReport): PreflightReport {
  const errors = report.problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new VibeVoiceError('wont-fit', errors.map((p) => `${p.message} ${p.suggestion}`).join(' '));
  return report;
}
