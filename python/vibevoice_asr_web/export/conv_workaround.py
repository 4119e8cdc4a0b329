"""Rewrites the Convs that onnxruntime-web's WebGPU execution provider computes wrong (issue 14).

Measured on onnxruntime-web 1.31.0-dev.20260914-8d85527a0 (the C++ WebGPU EP compiled into
`ort-wasm-simd-threaded.asyncify.wasm`, which Transformers.js 4.3.1 loads) with
tools/bench/conv_sweep.py; findings and numbers in tools/bench/conv_findings.md. The EP runs Conv
in NHWC (its preferred layout), and three shader-generation bugs give wrong outputs (|error| 1 to
7 for O(1) outputs) on every adapter: they are in the generated WGSL, not in SwiftShader.

1. group 1, Conv2dMMProgram (conv2d_mm.cc), `C_out % 4 == 0`, `C_in % 3 == 0`, `C_in % 4 != 0`,
   `C_in > 3`: the "vec4" program reads the input three channels at a time from a scalar-bound
   buffer but builds the coordinate `vec4(batch, xRow, xCol, xCh / 4)`, i.e. channel xCh / 4
   instead of xCh. Only xCh = 0 is right, so C_in = 3 works and 6, 9, 15, 18, ... do not.
   Rewrite: Conv(Pad(x), Pad(W), b) with the input channels zero-padded to a multiple of 4
   (the correct vec4 read).
2. group 1, the MatMul shortcut in Conv::ComputeInternal (conv.cc) — a 1x1 kernel with stride 1,
   or an input exactly kernel-sized — is chosen when the HEAD pads are 0, whatever the tail pads;
   a tail pad is then ignored and the output's padded positions are garbage (any channels).
   Rewrite: one stride more of head pad on the last spatial axis (one more output, in front) and
   a Slice that drops it, so Conv2dMM runs it, which honours every pad.
3. 1 < group, GroupedConvProgram (conv.cc / grouped_conv.cc) vectorises the output channels by
   `components = GetMaxComponents(C_out)` (4, 2 or 1) when `C_out / group >= 4`, and takes the
   group of a vector from its first channel: wrong when `(C_out / group) % components != 0` (a
   vector straddles two groups), e.g. 6 -> 12 with group 2. Rewrite: pad each group's output
   channels to a multiple of 4 (zero weights and bias) and Gather the real channels back.

Every rewrite adds zeros only, so onnxruntime CPU gives the same numbers (measured: 0 difference).
Weights are padded by nodes in the graph, never in place: each initializer keeps its name, shape
and (possibly hidden or lazily streamed) value, so quantization and weight streaming by name are
untouched; onnxruntime folds those constant subgraphs when a session is created. Run the rewrite
after the graph optimizer (an optimizer that sees weight values would fold the pads into anonymous
initializers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx
import onnx_ir as ir

CHANNEL_MULTIPLE = 4
MIN_PAD_OPSET = 11  # Pad takes `pads` as an input from opset 11


def webgpu_conv_path(
    group: int,
    kernel_shape: Sequence[int],
    strides: Sequence[int] = (),
    pads: Sequence[int] = (),
    input_spatial: Sequence[int | None] | None = None,
) -> str:
    """The program onnxruntime-web's WebGPU EP (NHWC) runs a Conv with: "grouped" (group > 1),
    "matmul" (1x1 with stride 1, or kernel == input size, and every HEAD pad 0: `Conv::ComputeInternal`
    in conv.cc), else "conv2d_mm". `pads` as ONNX orders them (all heads, then all tails);
    `input_spatial` None or a None dim means unknown (then "kernel == input" is assumed not to hold)."""
    if group != 1:
        return "grouped"
    rank = len(kernel_shape)
    heads = list(pads[:rank]) if pads else [0] * rank
    if any(heads):
        return "conv2d_mm"
    pointwise = all(k == 1 for k in kernel_shape) and all(s == 1 for s in strides)
    same_size = input_spatial is not None and list(input_spatial) == list(kernel_shape)
    return "matmul" if pointwise or same_size else "conv2d_mm"


def vec3_input_bug(c_in: int, c_out: int, path: str) -> bool:
    """Bug 1: Conv2dMMProgram's vec3 input path (C_out % 4 == 0, C_in % 3 == 0, C_in % 4 != 0) reads
    channel xCh / 4 for xCh. Right only for C_in = 3, where xCh is always 0."""
    return path == "conv2d_mm" and c_out % CHANNEL_MULTIPLE == 0 and c_in % CHANNEL_MULTIPLE != 0 and c_in % 3 == 0 and c_in > 3


def tail_pad_bug(kernel_shape: Sequence[int], pads: Sequence[int], path: str) -> bool:
    """Bug 2: the MatMul shortcut is chosen on the head pads alone; a tail pad (bottom/right, or the
    end of a 1-D Conv) is then dropped and the output's extra positions are garbage, any channels."""
    return path == "matmul" and any(pads[len(kernel_shape):])


def max_components(size: int) -> int:
    """onnxruntime's GetMaxComponents: the widest vector (4, 2, 1) that divides `size`."""
    return 4 if size % 4 == 0 else 2 if size % 2 == 0 else 1


def grouped_vector_bug(c_in: int, c_out: int, group: int) -> bool:
    """Bug 3: GroupedConvProgram's output vectors straddle two groups. One output channel per group
    (depthwise, C_out == group) has its own program and is right."""
    if group <= 1 or c_out == group:
        return False
    per_group = c_out // group
    return per_group >= 4 and per_group % max_components(c_out) != 0


def webgpu_miscomputes(
    c_in: int,
    c_out: int,
    group: int = 1,
    kernel_shape: Sequence[int] = (1,),
    strides: Sequence[int] = (),
    pads: Sequence[int] = (),
    input_spatial: Sequence[int | None] | None = None,
) -> bool:
    """Whether onnxruntime-web's WebGPU EP gets this Conv wrong (any of the three bugs). With
    `input_spatial` unknown, a kernel-sized input is assumed possible for bug 2 and impossible for
    bug 1 (both the conservative side: the rewrites are exact wherever they are applied)."""
    if group != 1:
        return grouped_vector_bug(c_in, c_out, group)
    rank = len(kernel_shape)
    pads = list(pads) or [0] * (2 * rank)
    if tail_pad_bug(kernel_shape, pads, webgpu_conv_path(group, kernel_shape, strides, pads, input_spatial)):
        return True
    if input_spatial is None or any(d is None for d in input_spatial):
        if any(pads[rank:]) and not any(pads[:rank]) and group == 1:
            return True  # the input may turn out kernel-sized: the MatMul shortcut with a tail pad
    return vec3_input_bug(c_in, c_out, webgpu_conv_path(group, kernel_shape, strides, pads, input_spatial))


def _ints(node: ir.Node, name: str) -> list[int]:
    attribute = node.attributes.get(name)
    return list(attribute.as_ints()) if attribute is not None else []


def _conv_geometry(node: ir.Node) -> dict | None:
    """What the predicates need about a plain ONNX Conv with a known weight shape, else None."""
    if node.op_type != "Conv" or node.domain not in ("", "ai.onnx") or len(node.inputs) < 2:
        return None
    weight = node.inputs[1]
    if weight is None or weight.shape is None or not all(isinstance(d, int) for d in weight.shape):
        return None
    auto_pad = node.attributes.get("auto_pad")
    if auto_pad is not None and auto_pad.as_string() not in ("", "NOTSET"):
        return None  # SAME_*/VALID: pads known only at run time; the exporter writes explicit pads
    group_attribute = node.attributes.get("group")
    group = group_attribute.as_int() if group_attribute is not None else 1
    rank = len(weight.shape) - 2
    x = node.inputs[0]
    spatial = None
    if x is not None and x.shape is not None and len(x.shape) == rank + 2:
        spatial = [d if isinstance(d, int) else None for d in list(x.shape)[2:]]
    return {
        "c_in": weight.shape[1] * group,
        "c_out": weight.shape[0],
        "group": group,
        "kernel_shape": _ints(node, "kernel_shape") or list(weight.shape[2:]),
        "strides": _ints(node, "strides") or [1] * rank,
        "pads": _ints(node, "pads") or [0] * (2 * rank),
        "input_spatial": spatial,
    }


def _padded_shape(shape: ir.Shape | None, channels: int) -> ir.Shape | None:
    if shape is None or len(shape) < 2:
        return None
    dims = list(shape)
    dims[1] = channels
    return ir.Shape(dims)


def _end_pads(rank: int, axis: int, amount: int) -> list[int]:
    """Pad's `pads` (all begins, then all ends) adding `amount` at the end of `axis` only."""
    ends = [0] * rank
    ends[axis] = amount
    return [0] * rank + ends


class _Constants:
    """int64 initializers shared by every rewrite in one graph (registered on first use)."""

    def __init__(self, graph: ir.Graph):
        self.graph = graph
        self.values: dict[str, ir.Value] = {}

    def get(self, name: str, data: list[int]) -> ir.Value:
        if name not in self.values:
            tensor = ir.tensor(np.array(data, dtype=np.int64), name=name)
            value = ir.val(name, ir.DataType.INT64, [len(data)], const_value=tensor)
            self.graph.register_initializer(value)
            self.values[name] = value
        return self.values[name]


def _needs_tail_fix(geometry: dict) -> bool:
    """Bug 2, also where the input's size is unknown and might equal the kernel's."""
    rank = len(geometry["kernel_shape"])
    pads, spatial = geometry["pads"], geometry["input_spatial"]
    if geometry["group"] != 1 or any(pads[:rank]) or not any(pads[rank:]):
        return False
    pointwise = all(k == 1 for k in geometry["kernel_shape"]) and all(s == 1 for s in geometry["strides"])
    maybe_kernel_sized = spatial is None or any(d is None for d in spatial) or list(spatial) == list(geometry["kernel_shape"])
    return pointwise or maybe_kernel_sized


def _rewrite_group_one(graph: ir.Graph, node: ir.Node, geometry: dict, constants: _Constants, base: str) -> bool:
    """Bugs 2 and 1 on a group-1 Conv; False if it needs neither."""
    rank = len(geometry["kernel_shape"])
    pads = list(geometry["pads"])
    tail_fix = _needs_tail_fix(geometry)
    if tail_fix:
        # One stride more of head pad on the last axis: exactly one more output, in front.
        pads[rank - 1] += geometry["strides"][-1]
    path = webgpu_conv_path(1, geometry["kernel_shape"], geometry["strides"], pads, geometry["input_spatial"])
    channel_fix = vec3_input_bug(geometry["c_in"], geometry["c_out"], path)
    if not (tail_fix or channel_fix):
        return False
    new_nodes: list[ir.Node] = []
    inputs = list(node.inputs)
    if channel_fix:
        extra = -geometry["c_in"] % CHANNEL_MULTIPLE
        channel_pads = constants.get(f"webgpu_conv_pads_r{rank + 2}_axis1_{extra}", _end_pads(rank + 2, 1, extra))
        for position, tag in ((0, "x"), (1, "w")):
            source = inputs[position]
            padded = ir.val(f"{base}/channels_padded_{tag}", source.dtype, _padded_shape(source.shape, geometry["c_in"] + extra))
            new_nodes.append(ir.node("Pad", [source, channel_pads], {"mode": "constant"}, outputs=[padded], name=f"{base}/pad_channels_{tag}"))
            inputs[position] = padded
    attributes = [a for name, a in node.attributes.items() if name != "pads"] + [ir.AttrInt64s("pads", pads)]
    old_output = node.outputs[0]
    conv_output = ir.val(f"{base}/output" if tail_fix else (old_output.name or f"{base}/output"), old_output.dtype)
    new_nodes.append(ir.Node("", "Conv", inputs, attributes, outputs=[conv_output], name=node.name))
    final = conv_output
    if tail_fix:
        final = ir.val(f"{base}/sliced", old_output.dtype)
        slice_inputs = [
            conv_output,
            constants.get("webgpu_conv_slice_one", [1]),
            constants.get("webgpu_conv_slice_end", [np.iinfo(np.int64).max]),
            constants.get("webgpu_conv_slice_last_axis", [-1]),
        ]
        new_nodes.append(ir.node("Slice", slice_inputs, outputs=[final], name=f"{base}/drop_added_head"))
    ir.convenience.replace_nodes_and_values(graph, node, [node], new_nodes, [old_output], [final])
    return True


def _rewrite_grouped(graph: ir.Graph, node: ir.Node, geometry: dict, constants: _Constants, base: str) -> bool:
    """Bug 3: each group's output channels padded to a multiple of 4, the real ones gathered back."""
    if not grouped_vector_bug(geometry["c_in"], geometry["c_out"], geometry["group"]):
        return False
    group, c_out = geometry["group"], geometry["c_out"]
    per_group = c_out // group
    padded_per_group = per_group + (-per_group % CHANNEL_MULTIPLE)
    weight = node.inputs[1]
    in_per_group, kernel = weight.shape[1], list(weight.shape[2:])
    new_nodes: list[ir.Node] = []

    def grouped_pad(source: ir.Value, tag: str, trailing: list[int]) -> ir.Value:
        """[group * per_group, *trailing] -> [group * padded_per_group, *trailing], zeros appended per group."""
        split = ir.val(f"{base}/{tag}_by_group", source.dtype, [group, per_group, *trailing])
        padded = ir.val(f"{base}/{tag}_by_group_padded", source.dtype, [group, padded_per_group, *trailing])
        merged = ir.val(f"{base}/{tag}_padded", source.dtype, [group * padded_per_group, *trailing])
        rank = 2 + len(trailing)
        new_nodes.extend([
            ir.node("Reshape", [source, constants.get(f"{base}/{tag}_group_shape", [group, per_group, *trailing])], outputs=[split], name=f"{base}/{tag}_split_groups"),
            ir.node("Pad", [split, constants.get(f"webgpu_conv_pads_r{rank}_axis1_{padded_per_group - per_group}", _end_pads(rank, 1, padded_per_group - per_group))],
                    {"mode": "constant"}, outputs=[padded], name=f"{base}/{tag}_pad_groups"),
            ir.node("Reshape", [padded, constants.get(f"{base}/{tag}_padded_shape", [group * padded_per_group, *trailing])], outputs=[merged], name=f"{base}/{tag}_merge_groups"),
        ])
        return merged

    inputs = list(node.inputs)
    inputs[1] = grouped_pad(weight, "w", [in_per_group, *kernel])
    if len(inputs) > 2 and inputs[2] is not None:
        inputs[2] = grouped_pad(inputs[2], "b", [])
    old_output = node.outputs[0]
    conv_output = ir.val(f"{base}/output", old_output.dtype)
    new_nodes.append(ir.Node("", "Conv", inputs, list(node.attributes.values()), outputs=[conv_output], name=node.name))
    keep = [g * padded_per_group + c for g in range(group) for c in range(per_group)]
    final = ir.val(f"{base}/gathered", old_output.dtype)
    new_nodes.append(ir.node("Gather", [conv_output, constants.get(f"{base}/real_channels", keep)], {"axis": 1}, outputs=[final], name=f"{base}/drop_padded_channels"))
    ir.convenience.replace_nodes_and_values(graph, node, [node], new_nodes, [old_output], [final])
    return True


def rewrite_webgpu_convs_ir(model: ir.Model) -> list[str]:
    """Rewrites, in place, every Conv of `model`'s main graph that onnxruntime-web's WebGPU EP gets
    wrong (the module docstring's three bugs); returns the rewritten nodes' names. Each rewrite
    only adds zeros, so it changes no result."""
    graph = model.graph
    opset = model.opset_imports.get("", graph.opset_imports.get("", 0))
    constants = _Constants(graph)
    rewritten: list[str] = []
    for index, node in enumerate(list(graph)):
        geometry = _conv_geometry(node)
        if geometry is None:
            continue
        needed = grouped_vector_bug(geometry["c_in"], geometry["c_out"], geometry["group"]) if geometry["group"] != 1 else (
            _needs_tail_fix(geometry) or webgpu_miscomputes(**geometry)
        )
        if not needed:
            continue
        if opset < MIN_PAD_OPSET:
            raise ValueError(f"Conv {node.name!r} needs a rewrite for WebGPU, which needs opset >= {MIN_PAD_OPSET}; the model has {opset}")
        base = node.name or f"conv_{index}"
        rewrite = _rewrite_grouped if geometry["group"] != 1 else _rewrite_group_one
        if rewrite(graph, node, geometry, constants, base):
            rewritten.append(base)
    return rewritten


def rewrite_webgpu_convs(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of `model` with every Conv that onnxruntime-web's WebGPU EP miscomputes rewritten to
    an equal form that it computes right (see the module docstring and `rewrite_webgpu_convs_ir`).
    `model` is not changed; a model with no affected Conv comes back equal to it. For an
    `ir.Model`, use `rewrite_webgpu_convs_ir` (in place)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    ir_model = ir.serde.deserialize_model(copy)
    if not rewrite_webgpu_convs_ir(ir_model):
        return copy
    return ir.serde.serialize_model(ir_model)


# The name the issue asked for (channel padding is what two of the three rewrites do).
pad_conv_channels = rewrite_webgpu_convs
