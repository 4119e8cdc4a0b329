"""Weights for a graph exported on the meta device, streamed from the checkpoint by name.

Each initializer that is a parameter gets a CheckpointTensor: nothing is read until the writer
asks, and then only a slab of rows at a time, converted to float32 (and transposed for Linear
weights stored as [in, out]) on the way to the data chunk.
"""

from __future__ import annotations

import math
import os

import numpy as np
import onnx_ir as ir

from vibevoice_asr_web.checkpoint_weights import SafetensorsCheckpoint
from vibevoice_asr_web.errors import UserError

SLAB_BYTES = 64 << 20


class CheckpointTensor:
    """A float32 view of one checkpoint tensor (optionally transposed), written in slabs."""

    def __init__(self, checkpoint: SafetensorsCheckpoint, name: str, transposed: bool, metadata_props: dict[str, str]):
        entry = checkpoint.entry(name)
        self.checkpoint = checkpoint
        self.source = name
        self.transposed = transposed
        self.source_shape = entry.shape
        shape = (entry.shape[1], entry.shape[0]) if transposed else entry.shape
        self.name = name
        self.shape = ir.Shape(shape)
        self.dtype = ir.DataType.FLOAT
        self.metadata_props = metadata_props
        self.nbytes = math.prod(shape) * 4

    def _row_slabs(self):
        rows = self.source_shape[0]
        per_row = max(1, math.prod(self.source_shape[1:]) * 4)
        step = max(1, SLAB_BYTES // per_row)
        for start in range(0, rows, step):
            stop = min(rows, start + step)
            yield start, stop, self.checkpoint.read_rows(self.source, start, stop)

    def write_into(self, handle, offset: int) -> None:
        """Writes the float32 bytes at `offset` of the open file, a slab of source rows at a time."""
        if not self.transposed:
            handle.seek(offset)
            for _, _, slab in self._row_slabs():
                handle.write(np.ascontiguousarray(slab, np.float32).tobytes())
            return
        # Source rows r0..r1 of W [out, in] are columns r0..r1 of W^T [in, out]: one short write per W^T row.
        out_features, in_features = self.source_shape
        fd = handle.fileno()
        handle.flush()
        for start, stop, slab in self._row_slabs():
            columns = np.ascontiguousarray(slab.T, np.float32)  # [in, stop - start]
            for i in range(in_features):
                os.pwrite(fd, columns[i].tobytes(), offset + (i * out_features + start) * 4)
        handle.seek(offset + self.nbytes)

    def numpy(self) -> np.ndarray:
        values = self.checkpoint.read(self.source)
        return np.ascontiguousarray(values.T) if self.transposed else values

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
            tensor = CheckpointTensor(checkpoint, name, transposed, dict(value.metadata_props))
            expected = tuple(value.shape) if value.shape is not None else None
            if expected is not None and tuple(tensor.shape) != expected:
                raise UserError(f"{name}: the checkpoint holds shape {tensor.source_shape}, the graph expects {expected}")
            value.const_value = tensor
        elif name.endswith("rotary_emb.inv_freq"):
            value.const_value = ir.Tensor(rotary_inv_freq(config), name=name)
        elif value.const_value is None or isinstance(value.const_value, ir.LazyTensor) or _on_meta(value.const_value):
            raise UserError(f"the graph needs {name}, which the checkpoint in {checkpoint.folder} does not hold")


def _on_meta(tensor) -> bool:
    return bool(getattr(getattr(tensor, "raw", None), "is_meta", False))
