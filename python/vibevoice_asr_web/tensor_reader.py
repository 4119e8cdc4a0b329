"""One reader of tensor bytes, for export and quantize alike: a TensorSource says where a tensor's
bytes are, a SlabReader reads them in bounded slabs.

A TensorSource is a data chunk's span (an fp32 artifact graph, see `onnx_io.load_graph`), a
checkpoint's tensor read in place (`checkpoint_weights.SafetensorsCheckpoint.source`: bf16/f16/f32,
converted to float32 and transposed on the way), or small bytes held in memory.

`SlabReader` reads parts of one tensor with pread (never mmap: mapped pages count as resident
memory): whole rows, a band of columns (one pread per row), or flat byte ranges. `pipelined` runs
the reads one slab ahead of the consumer on a second thread, through a ring of reused buffers.
"""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
from onnx import TensorProto, helper

from vibevoice_asr_web.errors import UserError

# safetensors element types a checkpoint may hold, as numpy reads their raw bytes (bf16 as uint16)
NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64, "I64": np.int64}
CHECKPOINT_ITEMSIZE = {name: np.dtype(dtype).itemsize for name, dtype in NUMPY_DTYPES.items()}
DEFAULT_SLAB_BYTES = 64 << 20  # one read buffer; export and quantize hold two


def to_float32(raw: np.ndarray, dtype: str) -> np.ndarray:
    """float32 values of raw safetensors elements of `dtype` (bf16 is the top half of a float32)."""
    if dtype == "BF16":
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    return raw.view(NUMPY_DTYPES[dtype]).astype(np.float32, copy=False)


@dataclass(frozen=True)
class TensorSource:
    """One tensor: its type and shape as the graph wants it, and where its bytes are."""

    name: str
    elem_type: int  # onnx.TensorProto data type
    dims: tuple[int, ...]
    file: Path | None = None  # external data file; None when the bytes are in the graph
    offset: int = 0
    length: int = 0
    inline: bytes | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    # Set when the bytes are a checkpoint's tensor read in place (export, and export straight to
    # int4): its element type there ("BF16", "F16", "F32") and whether the graph wants it transposed
    # ([in, out] for a Linear's [out, in]). The reader converts to float32 and transposes on the way.
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
        return to_float32(raw, source.checkpoint_dtype).reshape((row1 - row0, *source.stored_dims[1:]))

    def _stored_columns(self, source: TensorSource, col0: int, col1: int) -> np.ndarray:
        """Columns [col0, col1) of every stored row of a 2-D checkpoint tensor, as float32."""
        rows, cols = source.stored_dims
        item = source.stored_itemsize
        raw = np.empty((rows, col1 - col0), np.dtype(f"u{item}"))
        for row in range(rows):
            self._pread_into(source, memoryview(raw[row]).cast("B"), (row * cols + col0) * item)
        return to_float32(raw, source.checkpoint_dtype).reshape(rows, col1 - col0)

    def read_flat(self, source: TensorSource, start: int, stop: int, buffer: np.ndarray | None = None) -> np.ndarray:
        """Elements [start, stop) of the flattened tensor, as a 1-D array."""
        if source.checkpoint_dtype:
            if source.checkpoint_transposed:  # whole rows of the transposed view, then the span
                cols = source.dims[1]
                rows = self.read_rows(source, start // cols, -(-stop // cols))
                return np.ascontiguousarray(rows.reshape(-1)[start - (start // cols) * cols :][: stop - start])
            raw = _view(buffer, np.dtype(f"u{source.stored_itemsize}"), (stop - start,))
            self._pread_into(source, memoryview(raw).cast("B"), start * source.stored_itemsize)
            return to_float32(raw, source.checkpoint_dtype)
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
