"""Ternary weights as 2-bit MatMulNBits codes, lossless: each block's values must be {-s, 0, +s}.

A BitNet b1.58 projection is ternary: microsoft/VibeVoice-ASR-BitNet's converter (VibeASR.cpp
`utils/convert_lm_to_gguf.py`, `quant_weight_fp16`) and llama.cpp's BitnetModel.weight_quant both
turn the checkpoint's latent weight W into round(W / m).clamp(-1, 1) * m with m = mean(|W|)
(clamped to >= 1e-5), one m per tensor. Such a weight is stored here exactly.

MatMulNBits with bits 2 and no zero points (onnxruntime's default zero point for 2 bits is 2)
dequantizes code q as (q - 2) * scale, one scale per block of `block_size` consecutive k in one
output column n; B is [N, k_blocks, block_size / 4] uint8 with element k in bits 2 * (k % 4) of
its byte. A ternary value t * s (t in {-1, 0, 1}) is code t + 2 with the block's scale s = max |w|:
the bytes are onnxruntime's own `quantize_matmul_2bits` layout (a test compares them), but not its
scales, which are max / -2 (symmetric) and would turn +s into -s / 2.
"""

from __future__ import annotations

import numpy as np

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.quantize import int4

BITS = 2
ZERO_POINT = 2  # MatMulNBits' default for 2-bit codes without a zero_points input
VALUES_PER_BYTE = 8 // BITS


def quantize_tile(tile_kn: np.ndarray, block_size: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """A ternary [K, W] float32/float16 tile -> (packed uint8 [W, k_blocks, block_size/4], scales [W, k_blocks]).

    Scales have the tile's dtype. Refuses (UserError naming `name`) a tile whose blocks are not
    ternary; checks that the packed bytes dequantize to the tile exactly.
    """
    if tile_kn.dtype not in (np.float32, np.float16):
        raise TypeError(f"ternary packing takes float32 or float16 weights, got {tile_kn.dtype}")
    k, w = tile_kn.shape
    blocks = int4.k_blocks(k, block_size)
    by_block = np.zeros((w, blocks * block_size), tile_kn.dtype)  # K padded with zeros (code 2)
    by_block[:, :k] = tile_kn.T
    by_block = by_block.reshape(w, blocks, block_size)
    scales = np.abs(by_block).max(axis=2)
    with np.errstate(invalid="ignore", divide="ignore"):
        signs = np.clip(np.rint(by_block / scales[..., None]), -1, 1)
    signs[scales == 0] = 0
    exact = signs.astype(tile_kn.dtype) * scales[..., None] == by_block  # NaN and inf compare unequal
    if not exact.all():
        raise _not_ternary(name, by_block, exact, k, block_size)
    codes = (signs + ZERO_POINT).astype(np.uint8).reshape(w, blocks, block_size // VALUES_PER_BYTE, VALUES_PER_BYTE)
    packed = codes[..., 0] | codes[..., 1] << 2 | codes[..., 2] << 4 | codes[..., 3] << 6
    if not np.array_equal(dequantize(packed, scales, k).astype(tile_kn.dtype), tile_kn):
        raise RuntimeError(f"{name}: the 2-bit codes do not dequantize to the ternary weight (a packing bug)")
    return packed, scales


def dequantize(packed: np.ndarray, scales: np.ndarray, k: int) -> np.ndarray:
    """The [K, N] float32 weight that MatMulNBits (bits 2, default zero point) computes with."""
    n, blocks, blob = packed.shape
    block_size = blob * VALUES_PER_BYTE
    codes = np.stack([(packed >> shift) & 0b11 for shift in range(0, 8, BITS)], axis=-1).reshape(n, blocks * block_size)
    values = (codes.astype(np.float32) - ZERO_POINT) * np.repeat(scales.astype(np.float32), block_size, axis=1)
    return values[:, :k].T


def _not_ternary(name: str, by_block: np.ndarray, exact: np.ndarray, k: int, block_size: int) -> UserError:
    bad = ~exact.all(axis=2)
    column, block = (int(i) for i in np.argwhere(bad)[0])
    start = block * block_size
    values = by_block[column, block, : min(block_size, k - start)]
    distinct = np.unique(values)
    shown = ", ".join(f"{v:.6g}" for v in distinct[:5]) + (", ..." if distinct.size > 5 else "")
    return UserError(
        f"{name} is not ternary, so q2 cannot store it exactly: 2-bit MatMulNBits holds {{-s, 0, +s}} per block of "
        f"{block_size} weights along the input dim, but {int(bad.sum())} of the {bad.size} blocks in one slab of its "
        f"columns hold more (the first, column {column} of the slab at k {start}..{start + values.size - 1}, has "
        f"{distinct.size} distinct values: {shown}). Convert a BitNet checkpoint with its ternarized projections, "
        "or use q4 / q4f16."
    )
