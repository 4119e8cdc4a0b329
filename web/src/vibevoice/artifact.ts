// What an artifact folder is (graph names, dtypes, input/output names, limits, front-end and generation
// defaults), read from the description the Python package writes at build time: nothing here is typed
// twice. The shape is checked once, when the library loads, so a description from another version
// fails with one clear error instead of undefined names.
import description from 'vibevoice:artifact-description';

export type Dtype = 'fp32' | 'fp16' | 'q4' | 'q4f16' | 'q2' | 'q2f16';

export interface DtypeInfo {
  /** What Transformers.js appends to each graph's file name. */
  suffix: string;
  activation: 'float32' | 'float16';
  /** float16 activations: needs WebGPU's shader-f16. */
  half_precision: boolean;
  /** Block-quantized int4 weights (MatMulNBits, GatherBlockQuantized). */
  int4: boolean;
  /** The ternary decoder projections as exact 2-bit MatMulNBits (BitNet folders only). */
  ternary: boolean;
  /** Held to the GPU buffer and chunk limits (fp32 is the onnxruntime reference). */
  browser: boolean;
}

export interface ArtifactDescription {
  format: number;
  graphs: ['audio_encoder', 'embed_tokens', 'decoder_model_merged'];
  dtypes: Record<Dtype, DtypeInfo>;
  /** What a WebGPU device should run, when it can. */
  best_first: Dtype[];
  /** What onnxruntime's CPU kernels (WASM) should run. */
  cpu_best_first: Dtype[];
  /** config.json's default dtype: the first of these a folder holds. */
  default_dtype_order: Dtype[];
  io: Record<
    | 'audio_values' | 'audio_features' | 'input_ids' | 'inputs_embeds' | 'attention_mask' | 'position_ids'
    | 'num_logits_to_keep' | 'logits' | 'past_conv' | 'present_conv' | 'past_key_values' | 'present',
    string
  >;
  files: Record<'config' | 'generation_config' | 'preprocessor_config' | 'manifest' | 'onnx_dir', string>;
  limits: { gpu_buffer_bytes: number; max_chunk_bytes: number; max_ir_version: number };
  front_end: { sampling_rate: number; hop_length: number; target_dB_FS: number; eps: number; encoder_chunk_size: number };
  generation: { max_new_tokens: number };
  /** An encoder config's values for the keys it leaves out. */
  encoder_defaults: {
    channels: number; num_filters: number; kernel_size: number; ffn_expansion: number; downsampling_ratios: number[]; depths: number[];
  };
  /** int4 weights per scale along the input dim (the quantizer's default). */
  int4_block_size: number;
  /** For size estimates: transcript tokens per minute of speech. */
  transcript_tokens_per_minute: number;
}

const FORMAT = 1;

type Json = Record<string, unknown>;

function fail(what: string): never {
  throw new Error(
    `vibevoice-asr-web: the bundled artifact description ${what}. Rebuild the library (it must come from the same version of the Python package).`,
  );
}

function object(value: unknown, path: string): Json {
  if (!value || typeof value !== 'object' || Array.isArray(value)) fail(`lacks the object ${path}`);
  return value as Json;
}

function keys(value: unknown, path: string, names: readonly string[], type: 'string' | 'number' | 'boolean'): Json {
  const found = object(value, path);
  for (const name of names) if (typeof found[name] !== type) fail(`has no ${type} ${path}.${name}`);
  return found;
}

/** The description, or an Error naming the first thing missing from it. */
export function checkDescription(value: unknown): ArtifactDescription {
  const d = object(value, 'description');
  if (d.format !== FORMAT) fail(`has format ${JSON.stringify(d.format)}, this library reads format ${FORMAT}`);
  if (!Array.isArray(d.graphs) || d.graphs.length !== 3 || !d.graphs.every((g) => typeof g === 'string')) fail('has no list of 3 graphs');
  const dtypes = object(d.dtypes, 'dtypes');
  const names = Object.keys(dtypes); // the `Dtype` type above names them for the compiler; these are the ones that exist
  for (const dtype of names) keys(dtypes[dtype], `dtypes.${dtype}`, ['suffix', 'activation'], 'string');
  for (const dtype of names) keys(dtypes[dtype], `dtypes.${dtype}`, ['half_precision', 'int4', 'ternary', 'browser'], 'boolean');
  for (const list of ['best_first', 'cpu_best_first', 'default_dtype_order']) {
    const order = d[list];
    if (!Array.isArray(order) || order.length !== names.length || !names.every((x) => order.includes(x))) fail(`has no ${list} of every dtype`);
  }
  const io = ['audio_values', 'audio_features', 'input_ids', 'inputs_embeds', 'attention_mask', 'position_ids', 'num_logits_to_keep', 'logits'];
  keys(d.io, 'io', [...io, 'past_conv', 'present_conv', 'past_key_values', 'present'], 'string');
  keys(d.files, 'files', ['config', 'generation_config', 'preprocessor_config', 'manifest', 'onnx_dir'], 'string');
  keys(d.limits, 'limits', ['gpu_buffer_bytes', 'max_chunk_bytes', 'max_ir_version'], 'number');
  keys(d.front_end, 'front_end', ['sampling_rate', 'hop_length', 'target_dB_FS', 'eps', 'encoder_chunk_size'], 'number');
  keys(d.generation, 'generation', ['max_new_tokens'], 'number');
  keys(d.encoder_defaults, 'encoder_defaults', ['channels', 'num_filters', 'kernel_size', 'ffn_expansion'], 'number');
  for (const list of ['downsampling_ratios', 'depths']) {
    const value = object(d.encoder_defaults, 'encoder_defaults')[list];
    if (!Array.isArray(value) || !value.every((n) => typeof n === 'number')) fail(`has no number list encoder_defaults.${list}`);
  }
  keys(d, 'description', ['int4_block_size', 'transcript_tokens_per_minute'], 'number');
  return d as unknown as ArtifactDescription;
}

export const ARTIFACT: ArtifactDescription = checkDescription(description);
