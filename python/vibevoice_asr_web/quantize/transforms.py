"""Per-tensor transforms: what each initializer of an output graph holds, produced slab by slab.

A transform reads one source tensor through a SlabReader and appends its output bytes, in order,
to one sink per output (a region of a data chunk, or a small in-memory buffer). None of them
holds more than the slab being transformed and that slab's output:

  Copy          the source as it is
  CastFloat16   float32 -> float16, values beyond the fp16 range clamped to +-65504
  Int4MatMul    a MatMul weight -> MatMulNBits B [N, k_blocks, blob] + scales [N, k_blocks]
                (stored [K, N], or [N, K] when the graph reaches it through a Transpose)
  TernaryMatMul the same for bits 2: a ternary (BitNet) weight, stored exactly, or refused
  Int4Gather    an embedding table [V, H] -> GatherBlockQuantized data uint8 [V, H/2] + scales [V, H/block]
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from onnx import TensorProto, helper

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.quantize import int4, ternary
from vibevoice_asr_web.tensor_reader import BufferRing, SlabReader, TensorSource, pipelined

FP16_MAX = float(np.finfo(np.float16).max)  # 65504
# A slab is transformed in pieces of at most this many input bytes, so the copies a transform makes
# (a transposed tile, its fp16 cast) stay small next to the read buffers.
WORK_BYTES = 16 << 20

Sink = Callable[[np.ndarray], None]


@dataclass(frozen=True)
class OutputSpec:
    """One initializer a transform writes."""

    name: str
    elem_type: int
    dims: tuple[int, ...]
    metadata: tuple[tuple[str, str], ...] = ()

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(helper.tensor_dtype_to_np_dtype(self.elem_type))

    @property
    def nbytes(self) -> int:
        return math.prod(self.dims) * self.dtype.itemsize

    @property
    def is_float(self) -> bool:
        return self.elem_type in (TensorProto.FLOAT, TensorProto.FLOAT16)


@dataclass
class Context:
    """What a running transform uses: the reader, the read buffers, and a progress hook (bytes read)."""

    reader: SlabReader
    ring: BufferRing
    on_slab: Callable[[int], None] = lambda nbytes: None


@dataclass
class Transform:
    source: TensorSource
    outputs: tuple[OutputSpec, ...] = field(default=())
    # float values clamped into the fp16 range while running (reported, never silent)
    clamped: int = 0

    def run(self, context: Context, sinks: list[Sink]) -> None:
        """Appends each output's bytes, in order, to its sink."""
        raise NotImplementedError

    def _flat_slabs(self, context: Context) -> Iterator[np.ndarray]:
        source = self.source
        per_slab = max(1, context.ring.nbytes // source.dtype.itemsize)
        tasks = (
            (lambda buffer, start=start: context.reader.read_flat(source, start, min(start + per_slab, source.size), buffer))
            for start in range(0, source.size, per_slab)
        )
        for slab in pipelined(tasks, context.ring):
            yield slab
            context.on_slab(slab.nbytes)


def pieces(count: int, item_bytes: int, work_bytes: int = WORK_BYTES) -> Iterator[slice]:
    """[0, count) in consecutive slices of at most `work_bytes` (at least one item each)."""
    step = max(1, work_bytes // max(item_bytes, 1))
    for start in range(0, count, step):
        yield slice(start, min(start + step, count))


def to_float16(values: np.ndarray, transform: Transform) -> np.ndarray:
    """float16 copy of `values`, clamping what is beyond the fp16 range (counted on `transform`)."""
    if values.dtype == np.float16:
        return values
    with np.errstate(over="ignore"):
        half = values.astype(np.float16)
    overflowed = np.isinf(half)
    if overflowed.any():
        overflowed &= np.isfinite(values)  # infinities that were finite before the cast
        count = int(np.count_nonzero(overflowed))
        if count:
            half[overflowed] = np.copysign(FP16_MAX, values[overflowed])
            transform.clamped += count
    return half


@dataclass
class Copy(Transform):
    def __post_init__(self):
        if not self.outputs:
            self.outputs = (OutputSpec(self.source.name, self.source.elem_type, self.source.dims, self.source.metadata),)

    def run(self, context: Context, sinks: list[Sink]) -> None:
        for slab in self._flat_slabs(context):
            sinks[0](slab)


@dataclass
class CastFloat16(Transform):
    def __post_init__(self):
        if self.source.elem_type != TensorProto.FLOAT:
            raise ValueError(f"{self.source.name}: only float32 tensors are cast to float16")
        if not self.outputs:
            self.outputs = (OutputSpec(self.source.name, TensorProto.FLOAT16, self.source.dims, self.source.metadata),)

    def run(self, context: Context, sinks: list[Sink]) -> None:
        for slab in self._flat_slabs(context):
            for part in pieces(slab.size, slab.itemsize):
                sinks[0](to_float16(slab[part], self))


def _check_float_2d(source: TensorSource, what: str) -> None:
    if len(source.dims) != 2 or source.elem_type not in (TensorProto.FLOAT, TensorProto.FLOAT16):
        raise ValueError(f"{what} needs a 2-D float weight, {source.name} is {list(source.dims)} {source.dtype}")


@dataclass
class _BlockMatMul(Transform):
    """A MatMul weight read column by column into [K, w] tiles for a MatMulNBits packing kernel.

    layout "KN": the source is the MatMul's B [K, N]; "NK": B is Transpose(source [N, K]).
    """

    layout: str = "KN"
    block_size: int = contract.INT4_BLOCK_SIZE
    compute_dtype: str = "float32"  # "float16" for the f16 variants: the fp16 weight is packed, scales are fp16
    quantized_name: str = ""
    scales_name: str = ""

    bits: ClassVar[int]
    name_suffix: ClassVar[str]

    def __post_init__(self):
        _check_float_2d(self.source, "MatMulNBits")
        if self.layout not in ("KN", "NK"):
            raise ValueError(f"unknown weight layout {self.layout!r}")
        int4.check_block_size(self.block_size)
        blocks = int4.k_blocks(self.k, self.block_size)
        scale_type = TensorProto.FLOAT16 if self.compute_dtype == "float16" else TensorProto.FLOAT
        self.outputs = (
            OutputSpec(self.quantized_name or f"{self.source.name}{self.name_suffix}", TensorProto.UINT8,
                       (self.n, blocks, self.block_size * self.bits // 8)),
            OutputSpec(self.scales_name or f"{self.source.name}_scales", scale_type, (self.n, blocks)),
        )

    def pack(self, tile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One [K, w] tile -> (packed [w, k_blocks, blob], scales [w, k_blocks])."""
        raise NotImplementedError

    @property
    def k(self) -> int:
        return self.source.dims[0] if self.layout == "KN" else self.source.dims[1]

    @property
    def n(self) -> int:
        return self.source.dims[1] if self.layout == "KN" else self.source.dims[0]

    def _slabs(self, context: Context) -> Iterator[np.ndarray]:
        """Slabs covering the N columns in order: [K, W] ("KN", a band of columns) or [W, K] ("NK", rows)."""
        source, reader = self.source, context.reader
        width = max(1, context.ring.nbytes // (self.k * source.dtype.itemsize))
        if self.layout == "KN":
            tasks = (
                (lambda buffer, n0=n0: reader.read_columns(source, n0, min(n0 + width, self.n), buffer))
                for n0 in range(0, self.n, width)
            )
        else:
            tasks = (
                (lambda buffer, n0=n0: reader.read_rows(source, n0, min(n0 + width, self.n), buffer))
                for n0 in range(0, self.n, width)
            )
        for slab in pipelined(tasks, context.ring):
            context.on_slab(slab.nbytes)
            yield slab

    def _tiles(self, slab: np.ndarray) -> Iterator[np.ndarray]:
        """[K, w] tiles of a slab, in column order: the slab itself when it is ready for the kernel,
        else transposed and/or cast to fp16 a piece at a time."""
        if self.layout == "KN" and self.compute_dtype == slab.dtype.name:
            yield slab
        elif self.layout == "KN":
            for part in pieces(slab.shape[1], slab.shape[0] * slab.itemsize):
                yield to_float16(slab[:, part], self)
        else:
            for part in pieces(slab.shape[0], slab.shape[1] * slab.itemsize):
                tile = np.ascontiguousarray(slab[part].T)
                yield to_float16(tile, self) if self.compute_dtype == "float16" else tile

    def run(self, context: Context, sinks: list[Sink]) -> None:
        for slab in self._slabs(context):
            for tile in self._tiles(slab):
                packed, scales = self.pack(tile)
                sinks[0](packed)
                sinks[1](scales)


@dataclass
class Int4MatMul(_BlockMatMul):
    """MatMulNBits bits 4, symmetric, with onnxruntime's own kernel."""

    bits: ClassVar[int] = int4.BITS
    name_suffix: ClassVar[str] = "_Q4"

    def pack(self, tile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return int4.quantize_tile(tile, self.block_size)


@dataclass
class TernaryMatMul(_BlockMatMul):
    """MatMulNBits bits 2 holding a ternary weight exactly; any other weight is refused (ternary.py)."""

    bits: ClassVar[int] = ternary.BITS
    name_suffix: ClassVar[str] = "_Q2"

    def pack(self, tile: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # numpy's packing makes a few copies of what it packs: work on pieces of a slab, not all of it
        parts = [ternary.quantize_tile(tile[:, part], self.block_size, self.source.name)
                 for part in pieces(tile.shape[1], tile.shape[0] * tile.itemsize)]
        return np.concatenate([p for p, _ in parts]), np.concatenate([s for _, s in parts])


@dataclass
class Int4Gather(Transform):
    """An embedding table [V, H] quantized along H, packed as GatherBlockQuantized's uint8 data (bits 4).

    The codes and scales come from the same kernel as MatMulNBits (the table is the [K=H, N=V]
    weight of a MatMul): GatherBlockQuantized's default zero point for 4-bit uint8 data is 8,
    which is MatMulNBits' symmetric zero point, so both dequantize as (q - 8) * scale.
    """

    block_size: int = contract.INT4_BLOCK_SIZE
    compute_dtype: str = "float32"
    quantized_name: str = ""
    scales_name: str = ""

    def __post_init__(self):
        _check_float_2d(self.source, "GatherBlockQuantized")
        int4.check_block_size(self.block_size)
        vocab, hidden = self.source.dims
        if hidden % 2:
            raise UserError(f"{self.source.name} has an odd hidden size {hidden}: 4-bit GatherBlockQuantized packs two values a byte")
        scale_type = TensorProto.FLOAT16 if self.compute_dtype == "float16" else TensorProto.FLOAT
        self.outputs = (
            OutputSpec(self.quantized_name or f"{self.source.name}_Q4", TensorProto.UINT8, (vocab, hidden // 2)),
            OutputSpec(self.scales_name or f"{self.source.name}_scales", scale_type, (vocab, int4.k_blocks(hidden, self.block_size))),
        )

    def run(self, context: Context, sinks: list[Sink]) -> None:
        source, reader = self.source, context.reader
        vocab, hidden = source.dims
        rows = max(1, context.ring.nbytes // (hidden * source.dtype.itemsize))
        tasks = (
            (lambda buffer, v0=v0: reader.read_rows(source, v0, min(v0 + rows, vocab), buffer))
            for v0 in range(0, vocab, rows)
        )
        for slab in pipelined(tasks, context.ring):
            context.on_slab(slab.nbytes)
            for part in pieces(slab.shape[0], hidden * slab.itemsize):
                tile = np.ascontiguousarray(slab[part].T)  # [K=hidden, w rows]
                if self.compute_dtype == "float16":
                    tile = to_float16(tile, self)
                packed, scales = int4.quantize_tile(tile, self.block_size)
                data = packed.reshape(packed.shape[0], -1)[:, : hidden // 2]  # drops the last block's padding, if any
                sinks[0](data)
                sinks[1](scales)
