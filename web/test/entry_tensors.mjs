// What tensors.test.mjs imports: the library's Tensor helpers with Transformers.js' browser build.
// ./ort_global.mjs comes first so that onnxruntime-web is registered before Transformers.js loads.
import './ort_global.mjs';

export { concatAxis1, sliceAxis1 } from '../src/vibevoice/model/tensors';
export { cat, Tensor } from '@huggingface/transformers';
