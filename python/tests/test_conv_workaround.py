"""The WebGPU Conv rewrite (issue 14) changes only the Convs onnxruntime-web gets wrong, and changes
no result: onnxruntime CPU gives the same outputs within 1e-6 before and after. That it fixes the
browser is measured by tools/bench/conv_sweep.py (see tools/bench/conv_findings.md)."""

from __future__ import annotations

import numpy as np
import onnx
import onnx_ir as ir
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from vibevoice_asr_web.fixtures import conv_graphs
from vibevoice_asr_web.export import conv_workaround

TOLERANCE = 1e-6


def cpu(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def x_for(c_in: int, length: int, batch: int = 2, seed: int = 0) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(seed).standard_normal((batch, c_in, length)).astype(np.float32)}


# (build_conv kwargs, the ops the rewrite leaves) - each measured wrong on WebGPU by conv_sweep
AFFECTED = [
    (dict(c_in=6, c_out=12, kernel=4, stride=2), ["Pad", "Pad", "Conv"]),  # the tiny checkpoint's shape
    (dict(c_in=6, c_out=12, kernel=4, stride=1), ["Pad", "Pad", "Conv"]),
    (dict(c_in=9, c_out=12, kernel=3, pads=(1, 1)), ["Pad", "Pad", "Conv"]),
    (dict(c_in=6, c_out=12, kernel=1, stride=2), ["Pad", "Pad", "Conv"]),
    (dict(c_in=105, c_out=112, kernel=3, pads=(1, 1), dilation=2), ["Pad", "Pad", "Conv"]),
    (dict(c_in=8, c_out=16, kernel=1, pads=(0, 1)), ["Conv", "Slice"]),  # bug 2: a tail pad on the MatMul shortcut
    (dict(c_in=5, c_out=10, kernel=1, pads=(0, 3), dilation=2), ["Conv", "Slice"]),
    (dict(c_in=8, c_out=16, kernel=4, stride=2, pads=(0, 2)), ["Conv", "Slice"]),  # length unknown: may equal the kernel
    (dict(c_in=6, c_out=12, kernel=1, pads=(0, 1)), ["Pad", "Pad", "Conv", "Slice"]),  # both bugs
    # bug 3: 1 < group, output vectors straddling two groups
    (dict(c_in=6, c_out=12, kernel=4, stride=2, group=2), ["Reshape", "Pad", "Reshape"] * 2 + ["Conv", "Gather"]),
    (dict(c_in=10, c_out=10, kernel=3, pads=(2, 0), group=2, bias=False), ["Reshape", "Pad", "Reshape", "Conv", "Gather"]),
    (dict(c_in=4, c_out=24, kernel=7, pads=(6, 0), group=4), ["Reshape", "Pad", "Reshape"] * 2 + ["Conv", "Gather"]),
]

UNAFFECTED = [
    dict(c_in=3, c_out=12, kernel=4, stride=2),  # C_in 3: the vec3 path reads channel 0 only, which is right
    dict(c_in=8, c_out=16, kernel=4, stride=2),
    dict(c_in=5, c_out=10, kernel=4, stride=2),
    dict(c_in=6, c_out=13, kernel=4, stride=2),  # C_out % 4 != 0: no vec4 path
    dict(c_in=6, c_out=12, kernel=1),  # the MatMul shortcut
    dict(c_in=12, c_out=24, kernel=4, stride=2),
    dict(c_in=6, c_out=12, kernel=4, stride=2, group=3),  # 4 outputs per group: vectors stay inside a group
    dict(c_in=18, c_out=24, kernel=4, stride=2, group=2),
    dict(c_in=3, c_out=15, kernel=4, stride=2, group=3),  # C_out odd: scalar outputs
    dict(c_in=6, c_out=6, kernel=7, group=6, pads=(6, 0)),  # depthwise, causal
    dict(c_in=1, c_out=32, kernel=7, pads=(6, 0)),  # the real model's stem
    dict(c_in=32, c_out=64, kernel=16, stride=8),  # a real downsampling conv
    dict(c_in=8, c_out=16, kernel=1, stride=2, pads=(0, 1), length=37),  # stride 2, length != 1: Conv2dMM, which honours the tail pad
    dict(c_in=8, c_out=16, kernel=4, pads=(0, 2), length=9),  # static length != kernel: no MatMul shortcut
]


@pytest.mark.parametrize("kwargs, ops", AFFECTED, ids=lambda v: str(v) if isinstance(v, dict) else None)
def test_affected_convs_are_rewritten_to_the_same_result(kwargs, ops):
    original = conv_graphs.build_conv(**kwargs)
    rewritten = conv_workaround.rewrite_webgpu_convs(original)
    onnx.checker.check_model(rewritten, full_check=True)
    assert [n.op_type for n in rewritten.graph.node] == ops
    assert original == conv_graphs.build_conv(**kwargs), "the input model must not change"
    # the weight keeps its name, shape and bytes: quantization and streaming by name are untouched
    weights = {t.name: t for t in rewritten.graph.initializer}
    assert weights["w"] == next(t for t in original.graph.initializer if t.name == "w")
    assert [o.name for o in rewritten.graph.output] == ["y"] and rewritten.ir_version == original.ir_version
    for length in (37, 64, 4, 1001):
        if length + sum(kwargs.get("pads", (0, 0))) < kwargs.get("dilation", 1) * (kwargs["kernel"] - 1) + 1:
            continue
        feeds = x_for(kwargs["c_in"], length, seed=length)
        before, after = cpu(original, feeds)[0], cpu(rewritten, feeds)[0]
        assert before.shape == after.shape
        assert float(np.max(np.abs(before - after))) <= TOLERANCE


@pytest.mark.parametrize("kwargs", UNAFFECTED, ids=str)
def test_unaffected_convs_are_left_alone(kwargs):
    original = conv_graphs.build_conv(**kwargs)
    assert conv_workaround.rewrite_webgpu_convs(original) == original
    assert not conv_workaround.webgpu_miscomputes(
        kwargs["c_in"], kwargs["c_out"], kwargs.get("group", 1), [kwargs["kernel"]], [kwargs.get("stride", 1)],
        list(kwargs.get("pads", (0, 0))), [kwargs["length"]] if "length" in kwargs else None,
    )


def test_the_prediction_matches_the_browser_measurements():
    """Spot checks from conv_sweep's table (max |WebGPU - CPU|: wrong ones 1.4 to 5, right ones <= 2.6e-6)."""
    wrong = conv_workaround.webgpu_miscomputes
    assert wrong(6, 12, kernel_shape=[4], strides=[2], pads=[0, 0], input_spatial=[37])
    assert wrong(9, 4, kernel_shape=[3], pads=[1, 1], input_spatial=[37])
    assert not wrong(6, 8, kernel_shape=[2], pads=[0, 0], input_spatial=[2])  # kernel == length: the MatMul shortcut
    assert wrong(8, 16, kernel_shape=[4], pads=[0, 2], input_spatial=[4])  # ... which drops a tail pad
    assert not wrong(8, 16, kernel_shape=[4], pads=[2, 0], input_spatial=[4])
    assert not wrong(18, 24, group=2, kernel_shape=[4], strides=[2], input_spatial=[37])
    assert wrong(6, 12, group=2, kernel_shape=[4], strides=[2], input_spatial=[37])
    assert not wrong(3, 20, kernel_shape=[3], pads=[1, 1], input_spatial=[37])
    assert wrong(18, 36, group=6, kernel_shape=[4], strides=[2], input_spatial=[37])
    assert not wrong(6, 18, group=3, kernel_shape=[4], strides=[2], input_spatial=[37])


def chain_model() -> onnx.ModelProto:
    """Three Convs in a chain: 6->12 k4 s2 (bug 1), 12->12 k3 (right as it is), then 9 of those
    channels ->12 k1 with a tail pad (bugs 2 and 1); the first Conv's output is a graph output too."""
    rng = np.random.default_rng(3)
    w1 = (rng.standard_normal((12, 6, 4)) / 5).astype(np.float32)
    w2 = (rng.standard_normal((12, 12, 3)) / 6).astype(np.float32)
    w3 = (rng.standard_normal((12, 9, 1)) / 3).astype(np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["h1"], name="down", kernel_shape=[4], strides=[2], pads=[3, 0]),
        helper.make_node("Relu", ["h1"], ["r1"], name="relu"),
        helper.make_node("Conv", ["r1", "w2"], ["h2"], name="fine", kernel_shape=[3], pads=[1, 1]),
        helper.make_node("Slice", ["h2", "zero", "nine", "one"], ["s2"], name="take9"),
        helper.make_node("Conv", ["s2", "w3"], ["y"], name="tail", kernel_shape=[1], pads=[0, 2]),
    ]
    inits = [numpy_helper.from_array(a, n) for a, n in ((w1, "w1"), (w2, "w2"), (w3, "w3"))]
    inits += [numpy_helper.from_array(np.array([v], np.int64), n) for v, n in ((0, "zero"), (9, "nine"), (1, "one"))]
    graph = helper.make_graph(
        nodes, "chain",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch_size", 6, "length"])],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch_size", 12, d]) for n, d in (("h1", "half"), ("y", "half_plus_2"))],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    return model


def test_a_graph_with_several_convs_keeps_its_outputs():
    original = chain_model()
    rewritten = conv_workaround.rewrite_webgpu_convs(original)
    onnx.checker.check_model(rewritten, full_check=True)
    ops = [n.op_type for n in rewritten.graph.node]
    assert ops.count("Conv") == 3 and ops.count("Pad") == 4 and ops.count("Slice") == 2, ops
    assert [o.name for o in rewritten.graph.output] == ["h1", "y"]
    feeds = x_for(6, 50)
    for before, after in zip(cpu(original, feeds), cpu(rewritten, feeds)):
        assert before.shape == after.shape
        assert float(np.max(np.abs(before - after))) <= TOLERANCE


def test_the_ir_rewrite_needs_no_weight_values():
    """The exporter rewrites with weights hidden (meta-device export, streamed weights): shapes suffice."""
    original = chain_model()
    model = ir.serde.deserialize_model(original)
    saved = {name: value.const_value for name, value in model.graph.initializers.items() if name.startswith("w")}
    for name in saved:
        model.graph.initializers[name].const_value = None
    names = conv_workaround.rewrite_webgpu_convs_ir(model)
    assert names == ["down", "tail"]
    for name, tensor in saved.items():
        model.graph.initializers[name].const_value = tensor
    rewritten = ir.serde.serialize_model(model)
    feeds = x_for(6, 33)
    for before, after in zip(cpu(original, feeds), cpu(rewritten, feeds)):
        assert float(np.max(np.abs(before - after))) <= TOLERANCE


def test_two_dimensional_convs_are_rewritten_too():
    """The same WebGPU program runs 2-D Convs; the rewrite is rank-generic."""
    rng = np.random.default_rng(5)
    weight = (rng.standard_normal((8, 6, 3, 3)) / 7).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], name="conv2d", kernel_shape=[3, 3], pads=[1, 1, 1, 1])],
        "conv2d",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 10, 11])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 10, 11])],
        initializer=[numpy_helper.from_array(weight, "w"), numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "b")],
    )
    original = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    rewritten = conv_workaround.rewrite_webgpu_convs(original)
    assert [n.op_type for n in rewritten.graph.node] == ["Pad", "Pad", "Conv"]
    feeds = {"x": rng.standard_normal((1, 6, 10, 11)).astype(np.float32)}
    assert float(np.max(np.abs(cpu(original, feeds)[0] - cpu(rewritten, feeds)[0]))) <= TOLERANCE


def test_old_opsets_are_refused_with_a_reason():
    model = conv_graphs.build_conv(6, 12, 4, 2, opset=10)
    with pytest.raises(ValueError, match="opset >= 11"):
        conv_workaround.rewrite_webgpu_convs(model)
