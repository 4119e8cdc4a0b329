"""The graph without its weights, then each weight read from its data chunk in bounded slabs.

`load_graph` parses only the .onnx file (onnx.load with load_external_data=False) and describes
every initializer as a TensorSource: where its bytes are (file, offset, length) or, for the small
ones stored in the graph, the bytes themselves. It checks every external reference against the
file on disk, so a truncated `.onnx_data` is reported before any work starts.

`SlabReader` reads parts of one tensor with pread (never mmap: mapped pages count as resident
memory): whole rows, a band of columns (one pread per row), or flat byte ranges. `pipelined` runs
the reads one slab ahead of the consumer on a second thread, through a ring of reused buffers.
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vibevoice_asr_web.checkpoint_weights import to_float32 as checkpoint_to_float32
from vibevoice_asr_web.artifact.contract import MAX_IR_VERSION
from vibevoice_asr_web.errors import UserError

CHECKPOINT_ITEMSIZE = {"BF16": 2, "F16": 2, "F32": 4}


@dataclass(frozen=True)
class TensorSource:
    """One initializer of the input graph: its type, shape and where its bytes are."""

    name: str
    elem_type: int  # onnx.TensorProto data type
    dims: tuple[int, ...]
    file: Path | None = None  # external data file; None when the bytes are in the graph
    offset: int = 0
    length: int = 0
    inline: bytes | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    # Set when the bytes are a checkpoint's tensor read in place (export straight to int4): its
    # element type there ("BF16", "F16", "F32") and whether the graph wants it transposed ([in, out]
    # for a Linear's [out, in]). The reader converts to float32 and transposes on the way.
    checkpoint_dtype: str = ""
    checkpoint_transposed: bool = False

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(helper.tensor_dtype_to_np_dtype(self.elem_type))

    @property
    def size(self) -> int:
        return math.prod(self.dims)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def stored_dims(self) -> tuple[int, ...]:
        return tuple(reversed(self.dims)) if self.checkpoint_transposed else self.dims

    @property
    def stored_itemsize(self) -> int:
        return CHECKPOINT_ITEMSIZE[self.checkpoint_dtype] if self.checkpoint_dtype else self.dtype.itemsize

    @property
    def stored_nbytes(self) -> int:
        return self.size * self.stored_itemsize

    @property
    def is_float(self) -> bool:
        return self.elem_type in (TensorProto.FLOAT, TensorProto.FLOAT16)


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
        raise UserError(f"{graph_path}: initializer {tensor.name} reads a {source.checkpoint_dtype} checkpoint tensor as {tensor.data_type}; expected a float tensor from BF16, F16 or F32")
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


def load_graph(path: str | os.PathLike) -> tuple[onnx.ModelProto, dict[str, TensorSource]]:
    """The graph (no weights in memory) and a TensorSource for every initializer, all checked."""
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


class SlabReader:
    """Reads parts of TensorSources with pread; `on_read(n)` is told every byte count read."""

    def __init__(self, on_read: Callable[[int], None] | None = None):
        self._fds: dict[Path, int] = {}
        self.on_read = on_read

    def __enter__(self) -> "SlabReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def _fd(self, file: Path) -> int:
        if file not in self._fds:
            self._fds[file] = os.open(file, os.O_RDONLY)
        return self._fds[file]

    def _pread_into(self, source: TensorSource, view: memoryview, offset: int) -> None:
        """Fills `view` with the tensor's bytes from `offset` (relative to the tensor)."""
        if source.file is None:
            view[:] = source.inline[offset : offset + len(view)]
            return
        fd = self._fd(source.file)
        done = 0
        while done < len(view):
            got = os.preadv(fd, [view[done:]], source.offset + offset + done)
            if got == 0:
                raise UserError(
                    f"{source.file} ended early while reading {source.name} (at byte {source.offset + offset + done:,}): "
                    "the file was truncated or replaced during the run; download or export it again"
                )
            done += got
        if self.on_read:
            self.on_read(len(view))

    def _stored_rows(self, source: TensorSource, row0: int, row1: int, buffer: np.ndarray | None) -> np.ndarray:
        """Rows [row0, row1) of a checkpoint tensor as it is stored, converted to float32."""
        per_row = math.prod(source.stored_dims[1:])
        raw = _view(buffer, np.dtype(f"u{source.stored_itemsize}"), ((row1 - row0) * per_row,))
        self._pread_into(source, memoryview(raw).cast("B"), row0 * per_row * source.stored_itemsize)
        return checkpoint_to_float32(raw, source.checkpoint_dtype).reshape((row1 - row0, *source.stored_dims[1:]))

    def _stored_columns(self, source: TensorSource, col0: int, col1: int) -> np.ndarray:
        """Columns [col0, col1) of every stored row of a 2-D checkpoint tensor, as float32."""
        rows, cols = source.stored_dims
        item = source.stored_itemsize
        raw = np.empty((rows, col1 - col0), np.dtype(f"u{item}"))
        for row in range(rows):
            self._pread_into(source, memoryview(raw[row]).cast("B"), (row * cols + col0) * item)
        return checkpoint_to_float32(raw, source.checkpoint_dtype).reshape(rows, col1 - col0)

    def read_flat(self, source: TensorSource, start: int, stop: int, buffer: np.ndarray | None = None) -> np.ndarray:
        """Elements [start, stop) of the flattened tensor, as a 1-D array."""
        if source.checkpoint_dtype:
            if source.checkpoint_transposed:  # whole rows of the transposed view, then the span
                cols = source.dims[1]
                rows = self.read_rows(source, start // cols, -(-stop // cols))
                return np.ascontiguousarray(rows.reshape(-1)[start - (start // cols) * cols :][: stop - start])
            raw = _view(buffer, np.dtype(f"u{source.stored_itemsize}"), (stop - start,))
            self._pread_into(source, memoryview(raw).cast("B"), start * source.stored_itemsize)
            return checkpoint_to_float32(raw, source.checkpoint_dtype)
        count = stop - start
        out = _view(buffer, source.dtype, (count,))
        self._pread_into(source, memoryview(out).cast("B"), start * source.dtype.itemsize)
        return out

    def read_rows(self, source: TensorSource, row0: int, row1: int, buffer: np.ndarray | None = None) -> np.ndarray:
        """Rows [row0, row1) of a 2-D tensor: one contiguous read."""
        if source.checkpoint_dtype:
            if source.checkpoint_transposed:
                return np.ascontiguousarray(self._stored_columns(source, row0, row1).T)
            return self._stored_rows(source, row0, row1, buffer)
        rows, cols = source.dims
        out = _view(buffer, source.dtype, (row1 - row0, cols))
        self._pread_into(source, memoryview(out.reshape(-1)).cast("B"), row0 * cols * source.dtype.itemsize)
        return out

    def read_columns(self, source: TensorSource, col0: int, col1: int, buffer: np.ndarray | None = None) -> np.ndarray:
        """Columns [col0, col1) of every row of a 2-D tensor: one read per row (contiguous when all columns)."""
        if source.checkpoint_dtype:
            if source.checkpoint_transposed:  # columns of [in, out] are stored rows of [out, in]
                return np.ascontiguousarray(self._stored_rows(source, col0, col1, buffer).T)
            return self._stored_columns(source, col0, col1)
        rows, cols = source.dims
        if col0 == 0 and col1 == cols:
            return self.read_rows(source, 0, rows, buffer)
        out = _view(buffer, source.dtype, (rows, col1 - col0))
        itemsize = source.dtype.itemsize
        flat = memoryview(out.reshape(-1)).cast("B")
        width = (col1 - col0) * itemsize
        for row in range(rows):
            self._pread_into(source, flat[row * width : (row + 1) * width], (row * cols + col0) * itemsize)
        return out


def _view(buffer: np.ndarray | None, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """A C-contiguous array of `shape` inside `buffer` (uint8), or a new one without a buffer."""
    if buffer is None:
        return np.empty(shape, dtype)
    need = math.prod(shape) * dtype.itemsize
    if need > buffer.nbytes:
        raise RuntimeError(f"slab of {need:,} bytes does not fit the {buffer.nbytes:,}-byte read buffer")
    return buffer[:need].view(dtype).reshape(shape)


T = TypeVar("T")


class BufferRing:
    """A fixed set of reusable read buffers: reads never allocate, memory stays `count * nbytes`."""

    def __init__(self, nbytes: int, count: int = 2):
        self.nbytes = nbytes
        self._free = [np.empty(nbytes, np.uint8) for _ in range(count)]

    def take(self) -> np.ndarray:
        return self._free.pop()

    def give(self, buffer: np.ndarray) -> None:
        self._free.append(buffer)

    @property
    def count_free(self) -> int:
        return len(self._free)


def pipelined(tasks: Iterable[Callable[[np.ndarray], T]], ring: BufferRing) -> Iterator[T]:
    """Runs each read task on a worker thread one slab ahead, each into a buffer of `ring`.

    A task's buffer goes back to the ring when the consumer asks for the next result, so the
    consumer must be done with a result (or have copied what it keeps) by then.
    """
    tasks = iter(tasks)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="slab-reader") as pool:
        pending: deque = deque()

        def submit() -> None:
            while ring.count_free:
                task = next(tasks, None)
                if task is None:
                    return
                buffer = ring.take()
                pending.append((pool.submit(task, buffer), buffer))

        try:
            submit()
            while pending:
                future, buffer = pending.popleft()
                result = future.result()
                yield result
                ring.give(buffer)
                submit()
        finally:
            for future, buffer in pending:
                future.cancel()
            for future, buffer in pending:
                if not future.cancelled():
                    future.exception()  # wait for a running read before its buffer goes away
                ring.give(buffer)
