"""fp16 rewrite: fp16 everywhere but the fp32 islands, no node lost, accurate where fp16 alone is not."""

from __future__ import annotations

import copy
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.quantize import fp16
from vibevoice_asr_web.quantize.graph import convert_graph

H = 32
FP32_OPS = {"Pow", "ReduceMean", "Sqrt", "Reciprocal", "Softmax", "Cos", "Sin"}


def _block_model() -> onnx.ModelProto:
    """RMSNorm -> Linear -> rotary (angles from int positions) and a softmax, like one decoder layer."""
    rng = np.random.default_rng(0)
    inv_freq = (1.0 / 10000 ** (np.arange(0, H, 2) / H)).astype(np.float32)
    initializers = [
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array([-1], np.int64), "last"),
        numpy_helper.from_array(np.array(1e-6, np.float32), "eps"),
        numpy_helper.from_array((1 + 0.1 * rng.standard_normal(H)).astype(np.float32), "norm.weight"),
        numpy_helper.from_array((rng.standard_normal((H, H)) / np.sqrt(H)).astype(np.float32), "proj.weight"),
        numpy_helper.from_array(np.concatenate([inv_freq, inv_freq]), "inv_freq"),
        numpy_helper.from_array(np.array(1e6, np.float32), "huge"),  # beyond fp16: clamped to 65504
    ]
    nodes = [
        helper.make_node("Pow", ["x", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq", "last"], ["mean"], keepdims=1),
        helper.make_node("Add", ["mean", "eps"], ["var"]),
        helper.make_node("Sqrt", ["var"], ["std"]),
        helper.make_node("Reciprocal", ["std"], ["rstd"]),
        helper.make_node("Mul", ["x", "rstd"], ["normed"]),
        helper.make_node("Mul", ["norm.weight", "normed"], ["h"]),
        helper.make_node("MatMul", ["h", "proj.weight"], ["q"]),
        helper.make_node("Unsqueeze", ["position_ids", "last"], ["pos"]),
        helper.make_node("Cast", ["pos"], ["pos_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["pos_f", "inv_freq"], ["angles"]),
        helper.make_node("Cos", ["angles"], ["cos"]),
        helper.make_node("Sin", ["angles"], ["sin"]),
        helper.make_node("Mul", ["q", "cos"], ["qc"]),
        helper.make_node("Mul", ["q", "sin"], ["qs"]),
        helper.make_node("Add", ["qc", "qs"], ["rotated"]),
        helper.make_node("Softmax", ["q"], ["probs"], axis=-1),
        helper.make_node("Min", ["rotated", "huge"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes, "block",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch_size", "s", H]),
         helper.make_tensor_value_info("position_ids", TensorProto.INT64, ["batch_size", "s"])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch_size", "s", H]),
         helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["batch_size", "s", H]),
         helper.make_tensor_value_info("angles", TensorProto.FLOAT, ["batch_size", "s", H])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    return onnx.shape_inference.infer_shapes(model)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fp16")
    original = _block_model()
    onnx.save_model(copy.deepcopy(original), str(folder / "in.onnx"), save_as_external_data=True, location="in.onnx_data", size_threshold=0)
    result = convert_graph(folder / "in.onnx", folder / "out.onnx", "fp16")
    return original, folder, result


def _types(model: onnx.ModelProto) -> dict[str, int]:
    inferred = onnx.shape_inference.infer_shapes(model)
    graph = inferred.graph
    return {v.name: v.type.tensor_type.elem_type for v in [*graph.value_info, *graph.input, *graph.output]}


def test_islands_stay_fp32_and_the_rest_is_fp16(converted):
    original, folder, result = converted
    model = onnx.load(str(folder / "out.onnx"))
    types = _types(model)
    for node in model.graph.node:
        if node.op_type in FP32_OPS:
            assert types[node.output[0]] == TensorProto.FLOAT, node.op_type
    by_output = {n.output[0]: n for n in model.graph.node}
    assert types[by_output["q"].output[0]] == TensorProto.FLOAT16  # the MatMul and its weight are fp16
    assert types["pos_f"] == TensorProto.FLOAT  # index arithmetic: positions are not rounded to fp16
    assert types["angles.fp32"] == TensorProto.FLOAT  # an fp32 result that is a graph output goes out through a Cast
    assert [(i.name, i.type.tensor_type.elem_type) for i in model.graph.input] == [("x", TensorProto.FLOAT16), ("position_ids", TensorProto.INT64)]
    assert {o.type.tensor_type.elem_type for o in model.graph.output} == {TensorProto.FLOAT16}
    weights = {t.name: t.data_type for t in model.graph.initializer}
    assert weights["proj.weight"] == weights["norm.weight"] == TensorProto.FLOAT16
    assert weights["inv_freq"] == weights["eps"] == weights["two"] == TensorProto.FLOAT  # used by fp32 nodes only
    assert result.clamped_to_fp16 == 1 and any("clamped" in w for w in result.warnings)


def test_no_node_is_lost(converted):
    original, folder, result = converted
    model = onnx.load(str(folder / "out.onnx"), load_external_data=False)
    before, after = Counter(n.op_type for n in original.graph.node), Counter(n.op_type for n in model.graph.node)
    assert result.fp16["casts_added"] > 0
    assert after - Counter({"Cast": result.fp16["casts_added"]}) == before
    with pytest.raises(RuntimeError, match="Softmax"):
        fp16.check_nodes_kept(Counter({("", "Softmax"): 1, ("", "Cast"): 1}), Counter({("", "Cast"): 2}), 1, "g")


def test_fp16_is_accurate_where_plain_fp16_would_overflow(converted):
    original, folder, _ = converted
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((1, 6, H)) * 300).astype(np.float32)  # x**2 ~ 1e5: beyond fp16
    positions = np.array([[0, 1, 2047, 2049, 20001, 30003]], np.int64)  # beyond fp16's exact integers
    want = ort.InferenceSession(original.SerializeToString()).run(None, {"x": x, "position_ids": positions})
    got = ort.InferenceSession(str(folder / "out.onnx")).run(None, {"x": x.astype(np.float16), "position_ids": positions})
    for name, g, w in zip(("y", "probs", "angles"), got, want):
        assert np.isfinite(g).all(), name
        cos = float((g.astype(np.float64) * w).sum() / np.linalg.norm(g.astype(np.float64)) / np.linalg.norm(w))
        assert cos > 0.999, (name, cos)
    # rotary at position 30003: fp16 angles would be off by up to 8 radians; fp32 ones are exact
    np.testing.assert_allclose(got[0].astype(np.float32), want[0], atol=0.05 * np.abs(want[0]).max())


def test_subgraphs_are_refused():
    branch = helper.make_graph([helper.make_node("Identity", ["x"], ["z"])], "b", [], [helper.make_tensor_value_info("z", TensorProto.FLOAT, [1])])
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)], "g",
        [helper.make_tensor_value_info("c", TensorProto.BOOL, []), helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    model = helper.make_model(graph)
    from vibevoice_asr_web.quantize.initializers import Initializers

    with pytest.raises(UserError, match="subgraph"):
        fp16.convert(model, Initializers({}))
