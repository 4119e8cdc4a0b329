"""ONNX graphs whose weights live in Transformers.js-style data chunks: the one writer of those
chunks and the one loader of a graph without its weights.

`<name>.onnx` holds the graph only; weights go to `<name>.onnx_data`, `<name>.onnx_data_1`, ...
(each at most `max_chunk_bytes`, 2 GB by default). `DataChunks` reserves each tensor's region from
its shape before any byte exists, so a writer streams into it in slabs (and a transform with two
outputs, packed codes and scales, fills both at once); memory never holds a whole tensor. Export
(checkpoint -> fp32) and quantize (fp32 -> fp16 / q4 / q4f16) both write through it.

Two graph libraries stay, each where the code around it needs it: export works on `onnx_ir`
(what torch.onnx hands over, and what the onnxscript optimizer, the Conv rewrite and the
onnxruntime fusions rewrite), the quantizer on protobuf `onnx` (its fp16 and int4 rewrites and
onnx.checker are written on it; porting them is a rewrite of their own, not a move). Export only
writes graphs, so the one loading function is the protobuf one here, `load_graph`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, numpy_helper

from vibevoice_asr_web.artifact.contract import MAX_CHUNK_BYTES, MAX_IR_VERSION, chunk_file_name
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.tensor_reader import CHECKPOINT_ITEMSIZE, TensorSource

INLINE_LIMIT_BYTES = 1024  # scalars and shape constants stay in the graph file
ALIGNMENT = 64
# Large tensors start on a page, so onnxruntime can map them instead of copying (the real model's
# fp32 reference is 33 GB); small ones on 64 bytes, so they do not each cost a page.
PAGE_ALIGNMENT = 4096
PAGE_ALIGN_FROM_BYTES = 1 << 20


# -- writing --------------------------------------------------------------------------------------

@dataclass
class Region:
    """`length` bytes at `offset` of one chunk file, written front to back."""

    location: str  # the chunk's file name, as the graph refers to it
    offset: int
    length: int
    fd: int
    written: int = 0

    def write(self, array: np.ndarray) -> None:
        data = memoryview(np.ascontiguousarray(array)).cast("B")
        if self.written + len(data) > self.length:
            raise RuntimeError(f"{self.location}@{self.offset}: {self.written + len(data):,} bytes written to a {self.length:,}-byte region")
        done = 0
        while done < len(data):
            done += os.pwrite(self.fd, data[done:], self.offset + self.written + done)
        self.written += len(data)

    def check_complete(self, name: str) -> None:
        if self.written != self.length:
            raise RuntimeError(f"initializer {name}: {self.written:,} of {self.length:,} bytes were written")


def mark_external(tensor: TensorProto, region: Region) -> None:
    """Points a protobuf initializer at its region."""
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in (("location", region.location), ("offset", str(region.offset)), ("length", str(region.length))):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


@dataclass
class DataChunks:
    """The data chunks of one graph file `onnx_name` in `directory`.

    Every chunk stays under `max_chunk_bytes`; a region that would cross it starts the next chunk.
    With `allow_oversize` a tensor larger than a chunk gets a chunk of its own (the real model's
    fp32 embedding and lm_head are 2.18 GB each; fp32 is the onnxruntime reference, not a browser
    variant); without it such a tensor is refused.
    """

    directory: Path
    onnx_name: str
    max_chunk_bytes: int = MAX_CHUNK_BYTES
    allow_oversize: bool = False
    files: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    tensor_bytes: int = 0  # the regions' bytes, without the alignment gaps
    _fds: list[int] = field(default_factory=list)

    def reserve(self, nbytes: int, name: str) -> Region:
        if nbytes > self.max_chunk_bytes and not self.allow_oversize:
            raise UserError(
                f"initializer {name} is {nbytes:,} bytes, more than one data chunk may hold ({self.max_chunk_bytes:,}); "
                "use a quantized dtype for it"
            )
        alignment = PAGE_ALIGNMENT if nbytes >= PAGE_ALIGN_FROM_BYTES else ALIGNMENT
        if self.files:
            offset = self.sizes[-1] + (-self.sizes[-1] % alignment)
        if not self.files or offset + nbytes > self.max_chunk_bytes:  # an oversize chunk is full too
            self._open_next()
            offset = 0
        self.sizes[-1] = offset + nbytes
        self.tensor_bytes += nbytes
        return Region(self.files[-1], offset, nbytes, self._fds[-1])

    def _open_next(self) -> None:
        name = chunk_file_name(self.onnx_name, len(self.files))
        fd = os.open(self.directory / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.files.append(name)
        self.sizes.append(0)
        self._fds.append(fd)

    @property
    def total_bytes(self) -> int:
        return sum(self.sizes)

    def close(self) -> None:
        """Sets each chunk to its final size (alignment gaps at the end are not padded) and closes it."""
        for fd, size in zip(self._fds, self.sizes):
            os.ftruncate(fd, size)
            os.close(fd)
        self._fds.clear()

    def abandon(self) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()

    def check_sizes(self) -> None:
        """After `close`: every chunk on disk has the size it was given."""
        for name, size in zip(self.files, self.sizes):
            found = (self.directory / name).stat().st_size
            if found != size:
                raise RuntimeError(f"{name} is {found:,} bytes after writing, expected {size:,}")


# -- loading --------------------------------------------------------------------------------------

def load_graph(path: str | os.PathLike) -> tuple[onnx.ModelProto, dict[str, TensorSource]]:
    """The graph (no weights in memory) and a TensorSource for every initializer, all checked.

    Parses only the .onnx file and checks every external reference against the file on disk, so
    a truncated `.onnx_data` is reported before any work starts.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"ONNX graph {path} does not exist: pass an fp32 artifact folder made by `vibevoice-asr-web export`")
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as error:  # protobuf raises its own DecodeError
        raise UserError(f"{path} is not a readable ONNX graph ({error}); export it again") from None
    if model.ir_version > MAX_IR_VERSION:
        raise UserError(f"{path} has IR version {model.ir_version}; expected at most {MAX_IR_VERSION} (what Transformers.js loads)")
    sizes: dict[Path, int] = {}
    sources = {}
    for tensor in model.graph.initializer:
        source = _source(tensor, path.parent, path)
        check_source(source, path, sizes)
        sources[tensor.name] = source
    return model, sources


def _external_fields(tensor: TensorProto) -> dict[str, str]:
    return {entry.key: entry.value for entry in tensor.external_data}


def _source(tensor: TensorProto, base_dir: Path, graph_path: Path) -> TensorSource:
    if tensor.data_type in (TensorProto.STRING, TensorProto.UNDEFINED):
        raise UserError(f"{graph_path}: initializer {tensor.name} is a {TensorProto.DataType.Name(tensor.data_type)} tensor; expected numbers")
    dims = tuple(int(d) for d in tensor.dims)
    metadata = tuple((p.key, p.value) for p in tensor.metadata_props)
    if tensor.data_location != TensorProto.EXTERNAL:
        array = numpy_helper.to_array(tensor)  # small: stored in the graph file
        return TensorSource(tensor.name, tensor.data_type, dims, inline=np.ascontiguousarray(array).tobytes(), metadata=metadata)
    fields = _external_fields(tensor)
    location = fields.get("location")
    if not location:
        raise UserError(f"{graph_path}: initializer {tensor.name} is marked external but names no data file; export the graph again")
    relative = Path(location)
    file = base_dir / relative
    if relative.is_absolute() or ".." in relative.parts:  # lexical: Bazel's sandbox links every file elsewhere
        raise UserError(
            f"{graph_path}: initializer {tensor.name} points at {location!r}, outside the graph's folder; "
            "expected a data chunk beside the graph (X.onnx_data, X.onnx_data_1, ...)"
        )
    props = dict(metadata)
    source = TensorSource(
        tensor.name, tensor.data_type, dims, file=file, offset=int(fields.get("offset", 0)), metadata=metadata,
        checkpoint_dtype=props.get("checkpoint_dtype", ""), checkpoint_transposed=props.get("checkpoint_layout") == "transposed",
    )
    if source.checkpoint_dtype and (source.checkpoint_dtype not in CHECKPOINT_ITEMSIZE or tensor.data_type != TensorProto.FLOAT):
        raise UserError(
            f"{graph_path}: initializer {tensor.name} reads a {source.checkpoint_dtype} checkpoint tensor as {tensor.data_type}; "
            f"expected a float tensor from one of {', '.join(CHECKPOINT_ITEMSIZE)}"
        )
    return dataclasses.replace(source, length=int(fields["length"]) if "length" in fields else source.stored_nbytes)


def check_source(source: TensorSource, graph_path: Path, file_sizes: dict[Path, int]) -> None:
    """The bytes the graph promises are on disk: the file exists and is long enough."""
    if source.file is None:
        if len(source.inline or b"") != source.nbytes:
            raise UserError(f"{graph_path}: initializer {source.name} holds {len(source.inline or b'')} bytes, expected {source.nbytes}")
        return
    if source.length != source.stored_nbytes:
        raise UserError(
            f"{graph_path}: initializer {source.name} {list(source.dims)} {source.dtype} needs {source.stored_nbytes:,} bytes but its "
            f"external data entry says {source.length:,}; the graph file is inconsistent: export it again"
        )
    if source.file not in file_sizes:
        if not source.file.is_file():
            raise UserError(
                f"{source.file} is missing: the graph {graph_path.name} keeps initializer {source.name} there. "
                "Copy the whole artifact folder (every .onnx_data chunk) or export it again"
            )
        file_sizes[source.file] = source.file.stat().st_size
    end = source.offset + source.length
    if end > file_sizes[source.file]:
        raise UserError(
            f"{source.file} is truncated: it is {file_sizes[source.file]:,} bytes but initializer {source.name} needs bytes "
            f"{source.offset:,}..{end:,}. Download or export the artifacts again"
        )
