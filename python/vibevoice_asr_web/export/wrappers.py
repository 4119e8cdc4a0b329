"""Small torch modules that give transformers' VibeVoice-ASR the three graphs of the contract.

Each wrapper holds only the submodules its graph needs, under the same attribute paths as
VibeVoiceAsrForConditionalGeneration, so every exported initializer keeps its state_dict name
(the quantizer and the weight streamer find tensors by that name).
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import DynamicCache

from vibevoice_asr_web.artifact.contract import ModelDims


class _Holder(nn.Module):
    """A bare container, so parameter names keep their `model.` prefix."""


class FunctionalConvCache:
    """Stands in for transformers' Conv1dPaddingCache with explicit tensors instead of in-place state.

    `update` is called once per causal conv with the conv's input; it returns the input with the
    cached left context prepended and records the new context (the last `left_pad` samples).
    """

    def __init__(self, past: dict[str, torch.Tensor]):
        self.past = past
        self.present: dict[str, torch.Tensor] = {}

    def update(self, hidden_states: torch.Tensor, cache_key: str, conv_module: nn.Module) -> torch.Tensor:
        padded = torch.cat([self.past[cache_key], hidden_states], dim=-1)
        self.present[cache_key] = padded[:, :, padded.shape[-1] - conv_module.left_pad :]
        return padded


class AudioEncoderWrapper(nn.Module):
    """audio_values [B, N] + every conv cache -> audio_features [B, N/hop, H] + new caches.

    Acoustic latents are used as their mean (no sampled noise), as every deterministic port does.
    """

    def __init__(self, model: nn.Module, dims: ModelDims):
        super().__init__()
        self.model = _Holder()
        self.model.acoustic_tokenizer_encoder = model.model.acoustic_tokenizer_encoder
        self.model.semantic_tokenizer_encoder = model.model.semantic_tokenizer_encoder
        self.model.multi_modal_projector = model.model.multi_modal_projector
        self.caches = dims.conv_caches

    def forward(self, audio_values: torch.Tensor, *past_conv: torch.Tensor):
        by_tower: dict[str, dict[str, torch.Tensor]] = {"acoustic": {}, "semantic": {}}
        for cache, tensor in zip(self.caches, past_conv, strict=True):
            by_tower[cache.tower][cache.key] = tensor
        audio = audio_values.unsqueeze(1)
        acoustic_cache = FunctionalConvCache(by_tower["acoustic"])
        semantic_cache = FunctionalConvCache(by_tower["semantic"])
        acoustic = self.model.acoustic_tokenizer_encoder(audio, padding_cache=acoustic_cache).latents
        semantic = self.model.semantic_tokenizer_encoder(audio, padding_cache=semantic_cache).latents
        features = self.model.multi_modal_projector(acoustic, semantic)
        present = {"acoustic": acoustic_cache.present, "semantic": semantic_cache.present}
        return (features, *(present[c.tower][c.key] for c in self.caches))


class EmbedTokensWrapper(nn.Module):
    """input_ids [B, S] -> inputs_embeds [B, S, H]."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = _Holder()
        self.model.language_model = _Holder()
        self.model.language_model.embed_tokens = model.model.language_model.embed_tokens

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model.language_model.embed_tokens(input_ids)


class DecoderWrapper(nn.Module):
    """The Qwen2 decoder and lm_head with a flat KV cache, as Transformers.js feeds it.

    num_logits_to_keep is a 0-d int64: 0 keeps every row (as in transformers), k keeps the last k.
    """

    def __init__(self, model: nn.Module, dims: ModelDims):
        super().__init__()
        language_model = model.model.language_model
        self.model = _Holder()
        self.model.language_model = _Holder()
        self.model.language_model.layers = language_model.layers
        self.model.language_model.norm = language_model.norm
        self.model.language_model.rotary_emb = language_model.rotary_emb
        self.lm_head = model.lm_head
        self._language_model = [language_model]  # a list, so its parameters are not registered twice
        self.num_layers = dims.num_layers

    def forward(self, inputs_embeds, attention_mask, position_ids, num_logits_to_keep, *past_key_values):
        language_model = self._language_model[0]
        cache = DynamicCache(config=language_model.config)
        for layer in range(self.num_layers):
            cache.update(past_key_values[2 * layer], past_key_values[2 * layer + 1], layer)
        hidden = language_model(
            inputs_embeds=inputs_embeds,
            attention_mask=attention_mask,
            position_ids=position_ids,
            past_key_values=cache,
            use_cache=True,
        ).last_hidden_state
        sequence_length = hidden.shape[1]
        keep = num_logits_to_keep.item()
        torch._check(keep >= 0)
        torch._check(keep <= sequence_length)
        rows = torch.sym_ite(keep == 0, sequence_length, keep)
        logits = self.lm_head(hidden.narrow(1, sequence_length - rows, rows))
        present = []
        for layer in range(self.num_layers):
            present += [cache.layers[layer].keys, cache.layers[layer].values]
        return (logits, *present)
