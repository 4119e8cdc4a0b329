"""Reading and writing ONNX graphs whose weights live in Transformers.js-style data chunks.

`<name>.onnx` holds the graph only; weights go to `<name>.onnx_data`, `<name>.onnx_data_1`, ...
(each at most `max_chunk_bytes`, 2 GB by default), written one tensor at a time so memory never
holds more than the tensor being written.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx_ir as ir

from vibevoice_asr_web.artifact.contract import MAX_CHUNK_BYTES
from vibevoice_asr_web.errors import UserError

INLINE_LIMIT_BYTES = 1024  # scalars and shape constants stay in the graph file
ALIGNMENT = 64


def chunk_file_name(onnx_name: str, index: int) -> str:
    return f"{onnx_name}_data" if index == 0 else f"{onnx_name}_data_{index}"


@dataclass
class SaveReport:
    onnx_file: str
    data_files: list[str]
    tensor_bytes: int


def save_chunked(
    model: ir.Model,
    path: str | os.PathLike,
    max_chunk_bytes: int = MAX_CHUNK_BYTES,
    progress: Callable[[int, int], None] | None = None,
    allow_oversize: bool = False,
) -> SaveReport:
    """Writes `path` (the graph) and its data chunks beside it; returns what was written.

    Tensor values may be lazy: each is materialised, written and dropped before the next, and one
    that has `write_into(handle, offset)` streams itself in slabs instead. With `allow_oversize`, a
    tensor larger than a chunk gets a chunk of its own (the real model's fp32 embedding and lm_head
    are 2.18 GB each; fp32 is the onnxruntime reference, not a browser variant).
    """
    path = Path(path)
    directory, onnx_name = path.parent, path.name
    initializers = [v for v in model.graph.initializers.values() if v.const_value is not None]
    total = sum(v.const_value.nbytes for v in initializers)
    data_files: list[str] = []
    handle = None
    offset = 0
    written = 0
    try:
        for value in initializers:
            tensor = value.const_value
            size = tensor.nbytes
            if size <= INLINE_LIMIT_BYTES:
                if hasattr(tensor, "write_into"):  # a streamed tensor this small just goes in the graph
                    value.const_value = ir.Tensor(tensor.numpy(), name=value.name)
                continue
            if size > max_chunk_bytes and not allow_oversize:
                raise UserError(
                    f"tensor {value.name} is {size:,} bytes, more than one data chunk may hold "
                    f"({max_chunk_bytes:,}); use a quantized dtype"
                )
            if handle is None or offset + size > max_chunk_bytes:
                if handle is not None:
                    handle.close()
                data_files.append(chunk_file_name(onnx_name, len(data_files)))
                handle = open(directory / data_files[-1], "w+b")
                offset = 0
            padding = -offset % ALIGNMENT
            handle.write(b"\0" * padding)
            offset += padding
            if hasattr(tensor, "write_into"):
                tensor.write_into(handle, offset)  # streams itself in slabs
            else:
                data = tensor.tobytes()
                if len(data) != size:
                    raise RuntimeError(f"tensor {value.name}: {len(data)} bytes, expected {size}")
                handle.write(data)
                del data
            if handle.tell() != offset + size:
                raise RuntimeError(f"tensor {value.name}: wrote {handle.tell() - offset} bytes, expected {size}")
            value.const_value = ir.ExternalTensor(
                data_files[-1], offset, size, tensor.dtype, shape=tensor.shape, name=value.name,
                metadata_props=dict(tensor.metadata_props), base_dir=directory,
            )
            offset += size
            written += size
            if progress:
                progress(written, total)
    finally:
        if handle is not None:
            handle.close()
    ir.save(model, path)
    return SaveReport(onnx_name, data_files, written)


def load_graph(path: str | os.PathLike) -> ir.Model:
    """The graph with its weights left on disk (ExternalTensors, read only when asked)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"ONNX graph {path} does not exist")
    # Resolved, so data chunks reached through links (Bazel runfiles) count as beside the graph.
    return ir.load(path.resolve())
