"""Which wrapper and which example inputs export each graph of the contract.

Example sizes avoid 0 and 1 (torch.export would specialise those) and avoid equal sizes on
different dims, so every symbolic dim stays symbolic.
"""

from __future__ import annotations

import torch

from vibevoice_asr_web.artifact.contract import AUDIO_ENCODER, DECODER, EMBED_TOKENS, ModelDims
from vibevoice_asr_web.export import wrappers

EXAMPLE_BATCH = 2
STATIC_BATCH_GRAPHS = (DECODER,)


def wrapper_and_inputs(graph: str, model: torch.nn.Module, dims: ModelDims) -> tuple[torch.nn.Module, tuple]:
    batch = EXAMPLE_BATCH
    if graph == AUDIO_ENCODER:
        caches = [torch.zeros(batch, c.channels, c.length) for c in dims.conv_caches]
        audio = torch.randn(batch, 3 * dims.hop_length) * 0.1
        return wrappers.AudioEncoderWrapper(model, dims), (audio, *caches)
    if graph == EMBED_TOKENS:
        return wrappers.EmbedTokensWrapper(model), (torch.randint(0, dims.vocab_size, (batch, 5)),)
    if graph == DECODER:
        batch = 1  # traced for one sequence: see onnx_export.fuse_group_query_attention
        new, past = 5, 3
        kv = [torch.randn(batch, dims.num_kv_heads, past, dims.head_dim) for _ in dims.kv_names("past")]
        inputs = (
            torch.randn(batch, new, dims.hidden_size),
            torch.ones(batch, past + new, dtype=torch.int64),
            torch.arange(past, past + new).expand(batch, new).contiguous(),
            torch.tensor(0, dtype=torch.int64),
            *kv,
        )
        return wrappers.DecoderWrapper(model, dims), inputs
    raise ValueError(f"unknown graph {graph}")
