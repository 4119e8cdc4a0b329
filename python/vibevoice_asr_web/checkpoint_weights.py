"""Reads a safetensors checkpoint a tensor (or a slab of rows) at a time with pread.

pread, not mmap: mapped pages count as resident memory, so a mapped 17 GB checkpoint looks like
a 17 GB process. Names are the model's state_dict names; the checkpoint may use either layout.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.inventory import to_checkpoint_key

NUMPY_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64, "I64": np.int64}


def to_float32(raw: np.ndarray, dtype: str) -> np.ndarray:
    """float32 values of raw safetensors elements of `dtype` (bf16 is the top half of a float32)."""
    if dtype == "BF16":
        return (raw.view(np.uint16).astype(np.uint32) << 16).view(np.float32)
    return raw.view(NUMPY_DTYPES[dtype]).astype(np.float32, copy=False)


@dataclass(frozen=True)
class Entry:
    path: Path
    dtype: str
    shape: tuple[int, ...]
    offset: int  # absolute offset of the first byte in the file
    nbytes: int

    @property
    def itemsize(self) -> int:
        return np.dtype(NUMPY_DTYPES[self.dtype]).itemsize


def _read_header(path: Path) -> dict[str, Entry]:
    size = path.stat().st_size
    with open(path, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise UserError(f"{path} is not a safetensors file (too short): download the checkpoint again")
        (header_len,) = struct.unpack("<Q", raw)
        if header_len > min(size, 100 << 20):
            raise UserError(f"{path} has a corrupt safetensors header: download the checkpoint again")
        header = json.loads(f.read(header_len))
    base = 8 + header_len
    entries = {}
    for key, info in header.items():
        if key == "__metadata__":
            continue
        if info["dtype"] not in NUMPY_DTYPES:
            raise UserError(f"{path}: tensor {key} has dtype {info['dtype']}; expected F32, F16 or BF16")
        start, end = info["data_offsets"]
        if base + end > size:
            raise UserError(f"{path} is truncated: tensor {key} ends at byte {base + end:,} of {size:,}; download it again")
        entries[key] = Entry(path, info["dtype"], tuple(info["shape"]), base + start, end - start)
    return entries


class SafetensorsCheckpoint:
    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        files = sorted(self.folder.glob("*.safetensors"))
        if not files:
            raise UserError(f"{self.folder} holds no *.safetensors weights")
        self.entries: dict[str, Entry] = {}
        for path in files:
            self.entries.update(_read_header(path))

    def entry(self, name: str) -> Entry:
        for key in (name, to_checkpoint_key(name) if "." in name else name):
            if key in self.entries:
                return self.entries[key]
        raise UserError(f"the checkpoint in {self.folder} has no tensor {name} (nor {to_checkpoint_key(name)}): is it a VibeVoice-ASR checkpoint?")

    def __contains__(self, name: str) -> bool:
        try:
            self.entry(name)
        except (UserError, ValueError):
            return False
        return True

    def read_rows(self, name: str, start: int, stop: int) -> np.ndarray:
        """Rows [start, stop) along the first dim, as float32."""
        e = self.entry(name)
        row = math.prod(e.shape[1:]) * e.itemsize
        fd = os.open(e.path, os.O_RDONLY)
        try:
            data = os.pread(fd, (stop - start) * row, e.offset + start * row)
        finally:
            os.close(fd)
        if len(data) != (stop - start) * row:
            raise UserError(f"{e.path} ended early while reading {name}: download the checkpoint again")
        return to_float32(np.frombuffer(data, dtype=NUMPY_DTYPES[e.dtype]), e.dtype).reshape((stop - start, *e.shape[1:]))

    def read(self, name: str) -> np.ndarray:
        return self.read_rows(name, 0, self.entry(name).shape[0])
