// vibevoice-asr-web: Microsoft's VibeVoice-ASR in the browser on Transformers.js 4.3.1 (WebGPU, or WASM).
//
//   import { VibeVoiceASR, toSrt } from './vibevoice';
//   const asr = await VibeVoiceASR.load('models/', { device: 'auto', dtype: 'auto', onProgress });
//   const result = await asr.transcribe(file, { hotwords: 'Alice, Bob', maxNewTokens: 2048, onToken });
//   result.segments; result.text; toSrt(subtitleSegments(result, result.audio.durationS), result.audio.durationS);
//   // before downloading: does this variant fit here for this much audio, and what would?
//   const report = preflight({ config, manifest, dtype: 'q4f16', durationS: 600, environment: await probeEnvironment(adapter) });
//   // or off the main thread: the same API, the library in a module Worker (see ./client)
//   const asr = await VibeVoiceASRClient.load('models/', { onProgress });
export * from './core';
export {
  CANCEL_GRACE_MS, TranscriptionAborted, VibeVoiceASRClient,
  type ClientLoadOptions, type ClientOptions, type PartialTranscript, type WorkerSource,
} from './worker/client';
export type { LoadedModel, RuntimeInfo } from './worker/protocol';
export { VibeVoiceASR } from './asr';
export type {
  AudioCheck, InspectOptions, LoadOptions, LoadPhase, LoadProgress, ModelInspection, PreflightOptions, Timings, TranscribeOptions, TranscribeStage,
  TranscriptionResult,
} from './asr';
export { chooseDevice, type DeviceChoice, type DeviceRequest } from './model/device';
export { VibeVoiceAsrForConditionalGeneration } from './model/vibevoice_model';
export type { TokenEvent } from './generation/hooks';
export { describeWebGpuAdapter, webgpuDeviceCreated, type AdapterReport } from './model/onnxruntime';
