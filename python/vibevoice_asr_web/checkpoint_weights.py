"""The index of a safetensors checkpoint: which shard, offset and element type holds each tensor.

Its tensors are read by the one tensor reader (`tensor_reader.SlabReader`, pread in slabs, as the
quantizer reads data chunks): `source(name)` describes a tensor for it. pread, not mmap: mapped
pages count as resident memory, so a mapped 17 GB checkpoint looks like a 17 GB process. Names
are the model's state_dict names; the checkpoint may use either layout (`checkpoint_layout`):
the reader finds each name's key in it, so what reads the tensors sees one layout.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from onnx import TensorProto

from vibevoice_asr_web import checkpoint_layout
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.inventory import to_checkpoint_key
from vibevoice_asr_web.tensor_reader import CHECKPOINT_ITEMSIZE, NUMPY_DTYPES, SlabReader, TensorSource


@dataclass(frozen=True)
class Entry:
    path: Path
    dtype: str
    shape: tuple[int, ...]
    offset: int  # absolute offset of the first byte in the file
    nbytes: int

    @property
    def itemsize(self) -> int:
        return CHECKPOINT_ITEMSIZE[self.dtype]


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
        self.layout = checkpoint_layout.layout_of(self.folder)
        files = sorted(self.folder.glob("*.safetensors"))
        if not files:
            raise UserError(f"{self.folder} holds no *.safetensors weights")
        self.entries: dict[str, Entry] = {}  # by checkpoint key; only the tensors the model has
        for path in files:
            for key, entry in _read_header(path).items():
                if self.layout != checkpoint_layout.ORIGINAL or checkpoint_layout.name_of_original_key(key) is not None:
                    self.entries[key] = entry

    def keys_of(self, name: str) -> tuple[str, ...]:
        """Where this checkpoint's layout may store the model's tensor `name`."""
        if self.layout == checkpoint_layout.ORIGINAL:
            return (checkpoint_layout.original_key(name),)
        return (name, to_checkpoint_key(name)) if "." in name else (name,)

    def entry(self, name: str) -> Entry:
        keys = self.keys_of(name)
        for key in keys:
            if key in self.entries:
                return self.entries[key]
        raise UserError(
            f"the checkpoint in {self.folder} ({self.layout} layout) has no tensor {keys[-1]} (the model's {name}): "
            "is the download complete, and is it a VibeVoice-ASR checkpoint?"
        )

    def __contains__(self, name: str) -> bool:
        try:
            self.entry(name)
        except (UserError, ValueError):
            return False
        return True

    def source(self, name: str, transposed: bool = False, metadata: tuple[tuple[str, str], ...] = ()) -> TensorSource:
        """`name` as a float32 tensor read in place (transposed: a 2-D [out, in] read as [in, out])."""
        e = self.entry(name)
        if transposed and len(e.shape) != 2:
            raise UserError(f"{name} is {list(e.shape)} in the checkpoint: only a 2-D weight can be read transposed")
        dims = tuple(reversed(e.shape)) if transposed else e.shape
        return TensorSource(
            name, TensorProto.FLOAT, dims, file=e.path, offset=e.offset, length=e.nbytes, metadata=metadata,
            checkpoint_dtype=e.dtype, checkpoint_transposed=transposed,
        )

    def read(self, name: str) -> np.ndarray:
        """The whole tensor as float32 (for small ones and tests; export streams the large ones)."""
        source = self.source(name)
        with SlabReader() as reader:
            return reader.read_flat(source, 0, source.size).reshape(source.dims)
