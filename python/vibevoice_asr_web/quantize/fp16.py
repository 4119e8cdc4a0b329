"""Graph rewrite: float32 -> float16 everywhere, with fp32 islands where fp16 overflows or rounds.

Which nodes stay fp32 is decided by op type and pattern, never by running the model:

  * reductions and normalisers: Pow (x**2 overflows fp16 beyond |x| > 256), ReduceMean/ReduceSum
    (a long sum loses precision), Softmax/LogSoftmax, and Cos/Sin (rotary tables);
  * index arithmetic: a Cast from an integer type to float (positions, lengths) stays fp32, since
    fp16 holds integers exactly only up to 2048;
  * what follows from those alone: a node whose float inputs all come from fp32 nodes or
    constants (at least one from an fp32 node) stays fp32 too. This keeps an RMSNorm's
    statistics (Pow -> ReduceMean -> Add eps -> Sqrt -> Reciprocal), the rotary angles
    (position * inv_freq -> Cos/Sin) and the softmax's NaN guard in fp32, and hands fp16 back
    where they meet activations. Constants and tables indexed by ids (Gather) are fp16.

Cast nodes are added at every border (one per value and direction, shared by its consumers);
graph inputs and outputs become fp16 (the contract's activation type). Weights used only by fp32
nodes stay fp32; the others are cast (clamped to +-65504) when written. Afterwards the op counts
must equal the original ones plus the added Casts: a converter that loses nodes (onnxconverter's
float16 tool returned empty graphs on models like these) is caught here, not in the browser.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.quantize.initializers import Initializers
from vibevoice_asr_web.quantize.transforms import FP16_MAX, CastFloat16, Copy, OutputSpec

FLOAT, FLOAT16 = TensorProto.FLOAT, TensorProto.FLOAT16
FP32_OPS = frozenset({"Pow", "ReduceMean", "ReduceSum", "ReduceSumSquare", "ReduceL2", "ReduceLogSumExp", "Softmax", "LogSoftmax", "Cos", "Sin"})
# (op, input index) whose element type does not follow the node's precision
TYPE_FREE_INPUTS = frozenset({("Cast", 0), ("CastLike", 0), ("Shape", 0), ("Size", 0), ("Resize", 1), ("Resize", 2)})
INTEGER_TYPES = frozenset({
    TensorProto.INT8, TensorProto.INT16, TensorProto.INT32, TensorProto.INT64,
    TensorProto.UINT8, TensorProto.UINT16, TensorProto.UINT32, TensorProto.UINT64, TensorProto.BOOL,
})


@dataclass
class Fp16Report:
    nodes_before: int = 0
    nodes_after: int = 0
    fp32_nodes: Counter = field(default_factory=Counter)  # op type -> count kept in fp32
    casts_added: int = 0
    fp32_weights: list[str] = field(default_factory=list)  # initializers kept fp32 (used by fp32 nodes only)

    def as_dict(self) -> dict:
        return {
            "nodes_before": self.nodes_before, "nodes_after": self.nodes_after, "casts_added": self.casts_added,
            "fp32_nodes": dict(sorted(self.fp32_nodes.items())), "fp32_weights": len(self.fp32_weights),
        }


def _is_domain_onnx(node: onnx.NodeProto) -> bool:
    return node.domain in ("", "ai.onnx")


# outputs whose element type is fixed (not the activations'): normalisation statistics are float32
# (LayerNormalization's stash_type, onnxruntime's U type) whatever the input type
FLOAT32_OUTPUTS = {
    ("", "LayerNormalization"): (1, 2),
    ("", "SimplifiedLayerNormalization"): (1,),  # onnxruntime registers it in the ONNX domain
    ("com.microsoft", "SimplifiedLayerNormalization"): (1,),
    ("com.microsoft", "SkipLayerNormalization"): (1, 2),
    ("com.microsoft", "SkipSimplifiedLayerNormalization"): (1, 2),
}
BOOL_OPS = frozenset({"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual", "Not", "And", "Or", "Xor", "IsNaN", "IsInf"})
INT64_OPS = frozenset({"Shape", "Size", "NonZero", "ArgMax", "ArgMin"})


def _output_type(node: onnx.NodeProto, index: int, types: dict[str, int]) -> int | None:
    """The element type of a node output by the op's type rule (for values without value_info)."""
    domain = node.domain or ""
    if index in FLOAT32_OUTPUTS.get((domain, node.op_type), ()):
        return FLOAT
    if node.op_type in BOOL_OPS:
        return TensorProto.BOOL
    if node.op_type in INT64_OPS:
        return TensorProto.INT64
    if node.op_type == "Cast":
        return _attribute(node, "to").i
    if node.op_type in ("Constant", "ConstantOfShape"):
        value = _attribute(node, "value")
        return value.t.data_type if value is not None else FLOAT
    source = 1 if node.op_type in ("Where", "CastLike") else 0
    return types.get(node.input[source]) if len(node.input) > source and node.input[source] else None


def value_types(model: onnx.ModelProto, inits: Initializers) -> dict[str, int]:
    """Element type of every value: from the graph's value_info, else from each op's type rule."""
    graph = model.graph
    types: dict[str, int] = {}
    for info in [*graph.input, *graph.output, *graph.value_info]:
        if info.type.HasField("tensor_type") and info.type.tensor_type.elem_type:
            types[info.name] = info.type.tensor_type.elem_type
    for name in inits.names():
        types[name] = inits.spec(name).elem_type
    used = {name for node in graph.node for name in node.input} | {o.name for o in graph.output}
    unknown = []
    for node in graph.node:
        for index, name in enumerate(node.output):
            if name and name not in types:
                found = _output_type(node, index, types)
                if found is not None:
                    types[name] = found
                elif name in used:
                    unknown.append(name)
    if unknown:
        raise UserError(
            f"graph {graph.name!r}: the element type of {len(unknown)} values is unknown (e.g. {unknown[:3]}); "
            "expected a graph with value_info for its intermediate values, as `export` writes"
        )
    return types


def _attribute(node: onnx.NodeProto, name: str):
    for attribute in node.attribute:
        if attribute.name == name:
            return attribute
    return None


def _check_no_subgraphs(graph: onnx.GraphProto) -> None:
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
                raise UserError(f"node {node.name or node.op_type} has a subgraph: the fp16 rewrite expects flat graphs (no If/Loop/Scan)")


def fp32_nodes(model: onnx.ModelProto, types: dict[str, int], constants: set[str]) -> list[bool]:
    """For each node (in graph order): does it run in fp32?"""
    island_values: set[str] = set()
    flags = []
    for node in model.graph.node:
        float_inputs = [name for name in node.input if name and types.get(name) == FLOAT]
        float_outputs = [name for name in node.output if name and types.get(name) == FLOAT]
        keep = False
        if not _is_domain_onnx(node) or not float_outputs and not float_inputs:
            keep = False
        elif node.op_type in FP32_OPS and float_outputs:
            keep = True
        elif node.op_type == "Cast":
            keep = bool(float_outputs) and node.input[0] not in constants and types.get(node.input[0]) in INTEGER_TYPES
            keep = keep or (bool(float_outputs) and node.input[0] in island_values)
        elif float_inputs and all(name in constants or name in island_values for name in float_inputs):
            keep = any(name in island_values for name in float_inputs)
        flags.append(keep)
        if keep:
            island_values.update(float_outputs)
    return flags


def _to_float16_tensor(tensor: TensorProto) -> TensorProto:
    array = numpy_helper.to_array(tensor)
    converted = numpy_helper.from_array(np.clip(array, -FP16_MAX, FP16_MAX).astype(np.float16), tensor.name)
    return converted


def convert(model: onnx.ModelProto, inits: Initializers) -> Fp16Report:
    """Rewrites `model` in place to fp16 (see the module docstring); weights change in `inits`."""
    graph = model.graph
    _check_no_subgraphs(graph)
    types = value_types(model, inits)
    constants = set(inits.names()) | {n.output[0] for n in graph.node if n.op_type == "Constant" and _is_domain_onnx(n)}
    flags = fp32_nodes(model, types, constants)
    report = Fp16Report(nodes_before=len(graph.node))
    before = Counter((n.domain or "", n.op_type) for n in graph.node)

    precision = value_precisions(graph, flags, types, report)
    fp32_copy = convert_weights(graph, inits, flags, precision, report)
    renamed = rename_fp32_outputs(graph, inits, precision, types)
    new_nodes = insert_casts(graph, flags, types, precision, fp32_copy, report)
    for old, new in renamed.items():  # the final Cast that makes each renamed output
        new_nodes.append(helper.make_node("Cast", [new], [old], name=f"{old}/cast_to_fp16", to=FLOAT16))
        report.casts_added += 1
        precision[old] = FLOAT16
    del graph.node[:]
    graph.node.extend(new_nodes)
    retype_values(graph, precision, renamed)

    report.nodes_after = len(graph.node)
    check_nodes_kept(before, Counter((n.domain or "", n.op_type) for n in graph.node), report.casts_added, graph.name)
    return report


def value_precisions(graph: onnx.GraphProto, flags: list[bool], types: dict[str, int], report: Fp16Report) -> dict[str, int]:
    """The precision of every float value a node produces or the graph is fed; counts the fp32 nodes."""
    precision: dict[str, int] = {}
    for info in graph.input:
        if types.get(info.name) == FLOAT:
            precision[info.name] = FLOAT16
    for node, keep in zip(graph.node, flags):
        fixed = FLOAT32_OUTPUTS.get((node.domain or "", node.op_type), ())
        for index, name in enumerate(node.output):
            if name and types.get(name) == FLOAT:
                precision[name] = FLOAT if keep or index in fixed else FLOAT16
        if keep:
            report.fp32_nodes[node.op_type] += 1
    return precision


def convert_weights(graph: onnx.GraphProto, inits: Initializers, flags: list[bool], precision: dict[str, int], report: Fp16Report) -> dict[str, str]:
    """Each float32 weight becomes what its consumers need: fp32 kept, fp16 cast, or both (an fp32
    copy NAME.fp32 for the fp32 nodes); returns weight -> its fp32 copy."""
    demand: dict[str, set[int]] = defaultdict(set)
    for node, keep in zip(graph.node, flags):
        for index, name in enumerate(node.input):
            if name in inits and inits.is_float(name) and (node.op_type, index) not in TYPE_FREE_INPUTS:
                demand[name].add(FLOAT if keep else FLOAT16)
    for info in graph.output:
        if info.name in inits:
            demand[info.name].add(FLOAT16)
    fp32_copy: dict[str, str] = {}
    for name in inits.names():
        if not inits.is_float(name) or inits.spec(name).elem_type != FLOAT:
            continue
        needs = demand.get(name) or {FLOAT16}
        source = inits.source(name)
        if needs == {FLOAT}:
            precision[name] = FLOAT
            report.fp32_weights.append(name)
            continue
        inits.replace(name, CastFloat16(source))
        precision[name] = FLOAT16
        if FLOAT in needs:  # used by both: an fp32 copy for the fp32 nodes
            copy_name = f"{name}.fp32"
            inits.add(Copy(source, outputs=(OutputSpec(copy_name, FLOAT, source.dims, source.metadata),)))
            fp32_copy[name] = copy_name
            precision[copy_name] = FLOAT
            report.fp32_weights.append(copy_name)
    return fp32_copy


def rename_fp32_outputs(graph: onnx.GraphProto, inits: Initializers, precision: dict[str, int], types: dict[str, int]) -> dict[str, str]:
    """Graph outputs made by fp32 nodes: the node writes NAME.fp32 (a final Cast makes NAME); returns old -> new."""
    renamed = {}
    for info in graph.output:
        if precision.get(info.name) == FLOAT and info.name not in inits:
            renamed[info.name] = f"{info.name}.fp32"
    if renamed:
        for node in graph.node:
            node.output[:] = [renamed.get(o, o) for o in node.output]
            node.input[:] = [renamed.get(i, i) for i in node.input]
        for new in renamed.values():
            precision[new] = FLOAT
            types[new] = FLOAT
    return renamed


def insert_casts(
    graph: onnx.GraphProto, flags: list[bool], types: dict[str, int], precision: dict[str, int], fp32_copy: dict[str, str], report: Fp16Report,
) -> list[onnx.NodeProto]:
    """The nodes in order, a Cast before each input whose precision differs from what its node runs
    in (one per value and direction, shared by its consumers); fp16 nodes' attributes retyped."""
    casts: dict[tuple[str, int], str] = {}
    new_nodes: list[onnx.NodeProto] = []

    def cast(name: str, to: int) -> str:
        key = (name, to)
        if key not in casts:
            suffix = "fp32" if to == FLOAT else "fp16"
            out = f"{name}.to_{suffix}"
            new_nodes.append(helper.make_node("Cast", [name], [out], name=f"{name}/cast_to_{suffix}", to=to))
            casts[key] = out
            types[out] = FLOAT
            precision[out] = to
            report.casts_added += 1
        return casts[key]

    for node, keep in zip(list(graph.node), flags):
        required = FLOAT if keep else FLOAT16
        for index, name in enumerate(node.input):
            if not name or types.get(name) != FLOAT or (node.op_type, index) in TYPE_FREE_INPUTS:
                continue
            if name in fp32_copy and required == FLOAT:
                node.input[index] = fp32_copy[name]
                continue
            have = precision.get(name, FLOAT)
            if have != required:
                node.input[index] = cast(name, required)
        if not keep and _is_domain_onnx(node):
            _retype_attributes(node, types)
        new_nodes.append(node)
    return new_nodes


def retype_values(graph: onnx.GraphProto, precision: dict[str, int], renamed: dict[str, str]) -> None:
    """Graph inputs and outputs fp16 (the contract's activation type); value_info as computed."""
    for info in [*graph.input, *graph.output]:
        if info.type.HasField("tensor_type") and info.type.tensor_type.elem_type == FLOAT:
            info.type.tensor_type.elem_type = FLOAT16
    for info in graph.value_info:
        if info.name in renamed:
            info.name = renamed[info.name]
        if info.type.HasField("tensor_type") and info.type.tensor_type.elem_type == FLOAT:
            info.type.tensor_type.elem_type = precision.get(info.name, FLOAT)


def _retype_attributes(node: onnx.NodeProto, types: dict[str, int]) -> None:
    """float32 -> float16 in the attributes that fix an output type (Cast to, dtype, Constant values)."""
    if node.op_type == "Cast":
        to = _attribute(node, "to")
        if to is not None and to.i == FLOAT:
            to.i = FLOAT16
    dtype = _attribute(node, "dtype")
    if dtype is not None and dtype.type == AttributeProto.INT and dtype.i == FLOAT:
        dtype.i = FLOAT16
    if node.op_type in ("Constant", "ConstantOfShape"):
        value = _attribute(node, "value")
        if value is not None and value.t.data_type == FLOAT:
            value.t.CopyFrom(_to_float16_tensor(value.t))
        elif value is None and node.op_type == "ConstantOfShape" and types.get(node.output[0]) == FLOAT:
            node.attribute.append(helper.make_attribute("value", numpy_helper.from_array(np.zeros(1, np.float16))))
        for name in ("value_float", "value_floats"):
            if _attribute(node, name) is not None and node.op_type == "Constant":
                floats = np.asarray(helper.get_attribute_value(_attribute(node, name)), np.float32)
                node.attribute.remove(_attribute(node, name))
                node.attribute.append(helper.make_attribute("value", numpy_helper.from_array(floats.astype(np.float16))))


def check_nodes_kept(before: Counter, after: Counter, casts_added: int, graph_name: str) -> None:
    """The converted graph has every node of the original, plus exactly the Casts that were added."""
    expected = before.copy()
    expected[("", "Cast")] += casts_added
    if +expected != +after:
        lost = {f"{d}:{op}" if d else op: expected[(d, op)] - after[(d, op)] for d, op in expected if expected[(d, op)] != after[(d, op)]}
        raise RuntimeError(f"fp16 conversion of {graph_name!r} changed the node counts (expected - found): {lost}")
