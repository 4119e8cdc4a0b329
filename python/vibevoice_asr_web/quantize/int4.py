"""int4 block quantization with onnxruntime's own kernel (MLAS), one [K, W] tile at a time.

`quantize_matmul_4bits` is what `onnxruntime.quantization.matmul_nbits_quantizer`'s
DefaultWeightOnlyQuantizer calls for MatMulNBits: for every output column n and block b of
`block_size` consecutive k it writes a scale and `block_size / 2` bytes of packed codes (even k in
the low nibble). Blocks run along K inside one column, so quantizing a band of columns gives
exactly the bytes of those columns in the whole-tensor result: the streaming quantizer is
byte-identical to onnxruntime's, whatever the band width.

Symmetric mode: no zero points (the kernel's default zero point is 8), scale = (signed max) / -8.
"""

from __future__ import annotations

import numpy as np

from vibevoice_asr_web.errors import UserError

BITS = 4
BLOCK_SIZES = (16, 32, 64, 128, 256)


def check_block_size(block_size: int) -> int:
    if block_size not in BLOCK_SIZES:
        raise UserError(f"block size {block_size} is not supported: expected one of {', '.join(map(str, BLOCK_SIZES))}")
    return block_size


def k_blocks(k: int, block_size: int) -> int:
    return -(-k // block_size)


def blob_size(block_size: int) -> int:
    return block_size * BITS // 8


def quantize_tile(tile_kn: np.ndarray, block_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A [K, W] float32/float16 tile -> (packed uint8 [W, k_blocks, block_size/2], scales [W, k_blocks]).

    Scales have the tile's dtype (float16 tiles give float16 scales, as onnxruntime does for an
    fp16 model).
    """
    from onnxruntime.capi._pybind_state import quantize_matmul_4bits

    if tile_kn.dtype not in (np.float32, np.float16):
        raise TypeError(f"int4 quantization takes float32 or float16 weights, got {tile_kn.dtype}")
    # pybind would silently copy a non-contiguous or wrongly typed array, and write into the copy
    tile_kn = np.ascontiguousarray(tile_kn)
    k, w = tile_kn.shape
    blocks = k_blocks(k, block_size)
    packed = np.zeros((w, blocks, blob_size(block_size)), np.uint8)
    scales = np.zeros((w, blocks), tile_kn.dtype)
    zero_points = np.zeros((w, (blocks + 1) // 2), np.uint8)  # written by the kernel, unused when symmetric
    quantize_matmul_4bits(packed, tile_kn, scales, zero_points, block_size, w, k, True)
    return packed, scales


def dequantize(packed: np.ndarray, scales: np.ndarray, k: int) -> np.ndarray:
    """The [K, N] float32 weight that MatMulNBits (symmetric, 4 bits) computes with; for tests and checks."""
    n, blocks, blob = packed.shape
    block_size = blob * 8 // BITS
    codes = np.stack([packed & 0x0F, packed >> 4], axis=-1).reshape(n, blocks * block_size).astype(np.float32)
    values = (codes - 8.0) * np.repeat(scales.astype(np.float32), block_size, axis=1)
    return values[:, :k].T
