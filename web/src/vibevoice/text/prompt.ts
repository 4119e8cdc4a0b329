// The transcription prompt, as transformers' VibeVoiceAsrProcessor.apply_transcription_request
// builds it: the chat template rendered for one user turn (audio, then optional context text),
// the duration placeholder replaced by f"{seconds:.2f}", the audio placeholder repeated once per
// audio token, then tokenized without added special tokens.
import { VibeVoiceError } from '../errors';
import { formatFixed2 } from './duration';

export type ChatContent = { type: 'audio' } | { type: 'text'; text: string };
export interface ChatMessage {
  role: 'user' | 'system' | 'assistant';
  content: ChatContent[];
}

/** What the prompt needs from a tokenizer; Transformers.js' tokenizer and @huggingface/tokenizers both fit. */
export interface PromptTokenizer {
  /** Token ids of `text`, with no special tokens added (special tokens written in the text still map to their ids). */
  encode(text: string): number[];
  /** The chat template rendered for `messages` (with add_generation_prompt, as the HF processor passes). */
  renderChat(messages: ChatMessage[]): string;
}

export interface PromptSettings {
  audioToken: string;
  audioBosToken: string;
  audioEosToken: string;
  durationToken: string;
  audioTokenId: number;
}

export interface Prompt {
  text: string;
  ids: number[];
}

/** The single user message: the audio, then the hotwords/context as text when given. */
export function transcriptionMessages(hotwords?: string | string[] | null): ChatMessage[] {
  const context = Array.isArray(hotwords) ? hotwords.join(', ') : hotwords;
  const content: ChatContent[] = [{ type: 'audio' }];
  if (context !== undefined && context !== null && context !== '') content.push({ type: 'text', text: context });
  return [{ role: 'user', content }];
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

/** Checks hotwords for the placeholders the prompt relies on (they would break the audio merge). */
export function checkHotwords(hotwords: string | string[] | null | undefined, settings: PromptSettings): void {
  const text = Array.isArray(hotwords) ? hotwords.join(', ') : hotwords ?? '';
  for (const token of [settings.audioToken, settings.audioBosToken, settings.audioEosToken, settings.durationToken]) {
    if (text.includes(token)) {
      throw new VibeVoiceError('bad-input', `Hotwords must not contain the special token ${token}; remove it and try again.`);
    }
  }
}

/** The prompt text with the duration filled in and the audio placeholder expanded. */
export function expandPrompt(rendered: string, numAudioTokens: number, durationS: number, settings: PromptSettings): string {
  const audio = count(rendered, settings.audioToken);
  const duration = count(rendered, settings.durationToken);
  if (audio !== 1 || duration !== 1) {
    throw new VibeVoiceError(
      'bad-config',
      `The chat template rendered ${audio} audio placeholder(s) (${settings.audioToken}) and ${duration} duration placeholder(s) ` +
        `(${settings.durationToken}); exactly one of each was expected. Check tokenizer_config.json's chat_template.`,
    );
  }
  return rendered
    .replace(settings.durationToken, () => formatFixed2(durationS))
    .replace(settings.audioToken, () => settings.audioToken.repeat(numAudioTokens));
}

/** Prompt text and token ids for a clip of `numAudioTokens` tokens lasting `durationS` seconds. */
export function buildPrompt(
  tokenizer: PromptTokenizer,
  settings: PromptSettings,
  numAudioTokens: number,
  durationS: number,
  hotwords?: string | string[] | null,
): Prompt {
  if (!Number.isInteger(numAudioTokens) || numAudioTokens < 1) {
    throw new VibeVoiceError('bad-input', `Expected at least one audio token, got ${numAudioTokens}.`);
  }
  checkHotwords(hotwords, settings);
  const text = expandPrompt(tokenizer.renderChat(transcriptionMessages(hotwords)), numAudioTokens, durationS, settings);
  const ids = tokenizer.encode(text);
  const placeholders = ids.filter((id) => id === settings.audioTokenId).length;
  if (placeholders !== numAudioTokens) {
    throw new VibeVoiceError(
      'bad-config',
      `The tokenized prompt holds ${placeholders} audio token ids (${settings.audioTokenId}) for ${numAudioTokens} audio tokens: ` +
        `${settings.audioToken} must be a single special token in tokenizer.json.`,
    );
  }
  return { text, ids };
}
