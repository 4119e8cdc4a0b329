"""The configuration of the real VibeVoice-ASR (microsoft/VibeVoice-ASR-HF), for size reports and
synthetic checkpoints at real shapes. Numbers: reference/vibevoice-asr-architecture.md §0, §4, §6."""

from __future__ import annotations

import copy

from vibevoice_asr_web import contract

QWEN25_SPECIAL_IDS = {
    "<|endoftext|>": 151643,
    "<|im_start|>": 151644,
    "<|im_end|>": 151645,
    "<|object_ref_start|>": 151646,
    "<|object_ref_end|>": 151647,
    "<|box_start|>": 151648,
    "<|image_pad|>": 151655,
}

_ENCODER = {
    "model_type": "vibevoice_acoustic_tokenizer_encoder",
    "channels": 1,
    "num_filters": 32,
    "kernel_size": 7,
    "downsampling_ratios": list(contract.DOWNSAMPLING_RATIOS),
    "depths": [3, 3, 3, 3, 3, 3, 8],
    "ffn_expansion": 4,
    "hidden_act": "gelu",
    "rms_norm_eps": 1e-5,
    "layer_scale_init_value": 1e-6,
    "vae_std": 0.625,
}

REAL_CONFIG = {
    "model_type": "vibevoice_asr",
    "architectures": ["VibeVoiceAsrForConditionalGeneration"],
    "audio_token_id": 151648,
    "audio_bos_token_id": 151646,
    "audio_eos_token_id": 151647,
    "acoustic_tokenizer_chunk_size": contract.ENCODER_CHUNK_SIZE,
    "acoustic_tokenizer_encoder_config": {**_ENCODER, "hidden_size": 64},
    "semantic_tokenizer_encoder_config": {**_ENCODER, "hidden_size": 128},
    "text_config": {
        "model_type": "qwen2",
        "hidden_size": 3584,
        "intermediate_size": 18944,
        "num_hidden_layers": 28,
        "num_attention_heads": 28,
        "num_key_value_heads": 4,
        "vocab_size": 152064,
        "hidden_act": "silu",
        "rms_norm_eps": 1e-6,
        "rope_parameters": {"rope_theta": 1_000_000.0, "rope_type": "default"},
        "max_position_embeddings": 65536,
        "tie_word_embeddings": False,
        "use_sliding_window": False,
        "bos_token_id": 151643,
        "eos_token_id": 151643,
        "pad_token_id": 151655,
    },
}


def real_config(num_layers: int | None = None) -> dict:
    """The real configuration, optionally with fewer decoder layers (for synthetic checkpoints)."""
    config = copy.deepcopy(REAL_CONFIG)
    if num_layers is not None:
        config["text_config"]["num_hidden_layers"] = num_layers
    return config
