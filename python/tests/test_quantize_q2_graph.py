"""q2 / q2f16 rewrite: the decoder's ternary projections become exact 2-bit MatMulNBits, the rest int4."""

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.quantize import graph, ternary

PROJ = "model.language_model.layers.0.self_attn.q_proj.weight"
OTHER = "lm_head.weight"


def _write(tmp_path, proj: np.ndarray):
    rng = np.random.default_rng(0)
    other = rng.standard_normal((64, 32)).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", PROJ], ["h"], name="q"), helper.make_node("MatMul", ["h", OTHER], ["y"], name="head")]
    g = helper.make_graph(nodes, "decoder", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 32])],
                          [numpy_helper.from_array(proj, PROJ), numpy_helper.from_array(other, OTHER)])
    model = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    path = tmp_path / "decoder_model_merged.onnx"
    onnx.save(model, str(path), save_as_external_data=True, all_tensors_to_one_file=True, location=path.name + "_data", size_threshold=0)
    return path


def _ternary(rng):
    w = rng.standard_normal((64, 64)).astype(np.float32)
    m = max(float(np.abs(w).mean()), 1e-5)
    return (np.clip(np.rint(w / m), -1, 1) * m).astype(np.float32)


@pytest.mark.parametrize("dtype", ["q2", "q2f16"])
def test_q2_writes_ternary_projection_2bit_exact(tmp_path, dtype):
    proj = _ternary(np.random.default_rng(1))
    out = tmp_path / "out"
    out.mkdir()
    result = graph.convert_graph(_write(tmp_path, proj), out / "decoder_model_merged.onnx", dtype)
    assert result.nbits["matmuls_2bit"] == 1
    assert result.nbits["matmuls_quantized"] == 2
    model = onnx.load(str(out / "decoder_model_merged.onnx"))
    bits = {n.name: helper.get_attribute_value(next(a for a in n.attribute if a.name == "bits")) for n in model.graph.node if n.op_type == "MatMulNBits"}
    assert bits == {"q_Q2": 2, "head_Q4": 4}
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    expected = proj.astype(np.float16).astype(np.float32) if dtype == "q2f16" else proj
    assert np.array_equal(ternary.dequantize(inits[PROJ + "_Q2"], inits[PROJ + "_scales"], 64), expected)


def test_q4_keeps_projection_4bit(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = graph.convert_graph(_write(tmp_path, _ternary(np.random.default_rng(1))), out / "d.onnx", "q4")
    assert "matmuls_2bit" not in result.nbits


def test_q2_refuses_non_ternary_projection(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    latent = np.random.default_rng(2).standard_normal((64, 64)).astype(np.float32)
    with pytest.raises(UserError, match=r"q_proj\.weight is not ternary.*q4 / q4f16"):
        graph.convert_graph(_write(tmp_path, latent), out / "d.onnx", "q2")
