"""An onnx_ir graph into `X.onnx` and its data chunks, through the quantizer's writer and reader.

Each large initializer gets a region of `onnx_io.DataChunks` (the chunk layout every artifact
shares); a checkpoint tensor streams into it through the quantizer's Copy transform (the one
tensor reader, a slab at a time), any other tensor is written whole, one at a time. Small ones
(<= `INLINE_LIMIT_BYTES`) stay in the graph file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx_ir as ir

from vibevoice_asr_web.artifact.contract import MAX_CHUNK_BYTES
from vibevoice_asr_web.export.weights import CheckpointTensor
from vibevoice_asr_web.onnx_io import INLINE_LIMIT_BYTES, DataChunks
from vibevoice_asr_web.quantize.transforms import Context, Copy
from vibevoice_asr_web.tensor_reader import DEFAULT_SLAB_BYTES, BufferRing, SlabReader

SLAB_BYTES = DEFAULT_SLAB_BYTES  # module-level so a test can make tensors span many slabs


def save_graph(
    model: ir.Model,
    path: str | os.PathLike,
    max_chunk_bytes: int = MAX_CHUNK_BYTES,
    progress: Callable[[int, int], None] | None = None,
    allow_oversize: bool = False,
) -> DataChunks:
    """Writes `path` (the graph) and its data chunks beside it; returns the (closed) chunks.

    With `allow_oversize` a tensor larger than a chunk gets a chunk of its own (see DataChunks).
    """
    path = Path(path)
    chunks = DataChunks(path.parent, path.name, max_chunk_bytes, allow_oversize)
    values = [v for v in model.graph.initializers.values() if v.const_value is not None]
    total = sum(v.const_value.nbytes for v in values)
    try:
        with SlabReader() as reader:
            context = Context(reader, BufferRing(SLAB_BYTES, count=2))
            for value in values:
                if write_initializer(value, chunks, context) and progress:
                    progress(chunks.tensor_bytes, total)
    except BaseException:
        chunks.abandon()
        raise
    chunks.close()
    chunks.check_sizes()
    ir.save(model, path)
    return chunks


def write_initializer(value: ir.Value, chunks: DataChunks, context: Context) -> bool:
    """Moves one initializer's bytes into a region and points it there; False when it stays in the graph."""
    tensor = value.const_value
    if tensor.nbytes <= INLINE_LIMIT_BYTES:
        if isinstance(tensor, CheckpointTensor):  # this small, it just goes in the graph
            value.const_value = ir.Tensor(tensor.numpy(), name=value.name)
        return False
    region = chunks.reserve(tensor.nbytes, value.name)
    if isinstance(tensor, CheckpointTensor):
        Copy(tensor.source).run(context, [region.write])
    else:
        region.write(np.frombuffer(tensor.tobytes(), np.uint8))  # its bytes as ONNX stores them
    region.check_complete(value.name)
    value.const_value = ir.ExternalTensor(
        region.location, region.offset, region.length, tensor.dtype, shape=tensor.shape, name=value.name,
        metadata_props=dict(tensor.metadata_props), base_dir=chunks.directory,
    )
    return True
