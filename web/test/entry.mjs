// What the Node tests import: the browser-free part of the library plus the tokenizer and template
// engine that Transformers.js 4.3.1 bundles (the same packages, resolved from node_modules).
export * from '../src/vibevoice/core';
export { Tokenizer } from '@huggingface/tokenizers';
export { Template } from '@huggingface/jinja';
// The main-thread client, driven here by a fake Worker (client.test.mjs); it imports no Transformers.js.
export { CANCEL_GRACE_MS, TranscriptionAborted, VibeVoiceASRClient } from '../src/vibevoice/worker/client';
export { MainThreadDecodeNeeded } from '../src/vibevoice/audio/decode';
