// Batch-1 tensors [1, n, ...] cut and joined along axis 1 (audio samples, encoder frames, prompt
// rows) with Transformers.js' own Tensor.slice and cat; both copy and keep the element type and its
// array class (Float32Array, Uint16Array or Float16Array for float16, BigInt64Array for int64).
// Both go through the squeezed [n, ...] tensor (squeeze shares the data): along axis 0
// Transformers.js copies in one block (subarray / set), along axis 1 element by element.
import { cat, Tensor } from '@huggingface/transformers';
import { VibeVoiceError } from '../errors';

function checkBatchOne(tensor: Tensor, what: string): void {
  const dims = tensor.dims;
  if (dims.length < 2 || dims[0] !== 1) throw new VibeVoiceError('bad-input', `${what} takes batch 1 tensors [1, n, ...]; got [${dims.join(', ')}].`);
}

/** Elements [start, end) along axis 1 of a batch-1 tensor [1, n, ...]: a copy, [1, end - start, ...]. */
export function sliceAxis1(tensor: Tensor, start: number, end: number): Tensor {
  checkBatchOne(tensor, 'Slicing');
  const n = tensor.dims[1];
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
    throw new VibeVoiceError('bad-input', `Rows ${start}..${end} are outside [0, ${n}].`);
  }
  return tensor.squeeze(0).slice([start, end]).unsqueeze(0);
}

/** Batch-1 tensors [1, n_i, ...rest] (the same rest) joined along axis 1: a new [1, sum n_i, ...rest]. */
export function concatAxis1(pieces: Tensor[]): Tensor {
  if (pieces.length === 0) throw new VibeVoiceError('bad-input', 'Concatenation needs at least one tensor.');
  const shape = (t: Tensor) => ['n', ...t.dims.slice(2)].join(', ');
  for (const piece of pieces) {
    checkBatchOne(piece, 'Concatenation');
    if (shape(piece) !== shape(pieces[0]) || piece.type !== pieces[0].type) {
      throw new VibeVoiceError('bad-input', `Concatenation takes [1, ${shape(pieces[0])}] ${pieces[0].type} tensors alike; got [${piece.dims.join(', ')}] ${piece.type}.`);
    }
  }
  return cat(pieces.map((piece) => piece.squeeze(0)), 0).unsqueeze(0);
}
