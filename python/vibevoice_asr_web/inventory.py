"""Every parameter of a VibeVoice-ASR model, from its configuration alone (no weights).

Built from transformers' own module tree on the meta device, so names and shapes are exactly the
model's; each parameter is classified by how the graphs use it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from vibevoice_asr_web.artifact.contract import AUDIO_ENCODER, DECODER, EMBED_TOKENS

EMBEDDING = "embedding"  # a Gather table
MATMUL = "matmul"  # a Linear weight: MatMul in ONNX, MatMulNBits when quantized
CONV = "conv"
OTHER = "other"  # biases, norms, layer-scale gammas


@dataclass(frozen=True)
class Parameter:
    name: str  # the state_dict name, also the ONNX initializer name
    shape: tuple[int, ...]
    kind: str
    graph: str

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


# The decoder's attention and MLP projections: the Linear weights a BitNet decoder trains ternary
# (VibeASR.cpp utils/convert_lm_to_gguf.py, BITNET_WEIGHT_KEYWORDS); embed_tokens and lm_head are not.
TERNARY_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


def is_decoder_projection(name: str) -> bool:
    """A decoder layer's q/k/v/o or gate/up/down weight."""
    parts = name.split(".")
    return name.startswith("model.language_model.layers.") and parts[-1] == "weight" and parts[-2] in TERNARY_PROJECTIONS


def _graph_of(name: str) -> str:
    if name == "model.language_model.embed_tokens.weight":
        return EMBED_TOKENS
    if name.startswith("model.language_model.") or name.startswith("lm_head."):
        return DECODER
    return AUDIO_ENCODER


def parameters(config: dict) -> list[Parameter]:
    import torch
    from transformers import VibeVoiceAsrConfig, VibeVoiceAsrForConditionalGeneration

    with torch.device("meta"):
        model = VibeVoiceAsrForConditionalGeneration(VibeVoiceAsrConfig(**config))
    linear = {f"{name}.weight" for name, module in model.named_modules() if isinstance(module, torch.nn.Linear)}
    result = []
    for name, tensor in model.state_dict().items():
        if name.endswith("embed_tokens.weight"):
            kind = EMBEDDING
        elif name in linear:
            kind = MATMUL
        elif tensor.dim() == 3:
            kind = CONV
        else:
            kind = OTHER
        result.append(Parameter(name, tuple(tensor.shape), kind, _graph_of(name)))
    return result


# In-memory names -> checkpoint names. transformers 5.23 loads VibeVoice-ASR checkpoints in the layout of the
# hub checkpoint (microsoft/VibeVoice-ASR-HF), which its conversion mapping renames on load, and its
# save_pretrained writes that same layout back.
_SAVE_PREFIXES = (
    ("model.language_model.", "language_model.model."),
    ("lm_head.", "language_model.lm_head."),
    ("model.acoustic_tokenizer_encoder.", "acoustic_tokenizer_encoder."),
    ("model.semantic_tokenizer_encoder.", "semantic_tokenizer_encoder."),
    ("model.multi_modal_projector.", "multi_modal_projector."),
)


def to_checkpoint_key(name: str) -> str:
    for src, dst in _SAVE_PREFIXES:
        if name.startswith(src):
            return dst + name[len(src) :]
    raise ValueError(f"unexpected parameter name {name}")


def from_checkpoint_key(key: str) -> str:
    for src, dst in _SAVE_PREFIXES:
        if key.startswith(dst):
            return src + key[len(dst) :]
    raise ValueError(f"unexpected checkpoint key {key}")
