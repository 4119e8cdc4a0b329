"""q2: ternary (BitNet) weights as 2-bit MatMulNBits, exactly; anything else refused; onnxruntime runs it."""

from __future__ import annotations

import re

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.onnx_io import DataChunks
from vibevoice_asr_web.quantize import ternary
from vibevoice_asr_web.quantize.graph import run_transform
from vibevoice_asr_web.quantize.transforms import Context, TernaryMatMul
from vibevoice_asr_web.tensor_reader import BufferRing, SlabReader, TensorSource


def bitnet_ternarized(shape: tuple[int, int], seed: int) -> np.ndarray:
    """A latent weight ternarized as BitNet's converters do: round(W / m).clamp(-1, 1) * m, m = mean |W|."""
    latent = np.random.default_rng(seed).standard_normal(shape).astype(np.float32) * 0.02
    m = np.float32(max(np.abs(latent).mean(), 1e-5))
    return np.clip(np.rint(latent / m), -1, 1).astype(np.float32) * m


def pack_streamed(weight: np.ndarray, layout: str = "KN", compute_dtype: str = "float32", block_size: int = 32,
                  slab_bytes: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Streams `weight` (stored as given) through TernaryMatMul in small slabs; returns (packed, scales)."""
    source = TensorSource("w", TensorProto.FLOAT, weight.shape, inline=weight.tobytes())
    transform = TernaryMatMul(source, layout=layout, block_size=block_size, compute_dtype=compute_dtype)
    outputs: list[list[np.ndarray]] = [[], []]
    with SlabReader() as reader:
        transform.run(Context(reader, BufferRing(slab_bytes)), [outputs[0].append, outputs[1].append])
    packed_spec, scales_spec = transform.outputs
    packed = np.concatenate(outputs[0]).reshape(packed_spec.dims)
    scales = np.concatenate(outputs[1]).reshape(scales_spec.dims)
    assert packed.dtype == np.uint8 and scales.dtype == scales_spec.dtype
    return packed, scales


@pytest.mark.parametrize("k, n, layout, compute_dtype, block_size", [
    (96, 40, "KN", "float32", 32),  # K a multiple of the block
    (100, 24, "KN", "float32", 32),  # the last block padded
    (80, 160, "NK", "float32", 16),  # stored [N, K] behind a Transpose
    (256, 48, "KN", "float16", 64),  # q2f16: the fp16 weight, fp16 scales
])
def test_ternary_weight_round_trips_exactly(k, n, layout, compute_dtype, block_size):
    weight_kn = bitnet_ternarized((k, n), seed=k + n)
    stored = weight_kn if layout == "KN" else np.ascontiguousarray(weight_kn.T)
    packed, scales = pack_streamed(stored, layout, compute_dtype, block_size)
    assert packed.shape == (n, -(-k // block_size), block_size // 4)
    want = weight_kn.astype(np.float16) if compute_dtype == "float16" else weight_kn
    got = ternary.dequantize(packed, scales, k)
    assert np.abs(got - want.astype(np.float32)).max() == 0  # max abs error 0
    assert len(np.unique(scales[scales != 0])) == 1  # BitNet's one scale per tensor, repeated per block


def test_a_slab_wider_than_the_work_size_is_packed_in_pieces_to_the_same_bytes():
    weight = bitnet_ternarized((1536, 3000), seed=9)  # 18 MB: one 64 MiB slab, two 16 MiB work pieces
    packed, scales = pack_streamed(weight, slab_bytes=64 << 20)
    assert np.array_equal(ternary.dequantize(packed, scales, 1536), weight)
    by_column = [ternary.quantize_tile(np.ascontiguousarray(weight[:, n : n + 500]), 32, "w") for n in range(0, 3000, 500)]
    np.testing.assert_array_equal(packed, np.concatenate([p for p, _ in by_column]))


def test_packing_is_onnxruntimes_own_2bit_layout():
    """onnxruntime's own 2-bit packing, on a weight its symmetric quantizer stores exactly (values -2c..c,
    each block's signed max -2c, so its scale is c), decodes with ours; quantize_tile checks its bytes
    against the same decoding, so both write one layout."""
    from onnxruntime.capi._pybind_state import quantize_matmul_2bits

    k, n, block_size, c = 64, 5, 32, np.float32(0.25)
    codes = np.random.default_rng(0).integers(-2, 2, size=(k, n)).astype(np.float32)
    codes[0], codes[block_size] = -2, -2  # each block's signed max is -2c, so onnxruntime's scale is c
    theirs_packed = np.zeros((n, 2, block_size // 4), np.uint8)
    theirs_scales = np.zeros((n, 2), np.float32)
    quantize_matmul_2bits(theirs_packed, np.ascontiguousarray(codes * c), theirs_scales, np.zeros((n, 1), np.uint8), block_size, n, k, True)
    np.testing.assert_array_equal(theirs_scales, c)
    np.testing.assert_array_equal(ternary.dequantize(theirs_packed, theirs_scales, k), codes * c)


def test_ternary_codes_are_1_2_3_around_the_default_zero_point():
    packed, _ = pack_streamed(bitnet_ternarized((64, 8), seed=5))
    codes = np.stack([(packed >> s) & 3 for s in (0, 2, 4, 6)], axis=-1)
    assert set(np.unique(codes)) <= {1, 2, 3}  # -1, 0, +1 around the default zero point 2; code 0 never used


@pytest.mark.parametrize("bad, found", [
    (lambda w: w * np.linspace(0.5, 1.5, w.shape[0], dtype=np.float32)[:, None], r"has \d+ distinct values"),
    (lambda w: np.random.default_rng(1).standard_normal(w.shape).astype(np.float32), r"has 32 distinct values"),
    (lambda w: np.where(np.arange(w.size).reshape(w.shape) == 7, np.nan, w).astype(np.float32), r"distinct values: .*nan"),
])
def test_weight_that_is_not_ternary_is_refused_naming_it(bad, found):
    weight = bad(bitnet_ternarized((64, 16), seed=2))
    with pytest.raises(UserError, match=r"^w is not ternary, so q2 cannot store it exactly: .* per block of 32 weights") as error:
        pack_streamed(weight)
    assert "use q4 / q4f16" in str(error.value)
    assert re.search(found, str(error.value))


def test_all_zero_blocks_are_stored_exactly():
    weight = bitnet_ternarized((64, 8), seed=3)
    weight[:32, :3] = 0
    packed, scales = pack_streamed(weight)
    assert (scales[:3, 0] == 0).all()
    assert np.array_equal(ternary.dequantize(packed, scales, 64), weight)


@pytest.mark.parametrize("compute_dtype, tolerance", [("float32", 1e-5), ("float16", 2e-3)])
def test_onnxruntime_runs_2bit_matmulnbits_written_by_the_writer(tmp_path, compute_dtype, tolerance):
    """The transform's initializers, streamed by the writer into a data chunk, in one MatMulNBits bits 2
    node: onnxruntime (CPU) computes X @ W with them."""
    k, n, block_size = 160, 72, 32
    weight = bitnet_ternarized((k, n), seed=4)
    source = TensorSource("w", TensorProto.FLOAT, weight.shape, inline=weight.tobytes())
    transform = TernaryMatMul(source, block_size=block_size, compute_dtype=compute_dtype)
    chunks = DataChunks(tmp_path, "q2.onnx")
    with SlabReader() as reader:
        initializers = run_transform(transform, Context(reader, BufferRing(4096)), chunks)
    chunks.close()
    assert [t.name for t in initializers] == ["w_Q2", "w_scales"] and initializers[0].external_data  # in the chunk
    elem = TensorProto.FLOAT16 if compute_dtype == "float16" else TensorProto.FLOAT
    node = helper.make_node("MatMulNBits", ["x", "w_Q2", "w_scales"], ["y"], domain="com.microsoft",
                            K=k, N=n, bits=ternary.BITS, block_size=block_size)
    graph = helper.make_graph(
        [node], "q2", [helper.make_tensor_value_info("x", elem, ["batch", k])], [helper.make_tensor_value_info("y", elem, ["batch", n])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 10
    (tmp_path / "q2.onnx").write_bytes(model.SerializeToString())
    session = ort.InferenceSession(str(tmp_path / "q2.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(5).standard_normal((3, k)).astype(np.float32)
    act = np.float16 if compute_dtype == "float16" else np.float32
    y = session.run(None, {"x": x.astype(act)})[0].astype(np.float64)
    exact = x.astype(act).astype(np.float64) @ weight.astype(act).astype(np.float64)
    assert np.abs(y - exact).max() <= tolerance * np.abs(exact).max()
