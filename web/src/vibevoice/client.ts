// The page's entry to the library in a Worker (the package's "vibevoice-asr-web/client"): the
// main-thread client plus the browser-free helpers a page renders results with. It pulls in neither
// Transformers.js nor onnxruntime-web; those load in the Worker ("vibevoice-asr-web/worker").
//
//   import { VibeVoiceASRClient, toSrt, subtitleSegments } from 'vibevoice-asr-web/client';
//   const asr = await VibeVoiceASRClient.load('models/', { onProgress });
//   const result = await asr.transcribe(file, { onToken, signal });
export * from './core';
export {
  CANCEL_GRACE_MS, TranscriptionAborted, VibeVoiceASRClient,
  type ClientLoadOptions, type ClientOptions, type PartialTranscript, type WorkerSource,
} from './worker/client';
export type { LoadedModel, RuntimeInfo } from './worker/protocol';
export type {
  AudioCheck, InspectOptions, LoadOptions, LoadPhase, LoadProgress, ModelInspection, PreflightOptions, Timings, TranscribeOptions, TranscribeStage,
  TranscriptionResult,
} from './asr';
export type { TokenEvent } from './generation/hooks';
export { describeWebGpuAdapter, type AdapterReport } from './model/adapter';
