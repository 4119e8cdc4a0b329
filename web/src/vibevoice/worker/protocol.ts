// The messages between the main-thread client (client.ts) and the library in a Worker (worker.ts).
// Everything in them survives structured cloning: options lose their callbacks and signals, which
// travel as events and an abort message instead.
import type { AudioCheck, InspectOptions, LoadOptions, LoadProgress, ModelInspection, PreflightOptions, TranscribeOptions, TranscribeStage, TranscriptionResult } from '../asr';
import type { PreflightReport } from '../model/preflight';
import type { AudioSource } from '../audio/decode';
import type { TokenEvent } from '../generation/hooks';
import type { AdapterReport } from '../model/adapter';
import type { Device, Dtype } from '../model/variants';
import type { ModelSource } from '../model/location';
import type { ModelSettings } from '../text/settings';
import type { VibeVoiceErrorCode } from '../errors';

export type WorkerLoadOptions = Omit<LoadOptions, 'onProgress'>;
export type WorkerTranscribeOptions = Omit<TranscribeOptions, 'onToken' | 'onStage' | 'signal'>;

/** What the client knows of the loaded model without asking the Worker again. */
export interface LoadedModel {
  source: ModelSource;
  device: Device;
  dtype: Dtype;
  available: Dtype[];
  adapter: AdapterReport;
  fallbackReason: string | null;
  settings: ModelSettings;
  plan: PreflightReport;
}

export type RuntimeInfo = ReturnType<import('../asr').VibeVoiceASR['runtimeInfo']>;

export type Request =
  | { id: number; type: 'inspect'; location: string; options: InspectOptions }
  | { id: number; type: 'preflight'; location: string; options: PreflightOptions }
  | { id: number; type: 'checkAudio'; source: AudioSource }
  | { id: number; type: 'load'; location: string; options: WorkerLoadOptions }
  | { id: number; type: 'transcribe'; source: AudioSource; options: WorkerTranscribeOptions }
  | { id: number; type: 'abort'; target: number }
  | { id: number; type: 'runtimeInfo' }
  | { id: number; type: 'dispose' };

export interface ErrorPayload {
  name: string;
  message: string;
  code: VibeVoiceErrorCode | null;
  /** The Worker has no decoder for this file: decode on the main thread and send the samples. */
  mainThreadDecode: boolean;
}

export type Reply =
  | { id: number; type: 'progress'; event: LoadProgress }
  | { id: number; type: 'token'; event: TokenEvent }
  | { id: number; type: 'stage'; event: TranscribeStage }
  | { id: number; type: 'done'; value: ModelInspection | PreflightReport | AudioCheck | LoadedModel | TranscriptionResult | RuntimeInfo | null }
  | { id: number; type: 'error'; error: ErrorPayload };

/** A request before the client numbers it (Omit of each member: Omit on a union would merge them). */
export type RequestBody = Request extends infer R ? (R extends unknown ? Omit<R, 'id'> : never) : never;
