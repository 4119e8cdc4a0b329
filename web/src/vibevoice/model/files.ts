// The small files of an artifact folder: config.json, manifest.json, and (through a Processor
// subclass, which Transformers.js 4.3.1 does load) the tokenizer, preprocessor_config.json and
// processor_config.json — all through Transformers.js' own file loading, cache and progress events.
import {
  AutoConfig,
  AutoTokenizer,
  FeatureExtractor,
  Processor,
  type PretrainedConfig,
  type PreTrainedTokenizer,
} from '@huggingface/transformers';
import { modelCache } from './cache';
import type { ModelSource } from './location';

class ArtifactProcessor extends Processor {
  static override uses_processor_config = true;
  static tokenizer_class = AutoTokenizer;
  static feature_extractor_class = FeatureExtractor;
}

export interface LoadFileOptions {
  progress_callback?: (info: unknown) => void;
  revision?: string;
}

export async function loadConfig(source: ModelSource, options: LoadFileOptions): Promise<PretrainedConfig> {
  return AutoConfig.from_pretrained(source.id, options);
}

/** manifest.json, or null when the folder has none (it is optional; without it nothing is cached). */
export async function loadManifest(source: ModelSource): Promise<Record<string, unknown> | null> {
  // The one read of it per load: the cache checks stored files against the same copy.
  return modelCache.manifest(source.baseUrl);
}

export interface TextFiles {
  tokenizer: PreTrainedTokenizer;
  preprocessor: Record<string, unknown>;
  processor: Record<string, unknown>;
}

export async function loadTextFiles(source: ModelSource, options: LoadFileOptions): Promise<TextFiles> {
  const files = await ArtifactProcessor.from_pretrained(source.id, options);
  const components = (files as unknown as { components: Record<string, { config?: Record<string, unknown> }> }).components;
  return {
    tokenizer: files.tokenizer as PreTrainedTokenizer,
    preprocessor: components.feature_extractor?.config ?? {},
    processor: (files.config ?? {}) as Record<string, unknown>,
  };
}
