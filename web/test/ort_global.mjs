// Transformers.js' browser build finds no onnxruntime of its own in Node (it looks for onnxruntime-node
// there); it takes the one registered under Symbol.for('onnxruntime') instead, its hook for that.
import * as ort from 'onnxruntime-web/webgpu';

globalThis[Symbol.for('onnxruntime')] = ort;
