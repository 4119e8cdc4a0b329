// What a variant needs, from config.json alone: every parameter's shape and bytes, the KV cache per
// token, the audio encoder's activations for one chunk, and the tokens a clip puts in the decoder.
// Every estimation formula of the pre-flight check is here. The weights and KV numbers are those of
// the Python package's `size-report` (size_report.py over inventory.py), which test/preflight.test.mjs
// holds them to; inventory.py reads transformers' module tree, which a browser does not have, so the
// same tree is written out below (transformers 5.23's VibeVoice-ASR: two encoder towers, the
// projector, Qwen2).
import { ARTIFACT, type Dtype } from '../artifact';
import { VibeVoiceError } from '../errors';
import { checkModelType } from '../text/settings';

type Json = Record<string, unknown>;
type Graph = 'audio_encoder' | 'embed_tokens' | 'decoder_model_merged';

/** int4 weights are stored in blocks of this many along the input dim, one scale per block (the artifact description). */
export const INT4_BLOCK = ARTIFACT.int4_block_size;
/** Transcript tokens per minute of speech: words, JSON keys, timestamps (the artifact description). */
export const ANSWER_TOKENS_PER_MINUTE = ARTIFACT.transcript_tokens_per_minute;
/**
 * Prompt tokens besides the audio's: chat template, instruction, duration, audio start/end and a few
 * hotwords (the tiny checkpoint's byte-level tokenizer takes 67 without hotwords; Qwen2's fewer).
 */
export const PROMPT_TOKENS = 128;

export type ParameterKind = 'embedding' | 'matmul' | 'conv' | 'other';

export interface Parameter {
  /** transformers' state_dict name, also the ONNX initializer name. */
  name: string;
  shape: number[];
  kind: ParameterKind;
  graph: Graph;
}

export interface EncoderShape {
  tower: 'acoustic' | 'semantic';
  /** Latent width (the tower's output). */
  hiddenSize: number;
  channels: number;
  numFilters: number;
  kernelSize: number;
  downsamplingRatios: number[];
  depths: number[];
  ffnExpansion: number;
}

export interface ModelShape {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  /** The decoder's context: prompt plus generated tokens. */
  maxPositions: number;
  encoders: [EncoderShape, EncoderShape];
  /** Samples per audio_encoder call. */
  chunkSize: number;
  /** Samples per audio token (the product of the downsampling ratios). */
  hop: number;
}

// transformers' VibeVoiceAcousticTokenizerEncoderConfig defaults (the semantic tower's hidden_size is
// 128), for fields a config.json leaves out; the same ones artifact/contract.py assumes.
const ENCODER_DEFAULTS = ARTIFACT.encoder_defaults;
const DEFAULT_MAX_POSITIONS = 32768;

function bad(what: string): never {
  throw new VibeVoiceError('bad-config', `config.json ${what}; expected a VibeVoice-ASR config (download or export the folder again).`);
}

function positive(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) bad(`has ${name} ${JSON.stringify(value)}, not a positive integer`);
  return value;
}

function positives(value: unknown, name: string): number[] {
  if (!Array.isArray(value) || !value.length) bad(`has ${name} ${JSON.stringify(value)}, not a list of positive integers`);
  return value.map((v, i) => positive(v, `${name}[${i}]`));
}

function readEncoder(tower: EncoderShape['tower'], value: unknown): EncoderShape {
  const c = { ...ENCODER_DEFAULTS, hidden_size: tower === 'semantic' ? 128 : 64, ...((value ?? {}) as Json) };
  const key = `${tower}_tokenizer_encoder_config`;
  const shape: EncoderShape = {
    tower,
    hiddenSize: positive(c.hidden_size, `${key}.hidden_size`),
    channels: positive(c.channels, `${key}.channels`),
    numFilters: positive(c.num_filters, `${key}.num_filters`),
    kernelSize: positive(c.kernel_size, `${key}.kernel_size`),
    downsamplingRatios: positives(c.downsampling_ratios, `${key}.downsampling_ratios`),
    depths: positives(c.depths, `${key}.depths`),
    ffnExpansion: positive(c.ffn_expansion, `${key}.ffn_expansion`),
  };
  if (shape.depths.length !== shape.downsamplingRatios.length + 1) {
    bad(`has ${shape.depths.length} ${key}.depths for ${shape.downsamplingRatios.length} downsampling ratios (one more depth is needed)`);
  }
  return shape;
}

/** The numbers the estimate needs, from config.json, or a 'bad-config' error naming the first one missing. */
export function readModelShape(config: Json): ModelShape {
  checkModelType(config);
  const text = config.text_config;
  if (!text || typeof text !== 'object') bad('has no text_config object');
  const t = text as Json;
  const hiddenSize = positive(t.hidden_size, 'text_config.hidden_size');
  const numHeads = positive(t.num_attention_heads, 'text_config.num_attention_heads');
  const encoders: [EncoderShape, EncoderShape] = [
    readEncoder('acoustic', config.acoustic_tokenizer_encoder_config),
    readEncoder('semantic', config.semantic_tokenizer_encoder_config),
  ];
  const hop = encoders[0].downsamplingRatios.reduce((a, b) => a * b, 1);
  const chunkSize = positive(config.acoustic_tokenizer_chunk_size ?? ARTIFACT.front_end.encoder_chunk_size, 'acoustic_tokenizer_chunk_size');
  if (chunkSize % hop) bad(`has acoustic_tokenizer_chunk_size ${chunkSize}, not a multiple of the hop ${hop}`);
  return {
    hiddenSize,
    intermediateSize: positive(t.intermediate_size, 'text_config.intermediate_size'),
    numLayers: positive(t.num_hidden_layers, 'text_config.num_hidden_layers'),
    numHeads,
    numKvHeads: positive(t.num_key_value_heads ?? numHeads, 'text_config.num_key_value_heads'),
    headDim: positive(t.head_dim ?? Math.floor(hiddenSize / numHeads), 'text_config.head_dim'),
    vocabSize: positive(t.vocab_size, 'text_config.vocab_size'),
    maxPositions: positive(t.max_position_embeddings ?? DEFAULT_MAX_POSITIONS, 'text_config.max_position_embeddings'),
    encoders,
    chunkSize,
    hop,
  };
}

/** One tower's parameters, in state_dict order: stem, one strided conv and stage per ratio, head. */
function encoderParameters(e: EncoderShape): Parameter[] {
  const prefix = `model.${e.tower}_tokenizer_encoder.`;
  const out: Parameter[] = [];
  const add = (name: string, shape: number[], kind: ParameterKind) => out.push({ name: prefix + name, shape, kind, graph: 'audio_encoder' });
  const conv = (name: string, cOut: number, cIn: number, kernel: number) => {
    add(`${name}.weight`, [cOut, cIn, kernel], 'conv');
    add(`${name}.bias`, [cOut], 'other');
  };
  const stage = (name: string, width: number, depth: number) => {
    const wide = e.ffnExpansion * width;
    for (let i = 0; i < depth; i++) {
      const block = `${name}.${i}`;
      for (const own of ['gamma', 'ffn_gamma', 'norm.weight', 'ffn_norm.weight']) add(`${block}.${own}`, [width], 'other');
      add(`${block}.ffn.linear1.weight`, [wide, width], 'matmul');
      add(`${block}.ffn.linear1.bias`, [wide], 'other');
      add(`${block}.ffn.linear2.weight`, [width, wide], 'matmul');
      add(`${block}.ffn.linear2.bias`, [width], 'other');
      conv(`${block}.mixer.conv`, width, 1, e.kernelSize); // depthwise
    }
  };
  conv('stem.conv.conv', e.numFilters, e.channels, e.kernelSize);
  stage('stem.stage', e.numFilters, e.depths[0]);
  e.downsamplingRatios.forEach((ratio, s) => {
    const width = e.numFilters * 2 ** (s + 1);
    conv(`conv_layers.${s}.conv.conv`, width, e.numFilters * 2 ** s, 2 * ratio);
    stage(`conv_layers.${s}.stage`, width, e.depths[s + 1]);
  });
  conv('head.conv', e.hiddenSize, e.numFilters * 2 ** e.downsamplingRatios.length, e.kernelSize);
  return out;
}

/** Every parameter of the model (lm_head too when tied: the decoder graph holds its own copy). */
export function parameters(m: ModelShape): Parameter[] {
  const out = m.encoders.flatMap(encoderParameters);
  const H = m.hiddenSize;
  const add = (name: string, shape: number[], kind: ParameterKind, graph: Graph = 'audio_encoder') => out.push({ name, shape, kind, graph });
  for (const e of m.encoders) {
    const p = `model.multi_modal_projector.${e.tower}`;
    add(`${p}_linear_1.weight`, [H, e.hiddenSize], 'matmul');
    add(`${p}_linear_1.bias`, [H], 'other');
    add(`${p}_norm.weight`, [H], 'other');
    add(`${p}_linear_2.weight`, [H, H], 'matmul');
    add(`${p}_linear_2.bias`, [H], 'other');
  }
  add('model.language_model.embed_tokens.weight', [m.vocabSize, H], 'embedding', 'embed_tokens');
  const q = m.numHeads * m.headDim;
  const kv = m.numKvHeads * m.headDim;
  const D = 'decoder_model_merged';
  for (let i = 0; i < m.numLayers; i++) {
    const p = `model.language_model.layers.${i}`;
    for (const [proj, rows] of [['q_proj', q], ['k_proj', kv], ['v_proj', kv]] as const) {
      add(`${p}.self_attn.${proj}.weight`, [rows, H], 'matmul', D);
      add(`${p}.self_attn.${proj}.bias`, [rows], 'other', D);
    }
    add(`${p}.self_attn.o_proj.weight`, [H, q], 'matmul', D);
    add(`${p}.mlp.gate_proj.weight`, [m.intermediateSize, H], 'matmul', D);
    add(`${p}.mlp.up_proj.weight`, [m.intermediateSize, H], 'matmul', D);
    add(`${p}.mlp.down_proj.weight`, [H, m.intermediateSize], 'matmul', D);
    add(`${p}.input_layernorm.weight`, [H], 'other', D);
    add(`${p}.post_attention_layernorm.weight`, [H], 'other', D);
  }
  add('model.language_model.norm.weight', [H], 'other', D);
  add('lm_head.weight', [m.vocabSize, H], 'matmul', D);
  return out;
}

/** Bytes of one activation element in a variant (float32 or float16). */
export function activationBytes(dtype: Dtype): number {
  return ARTIFACT.dtypes[dtype].activation === 'float16' ? 2 : 4;
}

function quantized(p: Parameter, dtype: Dtype): boolean {
  return ARTIFACT.dtypes[dtype].int4 && (p.kind === 'matmul' || p.kind === 'embedding');
}

const TERNARY_PROJECTION = /^model\.language_model\.layers\.\d+\.(self_attn\.[qkvo]_proj|mlp\.(gate|up|down)_proj)\.weight$/;

/** Bits per packed weight: 2 for a ternary variant's decoder projections (exact 2-bit MatMulNBits), else 4. */
function bitsOf(p: Parameter, dtype: Dtype): number {
  return ARTIFACT.dtypes[dtype].ternary && TERNARY_PROJECTION.test(p.name) ? 2 : 4;
}

/** The packed part of a quantized weight: [rows, blocks, BLOCK * bits / 8] bytes, its largest tensor. */
function packedBytes(p: Parameter, dtype: Dtype): number {
  const [rows, width] = p.shape;
  return rows * Math.ceil(width / INT4_BLOCK) * ((INT4_BLOCK * bitsOf(p, dtype)) / 8);
}

/** Bytes of one parameter as the quantizer stores it: packed int4 plus one scale per block, or plain. */
export function tensorBytes(p: Parameter, dtype: Dtype): number {
  if (!quantized(p, dtype)) return p.shape.reduce((a, b) => a * b, 1) * activationBytes(dtype);
  const [rows, width] = p.shape;
  return packedBytes(p, dtype) + rows * Math.ceil(width / INT4_BLOCK) * activationBytes(dtype);
}

export interface NamedBytes {
  name: string;
  bytes: number;
}

export interface WeightSizes {
  graphBytes: Record<Graph, number>;
  total: number;
  /** The largest single GPU buffer a weight needs (of a quantized weight: its packed part). */
  largest: NamedBytes;
}

export function weightSizes(params: readonly Parameter[], dtype: Dtype): WeightSizes {
  const graphBytes: Record<Graph, number> = { audio_encoder: 0, embed_tokens: 0, decoder_model_merged: 0 };
  let largest: NamedBytes = { name: '', bytes: 0 };
  for (const p of params) {
    const bytes = tensorBytes(p, dtype);
    graphBytes[p.graph] += bytes;
    const buffer = quantized(p, dtype) ? packedBytes(p, dtype) : bytes;
    if (buffer > largest.bytes) largest = { name: p.name, bytes: buffer }; // the first of equals, as size_report's max()
  }
  const total = graphBytes.audio_encoder + graphBytes.embed_tokens + graphBytes.decoder_model_merged;
  return { graphBytes, total, largest };
}

/** Key and value of every layer, for one token. */
export function kvBytesPerToken(m: ModelShape, dtype: Dtype): number {
  return 2 * m.numLayers * m.numKvHeads * m.headDim * activationBytes(dtype);
}

export interface EncoderActivations {
  /** The largest single activation: a ConvNeXt block's expanded FFN hidden state. */
  largest: NamedBytes;
  /** What is alive at once there: the block's input and its normed copy, the FFN hidden and its GELU. */
  peakBytes: number;
}

/**
 * The audio encoder's activations for one call of `samples` samples (a chunk, or the whole clip when
 * shorter). Each stage runs at width numFilters·2^s on samples / (ratios before it); its ConvNeXt
 * FFN widens that ffnExpansion times, and the widest such state is the peak.
 */
export function encoderActivations(m: ModelShape, dtype: Dtype, samples: number): EncoderActivations {
  const width = activationBytes(dtype);
  let largest: NamedBytes = { name: '', bytes: 0 };
  let peakBytes = 0;
  for (const e of m.encoders) {
    let length = samples;
    for (let s = 0; s <= e.downsamplingRatios.length; s++) {
      if (s > 0) length = Math.ceil(length / e.downsamplingRatios[s - 1]);
      const elements = e.numFilters * 2 ** s * length;
      const hidden = e.ffnExpansion * elements * width;
      const stage = s === 0 ? 'stem.stage' : `conv_layers.${s - 1}.stage`;
      if (e.depths[s] > 0 && hidden > largest.bytes) largest = { name: `${e.tower} ${stage} FFN hidden state`, bytes: hidden };
      peakBytes = Math.max(peakBytes, e.depths[s] > 0 ? 2 * elements * width + 2 * hidden : 0);
    }
  }
  return { largest, peakBytes };
}

export interface TokenEstimate {
  audio: number;
  prompt: number;
  answer: number;
  total: number;
}

export interface TokenOptions {
  /** Prompt tokens besides the audio's (default PROMPT_TOKENS). */
  promptTokens?: number;
  /** The cap on generated tokens (generation_config.json's max_new_tokens); default: no cap but the context. */
  maxNewTokens?: number;
}

/** Decoder tokens for a clip: one audio token per hop, the prompt's others, and the transcript's estimate. */
export function tokenEstimate(m: ModelShape, durationS: number, options: TokenOptions = {}): TokenEstimate {
  const samples = Math.round(durationS * ARTIFACT.front_end.sampling_rate);
  const audio = Math.ceil(samples / m.hop);
  const prompt = options.promptTokens ?? PROMPT_TOKENS;
  const answer = Math.min(Math.ceil((durationS / 60) * ANSWER_TOKENS_PER_MINUTE), options.maxNewTokens ?? Infinity);
  return { audio, prompt, answer, total: audio + prompt + answer };
}

/** Samples in the largest audio_encoder call: a whole chunk, or the clip padded to the hop when shorter. */
export function largestChunkSamples(m: ModelShape, durationS: number): number {
  const samples = Math.round(durationS * ARTIFACT.front_end.sampling_rate);
  return Math.min(m.chunkSize, Math.max(1, Math.ceil(samples / m.hop)) * m.hop);
}
