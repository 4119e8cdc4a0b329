// The parts of the library that need neither Transformers.js nor a browser: the audio front end,
// the prompt, the output parser and exporters, the repetition guard, the pre-flight estimate, the
// model cache (OPFS, where the browser has it).
// Node tests import this.
export { decodeWav, isWav } from './audio/wav';
export { sniffAudio, type AudioContainer, type Sniffed } from './audio/sniff';
export { besselI0, firwinLowpass, kaiserWindow } from './audio/fir';
export { gcd, outputLength, resample, resamplePoly } from './audio/resample';
export { normalizeLoudness, numAudioTokens, padToMultiple, rms64, toMono } from './audio/normalize';
export { DEFAULT_FRONT_END, prepareAudio, type FrontEndSettings, type PreparedAudio } from './audio/prepare';
export { decodeAudioBytes, loadAudio, type AudioSource, type DecodeInfo, type RawAudioInput } from './audio/decode';
export type { DecodedAudio } from './audio/types';
export { formatFixed2 } from './text/duration';
export { buildPrompt, expandPrompt, transcriptionMessages, type ChatMessage, type Prompt, type PromptSettings, type PromptTokenizer } from './text/prompt';
export { DEFAULT_MAX_NEW_TOKENS, readSettings, type ModelSettings } from './text/settings';
export { cleanOutput, cutOffSegmentText, parseSeconds, parseTranscription, type ParsedTranscript, type Segment } from './output/parse';
export { formatTimestamp, subtitleSegments, toCues, toJson, toSrt, toText, toVtt, type Cue } from './output/export';
export { RepetitionGuard, type RepetitionGuardOptions } from './generation/repetition';
export { topK, type TopLogits } from './generation/topk';
export { stopReason, type StopFacts, type StopReason } from './generation/stop';
export { PREFILL_CHUNK_TOKENS, checkPrefillChunkTokens, prefillChunks, prefillRowLimit, type PrefillChunk } from './generation/prefill';
export { ARTIFACT, checkDescription, type ArtifactDescription } from './artifact';
export { availableDtypes, chooseDtype, parityFailed, runnableDtypes, needsShaderF16, DTYPES, DTYPE_SUFFIX, GRAPHS, type Device, type Dtype } from './model/variants';
export { resolveModelLocation, type ModelSource } from './model/location';
export {
  ANSWER_TOKENS_PER_MINUTE, INT4_BLOCK, PROMPT_TOKENS, encoderActivations, kvBytesPerToken, parameters, readModelShape, tensorBytes, tokenEstimate, weightSizes,
  type EncoderShape, type ModelShape, type NamedBytes, type Parameter, type TokenEstimate, type WeightSizes,
} from './model/footprint';
export {
  assertFits, formatBytes, formatDuration, manifestDownloadBytes, preflight,
  type MemoryEstimate, type PreflightCode, type PreflightEnvironment, type PreflightInput, type PreflightProblem, type PreflightReport,
} from './model/preflight';
export { isSoftwareAdapter } from './model/adapter';
export { fixLoopLocals, probeLoopLocals, zeroLocals, type LoopLocalsReport } from './model/loop_locals';
export { DEFAULT_PLAN_SECONDS, planVariant, type PlanInput } from './model/plan';
export { probeEnvironment, type AdapterLike, type NavigatorLike, type ProbeOptions } from './model/probe';
export {
  ModelCache, deleteCachedModel, listCachedModels, manifestFiles,
  type CacheLike, type CachedFile, type CachedModel, type ManifestFile, type ModelCacheOptions,
} from './model/cache';
export { CACHE_DIRECTORY, CacheStore, type DirHandle, type EntryMeta, type FileHandleLike, type WritableLike } from './model/cache_store';
export { VibeVoiceError, classifyError, type VibeVoiceErrorCode } from './errors';
