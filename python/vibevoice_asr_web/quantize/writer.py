"""Data chunks in the Transformers.js naming (X.onnx_data, X.onnx_data_1, ...), filled through regions.

A tensor's place is reserved before its bytes exist (its size is known from its shape), so a
transform with two outputs (packed codes and scales) can stream both at once: each output
appends to its own region with pwrite. Every chunk stays under `max_chunk_bytes`; a region
that would cross it starts the next chunk. Large tensors start on a 4 KiB boundary (so
onnxruntime can map them), small ones on 64 bytes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.artifact.contract import MAX_CHUNK_BYTES
from vibevoice_asr_web.onnx_io import ALIGNMENT, chunk_file_name

PAGE_ALIGNMENT = 4096
PAGE_ALIGN_FROM_BYTES = 1 << 20


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


@dataclass
class DataChunks:
    """The data chunks of one graph file `onnx_name` in `directory`."""

    directory: Path
    onnx_name: str
    max_chunk_bytes: int = MAX_CHUNK_BYTES
    files: list[str] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    _fds: list[int] = field(default_factory=list)

    def reserve(self, nbytes: int, name: str) -> Region:
        if nbytes > self.max_chunk_bytes:
            raise UserError(
                f"initializer {name} is {nbytes:,} bytes, more than one data chunk may hold ({self.max_chunk_bytes:,}); "
                "use a quantized dtype for it"
            )
        alignment = PAGE_ALIGNMENT if nbytes >= PAGE_ALIGN_FROM_BYTES else ALIGNMENT
        if self.files:
            offset = self.sizes[-1] + (-self.sizes[-1] % alignment)
        if not self.files or offset + nbytes > self.max_chunk_bytes:
            self._open_next()
            offset = 0
        self.sizes[-1] = offset + nbytes
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
