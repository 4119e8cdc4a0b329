// Chunked prefill, as in the Python runtime (runtime/generate.py): the prompt goes through the decoder
// in calls of at most PREFILL_CHUNK_TOKENS rows, each appending to the KV cache, so the attention
// buffers of a call grow with the chunk, not with the prompt (an hour of audio is ~27,000 tokens).
import { VibeVoiceError } from '../errors';

/** Prompt rows per decoder call during prefill (Python's PREFILL_CHUNK_TOKENS). */
export const PREFILL_CHUNK_TOKENS = 512;

/** One decoder call of a chunked prefill. */
export interface PrefillChunk {
  /** The call takes rows [start, end) of the step's new embeddings. */
  start: number;
  end: number;
  /** Positions already in the KV cache when the call runs. */
  pastLength: number;
  /** The attention mask's length for the call: pastLength + (end - start). */
  totalLength: number;
}

/**
 * The most new tokens per decoder call that onnxruntime-web's WebGPU GroupQueryAttention gets right on
 * this adapter (Infinity: no limit). From 32 new tokens on, it runs a flash-attention prefill shader
 * that assumes subgroups of at least 8 lanes; with narrower ones (SwiftShader's are 4) its attention
 * is wrong, while calls of up to 31 tokens take its split-reduce path, which is right there too. The
 * same shader compiled by Tint to SPIR-V (Vulkan) is wrong on any subgroup width unless the
 * loop-local workaround is in place (model/loop_locals.ts): where load()'s probe found the bug and
 * the workaround did not fix it, calls are capped too.
 */
export function prefillRowLimit(
  device: string,
  adapter: { features: string[]; subgroupMinSize?: number; loopLocals?: { correct: boolean } },
): number {
  const narrow = adapter.features.includes('subgroups') && adapter.subgroupMinSize !== undefined && adapter.subgroupMinSize < 8;
  const miscompiled = adapter.loopLocals !== undefined && !adapter.loopLocals.correct;
  return device === 'webgpu' && (narrow || miscompiled) ? 31 : Infinity;
}

export function checkPrefillChunkTokens(chunkTokens: number): number {
  if (!Number.isInteger(chunkTokens) || chunkTokens < 1) {
    throw new VibeVoiceError('bad-input', `prefillChunkTokens must be a positive integer, got ${chunkTokens}.`);
  }
  return chunkTokens;
}

/** The decoder calls that feed `rows` new rows after `pastLength` cached ones, `chunkTokens` at a time. */
export function prefillChunks(rows: number, chunkTokens: number, pastLength = 0): PrefillChunk[] {
  checkPrefillChunkTokens(chunkTokens);
  const chunks: PrefillChunk[] = [];
  for (let start = 0; start < rows; start += chunkTokens) {
    const end = Math.min(rows, start + chunkTokens);
    chunks.push({ start, end, pastLength: pastLength + start, totalLength: pastLength + end });
  }
  return chunks;
}
