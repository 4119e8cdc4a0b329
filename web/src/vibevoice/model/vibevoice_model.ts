// VibeVoice-ASR on Transformers.js' audio-text-to-text machinery. The artifact folder follows the
// Voxtral contract (audio_encoder + embed_tokens + decoder_model_merged), so the built-in
// VoxtralForConditionalGeneration loads it when handed a config whose model_type reads "voxtral"
// (config.json itself stays truthful: "vibevoice_asr"). Transformers.js 4.3.1 looks model classes
// up by identity, so a subclass cannot load itself: the loaded instance gets this prototype instead.
// The one behaviour that differs from Voxtral is audio encoding: the streaming encoder runs chunk by
// chunk, carrying every causal conv's state (past_conv.* in, present_conv.* out); and the prefill of a
// long prompt runs the decoder chunk by chunk (see forward).
import { DynamicCache, PretrainedConfig, Tensor, VoxtralForConditionalGeneration, type PreTrainedModel } from '@huggingface/transformers';
import { ARTIFACT } from '../artifact';
import { VibeVoiceError } from '../errors';
import { PREFILL_CHUNK_TOKENS, prefillChunks } from '../generation/prefill';
import { yieldToEventLoop } from './event_loop';
import { toFloat16Array } from './float16';
import { concatAxis1, sliceAxis1 } from './tensors';
import type { Device, Dtype } from './variants';

interface ValueMetadata {
  name: string;
  isTensor?: boolean;
  type: string;
  shape: (number | string)[];
}

interface OrtSession {
  inputNames: string[];
  outputNames: string[];
  inputMetadata: ValueMetadata[];
  run(feeds: Record<string, unknown>): Promise<Record<string, unknown>>;
  config?: { device?: string; dtype?: string };
}

export interface AudioChunkProgress {
  /** Chunks done: 0 before the first. */
  chunk: number;
  chunks: number;
}

export interface PrefillProgress {
  /** Prompt rows through the decoder before this call. */
  tokens: number;
  total: number;
}

export interface LoadModelOptions {
  config: PretrainedConfig;
  dtype: Dtype;
  device: Device;
  progress_callback?: (info: unknown) => void;
  revision?: string;
  session_options?: Record<string, unknown>;
}

/** What generate() passes to forward() for one step (batch 1). */
interface StepInputs {
  input_ids?: Tensor;
  inputs_embeds?: Tensor;
  attention_mask?: Tensor;
  position_ids?: Tensor | null;
  past_key_values?: DynamicCache | null;
  num_logits_to_keep?: Tensor;
  audio_values?: Tensor;
  [name: string]: unknown;
}

/** A tensor element type ("float32", "int64", ...), as Tensor's constructor takes it. */
type TensorType = Extract<ConstructorParameters<typeof Tensor>, [string, unknown, unknown]>[0];

const { io: IO, front_end: FRONT_END } = ARTIFACT;
const PAST_CONV = `${IO.past_conv}.`;
const PRESENT_CONV = `${IO.present_conv}.`;
const PRESENT = `${IO.present}.`;

type TypedArray = Float32Array | Uint16Array;

function typedArrayFor(type: string, length: number): TypedArray {
  if (type === 'float32') return new Float32Array(length);
  if (type === 'float16') return toFloat16Array(new Float32Array(length));
  throw new VibeVoiceError('bad-config', `The audio encoder uses ${type} tensors; float32 or float16 was expected.`);
}

export class VibeVoiceAsrForConditionalGeneration extends VoxtralForConditionalGeneration {
  // Set by configure(): a prototype swap runs no constructor, so these cannot be class fields.
  declare chunkSize: number;
  declare hop: number;
  /** Called before the first encoder chunk of the current transcription and after each; may throw to stop. */
  declare onAudioChunk: ((progress: AudioChunkProgress) => void) | null;
  /** Called before each decoder call of a split prefill; may throw to stop. */
  declare onPrefillChunk: ((progress: PrefillProgress) => void) | null;
  /** Milliseconds the last encode_audio call took. */
  declare lastEncodeMs: number;
  /** Most new rows per decoder call: a longer step (the prefill) is split (see forward). */
  declare prefillChunkTokens: number;

  /** Loads the three graphs through Transformers.js and turns the result into this class. */
  static async load(location: string, options: LoadModelOptions): Promise<VibeVoiceAsrForConditionalGeneration> {
    const { config, dtype, device, progress_callback, revision, session_options } = options;
    const adapted = new PretrainedConfig({ ...config, model_type: 'voxtral' });
    const model: PreTrainedModel = await VoxtralForConditionalGeneration.from_pretrained(location, {
      config: adapted,
      dtype,
      device,
      revision,
      session_options,
      progress_callback,
    });
    Object.setPrototypeOf(model, VibeVoiceAsrForConditionalGeneration.prototype);
    const vibevoice = model as VibeVoiceAsrForConditionalGeneration;
    vibevoice.configure(FRONT_END.encoder_chunk_size, FRONT_END.hop_length); // the caller sets the folder's values
    return vibevoice;
  }

  configure(chunkSize: number, hop: number): void {
    if (!Number.isInteger(chunkSize) || chunkSize <= 0 || chunkSize % hop) {
      throw new VibeVoiceError('bad-config', `The encoder chunk size ${chunkSize} is not a positive multiple of the hop ${hop}.`);
    }
    this.chunkSize = chunkSize;
    this.hop = hop;
    this.onAudioChunk = null;
    this.onPrefillChunk = null;
    this.lastEncodeMs = 0;
    this.prefillChunkTokens = PREFILL_CHUNK_TOKENS;
  }

  private get audioSession(): OrtSession {
    return this.sessions.audio_encoder as OrtSession;
  }

  /** Zero conv caches for the first chunk, from the graph's declared shapes ([batch_size, C, L]). */
  private zeroConvCaches(session: OrtSession): Record<string, Tensor> {
    const caches: Record<string, Tensor> = {};
    for (const meta of session.inputMetadata) {
      if (!meta.name.startsWith(PAST_CONV)) continue;
      const dims = meta.shape.map((d) => {
        if (typeof d === 'number') return d;
        if (d === 'batch_size') return 1;
        throw new VibeVoiceError('bad-config', `The audio encoder input ${meta.name} has a symbolic dimension "${d}"; only batch_size may be symbolic.`);
      });
      caches[meta.name] = new Tensor(meta.type as TensorType, typedArrayFor(meta.type, dims.reduce((a, b) => a * b, 1)), dims);
    }
    return caches;
  }

  private async runAudioEncoder(session: OrtSession, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const ortFeeds = Object.fromEntries(Object.entries(feeds).map(([name, tensor]) => [name, tensor.ort_tensor]));
    const outputs = await session.run(ortFeeds);
    // @ts-expect-error Tensor also wraps an onnxruntime tensor, which the typedef spells as a tuple
    return Object.fromEntries(Object.entries(outputs).map(([name, value]) => [name, new Tensor(value)]));
  }

  /**
   * audio_values [1, N] (normalised, N a multiple of the hop) -> audio_features [1, N/hop, hidden],
   * encoding chunkSize samples at a time and feeding each chunk's present_conv.* back as past_conv.*.
   */
  override async encode_audio(inputs: Record<string, unknown>): Promise<Tensor> {
    const started = performance.now();
    const audio = inputs.audio_values as Tensor | undefined;
    if (!(audio instanceof Tensor)) throw new VibeVoiceError('bad-input', 'encode_audio needs audio_values (a float32 Tensor [1, samples]).');
    const samples = audio.data as Float32Array;
    if (samples.length === 0 || samples.length % this.hop) {
      throw new VibeVoiceError('bad-input', `Audio must be padded to a multiple of ${this.hop} samples; got ${samples.length}.`);
    }
    const session = this.audioSession;
    const valueType = session.inputMetadata.find((m) => m.name === IO.audio_values)?.type ?? 'float32';
    let caches = this.zeroConvCaches(session);
    const pieces: Tensor[] = [];
    const chunks = Math.ceil(samples.length / this.chunkSize);
    await yieldToEventLoop(); // each hook call follows a turn of the event loop: a cancel is seen there
    this.onAudioChunk?.({ chunk: 0, chunks });
    for (let c = 0; c < chunks; c++) {
      const piece = sliceAxis1(audio, c * this.chunkSize, Math.min(samples.length, (c + 1) * this.chunkSize));
      const outputs = await this.runAudioEncoder(session, {
        [IO.audio_values]: valueType === 'float16' ? new Tensor('float16', toFloat16Array(piece.data as Float32Array), piece.dims) : piece,
        ...caches,
      });
      pieces.push(outputs[IO.audio_features]);
      caches = {};
      for (const [name, tensor] of Object.entries(outputs)) {
        if (name.startsWith(PRESENT_CONV)) caches[PAST_CONV + name.slice(PRESENT_CONV.length)] = tensor;
      }
      await yieldToEventLoop();
      this.onAudioChunk?.({ chunk: c + 1, chunks });
    }
    const features = concatAxis1(pieces);
    this.lastEncodeMs = performance.now() - started;
    return features;
  }

  /**
   * generate()'s forward pass. A step with more than prefillChunkTokens new rows (the prefill of a
   * long prompt) runs the decoder on consecutive slices of the prompt embeddings instead, each call
   * taking the previous call's present.* (left on the GPU) as its past and the attention mask up to
   * its last row (Transformers.js derives the position ids from it, as for one call). It returns the
   * last call's outputs, whose last logits row and present.* are what one call would have returned,
   * so generate() carries on unchanged. Every other step goes to Transformers.js as it is.
   */
  override async forward(inputs: StepInputs): Promise<Record<string, Tensor>> {
    const rows = (inputs.inputs_embeds ?? inputs.input_ids)?.dims[1] ?? 0;
    await yieldToEventLoop(); // between two decoding steps: generate()'s stopping criteria see a cancel at the next token
    if (rows <= this.prefillChunkTokens) return super.forward(inputs);
    const past = inputs.past_key_values;
    const pastLength = past ? past.get_seq_length() : 0;
    const embeds = inputs.inputs_embeds ?? (await this.promptEmbeddings(inputs));
    const mask = inputs.attention_mask ?? new Tensor('int64', new BigInt64Array(pastLength + rows).fill(1n), [1, pastLength + rows]);
    let cache: DynamicCache | null = null; // present.* of the previous call, owned here
    let outputs: Record<string, Tensor> = {};
    try {
      for (const chunk of prefillChunks(rows, this.prefillChunkTokens, pastLength)) {
        if (chunk.start) await yieldToEventLoop();
        this.onPrefillChunk?.({ tokens: chunk.start, total: rows });
        outputs = await super.forward({
          inputs_embeds: sliceAxis1(embeds, chunk.start, chunk.end),
          attention_mask: sliceAxis1(mask, 0, chunk.totalLength),
          position_ids: inputs.position_ids ? sliceAxis1(inputs.position_ids, chunk.start, chunk.end) : null,
          past_key_values: cache ?? past ?? null,
          num_logits_to_keep: inputs.num_logits_to_keep,
        });
        if (chunk.end === rows) break;
        const presents = Object.fromEntries(
          Object.entries(outputs)
            .filter(([name]) => name.startsWith(PRESENT))
            .map(([name, tensor]) => [`${IO.past_key_values}.${name.slice(PRESENT.length)}`, tensor]),
        );
        if (cache) cache.update(presents); // disposes the call before's GPU buffers
        else cache = new DynamicCache(presents);
      }
    } finally {
      await cache?.dispose(); // the last call's present.* are not in it: generate() takes those
    }
    return outputs;
  }

  /** The prompt's embeddings with the audio features in place of the audio tokens (what Transformers.js does for one call). */
  private async promptEmbeddings(inputs: StepInputs): Promise<Tensor> {
    const { input_ids, attention_mask, audio_values } = inputs;
    const inputs_embeds = (await this.encode_text({ input_ids })) as Tensor;
    if (!audio_values) return inputs_embeds;
    const audio_features = await this.encode_audio({ audio_values });
    return this._merge_input_ids_with_audio_features({ audio_features, inputs_embeds, input_ids, attention_mask }).inputs_embeds;
  }

  /** Which device and dtype each session runs on, as Transformers.js recorded it. */
  sessionPlacement(): Record<string, { device?: string; dtype?: string }> {
    return Object.fromEntries(Object.entries(this.sessions).map(([name, s]) => [name, { ...(s as OrtSession).config }]));
  }
}
