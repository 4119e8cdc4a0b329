// Prompt ids against transformers' VibeVoiceAsrProcessor.apply_transcription_request (fixtures from
// make_fixtures.py, made with the tiny checkpoint's tokenizer, which is copied beside them).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fixture, lib } from './helpers.mjs';

const tokenizerJson = fixture('tiny_tokenizer/tokenizer.json');
const tokenizerConfig = fixture('tiny_tokenizer/tokenizer_config.json');
const config = fixture('tiny_tokenizer/config.json');
const processorConfig = fixture('tiny_tokenizer/processor_config.json');

const tokenizer = new lib.Tokenizer(tokenizerJson, tokenizerConfig);
const template = new lib.Template(tokenizerConfig.chat_template);

/** The same rendering context Transformers.js' apply_chat_template passes. */
function specialTokens() {
  const map = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
    const value = tokenizerConfig[key];
    const content = typeof value === 'object' && value !== null ? value.content : value;
    if (content) map[key] = content;
  }
  return map;
}

const promptTokenizer = {
  encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
  renderChat: (messages) => template.render({ messages, add_generation_prompt: true, tools: null, documents: null, ...specialTokens() }),
};

const settings = lib.readSettings({
  config,
  processor: processorConfig,
  generation: { eos_token_id: [600, 602] },
  tokenToId: (token) => tokenizer.token_to_id(token),
});

describe('prompt ids equal the HF processor', () => {
  const { cases } = fixture('prompts.json');
  for (const c of cases) {
    it(`${c.num_samples} samples, hotwords ${JSON.stringify(c.hotwords)}`, () => {
      const prompt = lib.buildPrompt(promptTokenizer, settings.prompt, Math.ceil(c.num_samples / 3200), c.num_samples / 24000, c.hotwords);
      assert.deepEqual(prompt.ids, c.ids);
    });
  }
});

describe('prompt text', () => {
  it('expands the audio placeholder once per token and writes the duration like Python', () => {
    const prompt = lib.buildPrompt(promptTokenizer, settings.prompt, 3, 1.125, 'Alice');
    assert.match(prompt.text, /<\|object_ref_start\|>(<\|box_start\|>){3}<\|object_ref_end\|>/);
    assert.match(prompt.text, /This is a 1\.12 seconds audio, with extra info: Alice\n\nPlease transcribe/);
    assert.equal(prompt.ids.filter((id) => id === config.audio_token_id).length, 3);
  });

  it('joins a list of hotwords with commas and leaves empty hotwords out', () => {
    assert.deepEqual(lib.transcriptionMessages(['A', 'B'])[0].content[1], { type: 'text', text: 'A, B' });
    assert.equal(lib.transcriptionMessages('')[0].content.length, 1);
    assert.equal(lib.transcriptionMessages(null)[0].content.length, 1);
  });

  it('refuses hotwords holding the audio placeholders', () => {
    assert.throws(() => lib.buildPrompt(promptTokenizer, settings.prompt, 1, 0.1, 'x <|box_start|>'), { code: 'bad-input' });
    assert.throws(() => lib.buildPrompt(promptTokenizer, settings.prompt, 1, 0.1, '<|AUDIO_DURATION|>'), { code: 'bad-input' });
  });

  it('reads the settings of an artifact folder', () => {
    assert.equal(settings.prompt.audioTokenId, config.audio_token_id);
    assert.equal(settings.chunkSize, config.acoustic_tokenizer_chunk_size);
    assert.deepEqual(settings.eosTokenIds, [600, 602]);
    assert.equal(settings.frontEnd.sampleRate, 24000);
    assert.throws(() => lib.readSettings({ config: { ...config, model_type: 'qwen2' }, tokenToId: () => null }), { code: 'bad-config' });
    assert.throws(() => lib.readSettings({ config: { ...config, acoustic_tokenizer_chunk_size: 1000 }, tokenToId: () => null }), { code: 'bad-config' });
  });

  it("caps tokens at generation_config.json's max_new_tokens, else the shared default", () => {
    const read = (generation) => lib.readSettings({ config, processor: processorConfig, generation, tokenToId: (t) => tokenizer.token_to_id(t) });
    assert.equal(settings.maxNewTokens, lib.DEFAULT_MAX_NEW_TOKENS);
    assert.equal(read({ eos_token_id: 600, max_new_tokens: 24 }).maxNewTokens, 24);
    assert.equal(read({ eos_token_id: 600, max_new_tokens: null }).maxNewTokens, lib.DEFAULT_MAX_NEW_TOKENS);
    for (const bad of ['many', 0, 2.5]) assert.throws(() => read({ eos_token_id: 600, max_new_tokens: bad }), { code: 'bad-config' });
  });
});

describe('duration string', () => {
  it("equals Python's f'{x:.2f}' (ties at odd eighths round to even)", () => {
    const { values, python } = fixture('durations.json');
    const wrong = values.map((v, i) => [v, lib.formatFixed2(v), python[i]]).filter(([, got, want]) => got !== want);
    assert.deepEqual(wrong, []);
    assert.equal(lib.formatFixed2(1.125), '1.12');
    assert.equal(lib.formatFixed2(0.375), '0.38');
    assert.equal((1.125).toFixed(2), '1.13'); // why formatFixed2 exists
  });
});
