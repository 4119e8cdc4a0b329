"""int4: our streamed bytes equal onnxruntime's MatMulNBitsQuantizer's, and the int4 graphs run."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from vibevoice_asr_web.quantize import int4
from vibevoice_asr_web.quantize.graph import QuantizeOptions, convert_graph


def _save_with_external_data(model: onnx.ModelProto, path) -> None:
    onnx.save_model(model, str(path), save_as_external_data=True, location=path.name + "_data", size_threshold=0)


def _matmul_model(weight: np.ndarray, transposed: bool = False, name: str = "w") -> onnx.ModelProto:
    """y = x @ W, with W stored as given ([K, N]), or stored [N, K] behind a Transpose."""
    k, n = (weight.shape[1], weight.shape[0]) if transposed else weight.shape
    elem = TensorProto.FLOAT16 if weight.dtype == np.float16 else TensorProto.FLOAT
    nodes = [helper.make_node("MatMul", ["x", f"{name}_t" if transposed else name], ["y"], name="mm")]
    if transposed:
        nodes.insert(0, helper.make_node("Transpose", [name], [f"{name}_t"], perm=[1, 0]))
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", elem, ["b", k])], [helper.make_tensor_value_info("y", elem, ["b", n])],
        initializer=[numpy_helper.from_array(weight, name)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    return model


def _onnxruntime_quantized(weight_kn: np.ndarray, block_size: int = 32) -> dict[str, np.ndarray]:
    from onnxruntime.quantization.matmul_nbits_quantizer import DefaultWeightOnlyQuantConfig, MatMulNBitsQuantizer

    config = DefaultWeightOnlyQuantConfig(block_size=block_size, is_symmetric=True, bits=4)
    quantizer = MatMulNBitsQuantizer(_matmul_model(weight_kn), bits=4, block_size=block_size, is_symmetric=True, algo_config=config)
    quantizer.process()
    return {t.name: numpy_helper.to_array(t) for t in quantizer.model.model.graph.initializer}


def _ours(tmp_path, model: onnx.ModelProto, dtype: str = "q4", **options) -> tuple[onnx.ModelProto, dict[str, np.ndarray]]:
    (tmp_path / "in").mkdir(exist_ok=True)
    (tmp_path / "out").mkdir(exist_ok=True)
    _save_with_external_data(model, tmp_path / "in" / "model.onnx")
    convert_graph(tmp_path / "in" / "model.onnx", tmp_path / "out" / "model.onnx", dtype, QuantizeOptions(**options))
    out = onnx.load(str(tmp_path / "out" / "model.onnx"))
    return out, {t.name: numpy_helper.to_array(t) for t in out.graph.initializer}


@pytest.mark.parametrize("k, n, slab_bytes", [(256, 96, 64 << 20), (100, 72, 4096), (4, 16, 1024), (512, 300, 2048 * 4)])
def test_matmul_bytes_equal_onnxruntime_quantizer(tmp_path, k, n, slab_bytes):
    """Byte for byte, whether the tensor fits one slab or is read in bands of a few columns, K padded or not."""
    weight = np.random.default_rng(k + n).standard_normal((k, n)).astype(np.float32)
    want = _onnxruntime_quantized(weight)
    model, got = _ours(tmp_path, _matmul_model(weight), slab_bytes=slab_bytes)
    assert got["w_Q4"].dtype == np.uint8 and got["w_Q4"].shape == (n, -(-k // 32), 16)
    np.testing.assert_array_equal(got["w_Q4"], want["w_Q4"])
    np.testing.assert_array_equal(got["w_scales"], want["w_scales"])
    node = model.graph.node[0]
    assert (node.domain, node.op_type) == ("com.microsoft", "MatMulNBits")
    attributes = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    assert attributes == {"K": k, "N": n, "bits": 4, "block_size": 32}
    assert "w" not in got  # the fp32 weight is gone


def test_weight_behind_a_transpose_is_quantized_like_the_transposed_weight(tmp_path):
    weight_nk = np.random.default_rng(1).standard_normal((80, 160)).astype(np.float32)  # N=80, K=160
    want = _onnxruntime_quantized(np.ascontiguousarray(weight_nk.T))
    model, got = _ours(tmp_path, _matmul_model(weight_nk, transposed=True), slab_bytes=4096)
    np.testing.assert_array_equal(got["w_transposed_Q4"], want["w_Q4"])
    np.testing.assert_array_equal(got["w_transposed_scales"], want["w_scales"])
    assert [n.op_type for n in model.graph.node] == ["MatMulNBits"]  # the Transpose went with the fp32 weight


def test_fp16_scales_equal_onnxruntime_on_the_fp16_weight(tmp_path):
    """q4f16 quantizes the fp16 weight, as onnxruntime does on an fp16 model: fp16 scales, same codes."""
    weight = np.random.default_rng(2).standard_normal((160, 48)).astype(np.float32)
    want = _onnxruntime_quantized(weight.astype(np.float16))
    model, got = _ours(tmp_path, _matmul_model(weight), dtype="q4f16", slab_bytes=2048)
    assert got["w_scales"].dtype == np.float16
    np.testing.assert_array_equal(got["w_Q4"], want["w_Q4"])
    np.testing.assert_array_equal(got["w_scales"], want["w_scales"])
    assert model.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT16


@pytest.mark.parametrize("dtype, accuracy_level", [("q4", None), ("q4f16", None), ("q4", 4)])
def test_int4_graph_runs_in_onnxruntime_close_to_fp32(tmp_path, dtype, accuracy_level):
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((256, 64)).astype(np.float32)
    model, arrays = _ours(tmp_path, _matmul_model(weight), dtype=dtype, accuracy_level=accuracy_level, block_size=64)
    onnx.checker.check_model(str(tmp_path / "out" / "model.onnx"))
    attributes = {a.name: a.i for a in model.graph.node[0].attribute}
    assert attributes["block_size"] == 64 and arrays["w_Q4"].shape == (64, 4, 32)
    assert attributes.get("accuracy_level") == accuracy_level
    session = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"), providers=["CPUExecutionProvider"])
    x = rng.standard_normal((3, 256)).astype(np.float32)
    act = np.float16 if dtype == "q4f16" else np.float32
    y = session.run(None, {"x": x.astype(act)})[0].astype(np.float32)
    exact = x @ int4.dequantize(arrays["w_Q4"], arrays["w_scales"], 256)  # what MatMulNBits must compute
    # fp32 activations: exact; fp16 activations, or int8 ones (accuracy_level 4): within their rounding
    tolerance = 1e-4 if dtype == "q4" and not accuracy_level else 0.02
    assert np.abs(y - exact).max() <= tolerance * np.abs(exact).max()
    cos = float((y * (x @ weight)).sum() / np.linalg.norm(y) / np.linalg.norm(x @ weight))
    assert cos > 0.99


def _gather_model(table: np.ndarray) -> onnx.ModelProto:
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["y"], axis=0)], "g",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["b", "s"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["b", "s", table.shape[1]])],
        initializer=[numpy_helper.from_array(table, "table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    return model


@pytest.mark.parametrize("hidden", [64, 80])
def test_embedding_becomes_gather_block_quantized(tmp_path, hidden):
    rng = np.random.default_rng(4)
    table = rng.standard_normal((300, hidden)).astype(np.float32)
    model, arrays = _ours(tmp_path, _gather_model(table), slab_bytes=hidden * 4 * 7)  # 7 rows a slab
    node = model.graph.node[0]
    assert (node.domain, node.op_type) == ("com.microsoft", "GatherBlockQuantized")
    assert {a.name: a.i for a in node.attribute} == {"gather_axis": 0, "quantize_axis": 1, "block_size": 32, "bits": 4}
    assert arrays["table_Q4"].shape == (300, hidden // 2) and arrays["table_scales"].shape == (300, -(-hidden // 32))
    # the same codes and scales as MatMulNBits of the table seen as a [K=hidden, N=vocab] weight
    packed, scales = int4.quantize_tile(np.ascontiguousarray(table.T), 32)
    np.testing.assert_array_equal(arrays["table_Q4"], packed.reshape(300, -1)[:, : hidden // 2])
    np.testing.assert_array_equal(arrays["table_scales"], scales)
    session = ort.InferenceSession(str(tmp_path / "out" / "model.onnx"), providers=["CPUExecutionProvider"])
    ids = np.array([[0, 5, 299, 17]])
    got = session.run(None, {"ids": ids})[0][0]
    dequantized = int4.dequantize(packed, scales, hidden).T  # [vocab, hidden]
    np.testing.assert_allclose(got, dequantized[ids[0]], rtol=1e-6, atol=1e-6)
    cos = float((got * table[ids[0]]).sum() / np.linalg.norm(got) / np.linalg.norm(table[ids[0]]))
    assert cos > 0.99
