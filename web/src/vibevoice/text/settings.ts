// The numbers and strings the pipeline reads from an artifact folder's JSON files.
import { ARTIFACT } from '../artifact';
import { DEFAULT_FRONT_END, type FrontEndSettings } from '../audio/prepare';
import { VibeVoiceError } from '../errors';
import type { PromptSettings } from './prompt';

type Json = Record<string, unknown>;

export interface ModelSettings {
  frontEnd: FrontEndSettings;
  prompt: PromptSettings;
  /** Samples per audio-encoder call (config acoustic_tokenizer_chunk_size), a multiple of the hop. */
  chunkSize: number;
  eosTokenIds: number[];
  /** generation_config.json's max_new_tokens, the default cap. */
  maxNewTokens: number;
}

export interface SettingsSources {
  config: Json;
  preprocessor?: Json | null;
  processor?: Json | null;
  generation?: Json | null;
  /** The id of a token string, from the tokenizer. */
  tokenToId: (token: string) => number | null | undefined;
}

function num(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function str(value: unknown, fallback: string): string {
  return typeof value === 'string' && value ? value : fallback;
}

function ids(value: unknown): number[] {
  if (Array.isArray(value)) return value.filter((v): v is number => typeof v === 'number');
  return typeof value === 'number' ? [value] : [];
}

export const DEFAULT_CHUNK_SIZE = ARTIFACT.front_end.encoder_chunk_size;

// The cap on generated tokens when generation_config.json names none, the Python runtime's too
// (artifact/contract.py says why it is the decoder's whole context).
export const DEFAULT_MAX_NEW_TOKENS = ARTIFACT.generation.max_new_tokens;

/** generation_config.json's max_new_tokens, or the default; a value that is not a positive integer is refused. */
function maxNewTokens(generation: Json | null | undefined): number {
  const value = generation?.max_new_tokens;
  if (value === undefined || value === null) return DEFAULT_MAX_NEW_TOKENS;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new VibeVoiceError('bad-config', `generation_config.json's max_new_tokens is ${JSON.stringify(value)}; expected a positive integer.`);
  }
  return value;
}

/** Throws unless config.json describes VibeVoice-ASR. */
export function checkModelType(config: Json): void {
  if (config.model_type !== 'vibevoice_asr') {
    throw new VibeVoiceError(
      'bad-config',
      `config.json has model_type ${JSON.stringify(config.model_type)}; expected "vibevoice_asr" (an artifact folder made by \`vibevoice-asr-web export\`).`,
    );
  }
}

export function readSettings({ config, preprocessor, processor, generation, tokenToId }: SettingsSources): ModelSettings {
  checkModelType(config);
  const pre = preprocessor ?? {};
  const proc = processor ?? {};
  const hop = num(pre.hop_length, num(pre.pad_to_multiple_of, DEFAULT_FRONT_END.hop));
  const frontEnd: FrontEndSettings = {
    sampleRate: num(pre.sampling_rate, DEFAULT_FRONT_END.sampleRate),
    hop: num(pre.pad_to_multiple_of, hop),
    normalize: pre.normalize_audio !== false,
    targetDbfs: num(pre.target_dB_FS, DEFAULT_FRONT_END.targetDbfs),
    eps: num(pre.eps, DEFAULT_FRONT_END.eps),
  };
  const chunkSize = num(config.acoustic_tokenizer_chunk_size, num(pre.encoder_chunk_size, DEFAULT_CHUNK_SIZE));
  if (chunkSize <= 0 || chunkSize % frontEnd.hop) {
    throw new VibeVoiceError('bad-config', `The encoder chunk size ${chunkSize} is not a positive multiple of the hop ${frontEnd.hop} samples.`);
  }
  const audioToken = str(proc.audio_token, '<|box_start|>');
  const audioTokenId = num(config.audio_token_id, tokenToId(audioToken) ?? NaN);
  if (!Number.isInteger(audioTokenId)) {
    throw new VibeVoiceError('bad-config', `Neither config.json's audio_token_id nor the tokenizer gives an id for ${audioToken}.`);
  }
  const prompt: PromptSettings = {
    audioToken,
    audioBosToken: str(proc.audio_bos_token, '<|object_ref_start|>'),
    audioEosToken: str(proc.audio_eos_token, '<|object_ref_end|>'),
    durationToken: str(proc.audio_duration_token, '<|AUDIO_DURATION|>'),
    audioTokenId,
  };
  const textConfig = (config.text_config ?? {}) as Json;
  let eosTokenIds = ids(generation?.eos_token_id);
  if (!eosTokenIds.length) eosTokenIds = ids(config.eos_token_id ?? textConfig.eos_token_id);
  if (!eosTokenIds.length) throw new VibeVoiceError('bad-config', 'No eos_token_id in generation_config.json or config.json.');
  return { frontEnd, prompt, chunkSize, eosTokenIds, maxNewTokens: maxNewTokens(generation) };
}
