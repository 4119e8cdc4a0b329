"""Weights for a graph exported on the meta device, pointed at the checkpoint by name.

Each initializer that is a parameter gets a CheckpointTensor: a TensorSource of the checkpoint's
tensor (float32, transposed for Linear weights stored as [in, out]) that nothing reads until the
graph is written (`export/write.py`), and then through the one tensor reader, a slab at a time.
"""

from __future__ import annotations

import numpy as np
import onnx_ir as ir

from vibevoice_asr_web.checkpoint_weights import SafetensorsCheckpoint
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.tensor_reader import SlabReader, TensorSource


class CheckpointTensor:
    """Stands in for an onnx_ir tensor (name, shape, dtype, nbytes, numpy) whose bytes stay in the checkpoint."""

    def __init__(self, source: TensorSource, metadata_props: dict[str, str]):
        self.source = source
        self.name = source.name
        self.shape = ir.Shape(source.dims)
        self.dtype = ir.DataType.FLOAT
        self.metadata_props = metadata_props
        self.nbytes = source.nbytes

    @property
    def transposed(self) -> bool:
        return self.source.checkpoint_transposed

    def numpy(self) -> np.ndarray:
        with SlabReader() as reader:
            return reader.read_flat(self.source, 0, self.source.size).reshape(self.source.dims)

    def tobytes(self) -> bytes:
        return self.numpy().tobytes()


def rotary_inv_freq(config: dict) -> np.ndarray:
    """Qwen2's rotary inverse frequencies: a buffer computed from the config, not stored in checkpoints."""
    import torch
    from transformers import Qwen2Config
    from transformers.models.qwen2.modeling_qwen2 import Qwen2RotaryEmbedding

    with torch.device("cpu"):
        rotary = Qwen2RotaryEmbedding(config=Qwen2Config(**config["text_config"]))
    return rotary.inv_freq.float().numpy()


def attach_checkpoint_weights(model: ir.Model, checkpoint: SafetensorsCheckpoint, config: dict) -> None:
    """Points every parameter initializer of a meta-exported graph at the checkpoint.

    Initializers named like a checkpoint tensor read it; the rotary frequencies are computed from
    the config; constants the exporter or optimizer made (small, real) stay as they are.
    """
    for name, value in model.graph.initializers.items():
        if name in checkpoint:
            transposed = value.metadata_props.get("layout") == "transposed"
            tensor = CheckpointTensor(checkpoint.source(name, transposed), dict(value.metadata_props))
            expected = tuple(value.shape) if value.shape is not None else None
            if expected is not None and tuple(tensor.shape) != expected:
                raise UserError(f"{name}: the checkpoint holds shape {checkpoint.entry(name).shape}, the graph expects {expected}")
            value.const_value = tensor
        elif name.endswith("rotary_emb.inv_freq"):
            value.const_value = ir.Tensor(rotary_inv_freq(config), name=name)
        elif value.const_value is None or isinstance(value.const_value, ir.LazyTensor) or _on_meta(value.const_value):
            raise UserError(
                f"the graph needs {name}, which the checkpoint in {checkpoint.folder} does not hold "
                f"(as {' or '.join(checkpoint.keys_of(name))} in its {checkpoint.layout} layout): is the download complete?"
            )


def _on_meta(tensor) -> bool:
    return bool(getattr(getattr(tensor, "raw", None), "is_meta", False))
