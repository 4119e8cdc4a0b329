"""Graph rewrite: MatMul -> com.microsoft MatMulNBits, Gather -> com.microsoft GatherBlockQuantized.

A MatMul is quantized when its B is a constant 2-D float weight: an initializer [K, N] (how
`export` stores Linear weights, pre-transposed) or Transpose(initializer [N, K]) with perm [1, 0]
(what an exporter that did not pre-transpose leaves). MatMulNBits (bits 4, symmetric, no zero
points) gets attributes K, N, bits, block_size (and accuracy_level when asked for), inputs
A, B [N, k_blocks, block/2] uint8, scales [N, k_blocks] in A's float type. The weight's bytes
come from onnxruntime's kernel (transforms.Int4MatMul), identical to MatMulNBitsQuantizer's.

The embedding lookup Gather(table [V, H], ids) on axis 0 becomes GatherBlockQuantized with
uint8 data [V, H/2], bits 4, block_size, gather_axis 0, quantize_axis 1 (blocks along the hidden
dim), scales [V, H/block]. Conv weights are never touched.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import onnx
from onnx import TensorProto, helper

from vibevoice_asr_web import inventory
from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.quantize import int4, ternary
from vibevoice_asr_web.quantize.initializers import Initializers
from vibevoice_asr_web.quantize.transforms import CastFloat16, Copy, Int4Gather, Int4MatMul, TernaryMatMul

MS_DOMAIN = "com.microsoft"


@dataclass(frozen=True)
class BlockOptions:
    block_size: int = contract.INT4_BLOCK_SIZE
    accuracy_level: int | None = None
    quantize_gather: bool = True
    ternary_projections: bool = False  # q2 / q2f16: decoder q/k/v/o/gate/up/down weights as exact 2-bit (ternary.py)


@dataclass
class NbitsReport:
    matmuls: int = 0  # every MatMul of the graph
    matmuls_constant_weight: int = 0  # MatMuls whose B is a constant (those a weight quantizer could touch)
    matmuls_quantized: int = 0
    through_transpose: int = 0
    gathers_quantized: int = 0
    transposes_removed: int = 0
    matmuls_2bit: int = 0  # ternary projections written bits 2 (each tile is checked to dequantize exactly, or refused)
    weights_quantized: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # node -> why

    def as_dict(self) -> dict:
        return {
            "matmuls": self.matmuls, "matmuls_constant_weight": self.matmuls_constant_weight,
            "matmuls_quantized": self.matmuls_quantized, "through_transpose": self.through_transpose,
            "gathers_quantized": self.gathers_quantized, "transposes_removed": self.transposes_removed,
            "skipped": dict(self.skipped),
            **({"matmuls_2bit": self.matmuls_2bit} if self.matmuls_2bit else {}),
        }


def _attribute_value(node: onnx.NodeProto, name: str, default=None):
    for attribute in node.attribute:
        if attribute.name == name:
            return helper.get_attribute_value(attribute)
    return default


def _onnx_op(node: onnx.NodeProto, op_type: str) -> bool:
    return node.op_type == op_type and node.domain in ("", "ai.onnx")


def _compute_dtype(inits: Initializers, name: str) -> str | None:
    """float32/float16 for a weight whose transform is a plain copy or fp16 cast, else None."""
    transform = inits.transform(name)
    if isinstance(transform, CastFloat16):
        return "float16"
    if isinstance(transform, Copy) and transform.outputs[0].name == name:
        return "float16" if transform.source.elem_type == TensorProto.FLOAT16 else "float32"
    return None


def _weight_2d(inits: Initializers, name: str) -> bool:
    return name in inits and inits.is_float(name) and len(inits.spec(name).dims) == 2


def quantize(model: onnx.ModelProto, inits: Initializers, options: BlockOptions = BlockOptions()) -> NbitsReport:
    """Rewrites `model` in place; the new weights are transforms in `inits`."""
    int4.check_block_size(options.block_size)
    graph = model.graph
    before = op_counts(model)
    report = NbitsReport()
    producers = {out: node for node in graph.node for out in node.output}
    weights = _QuantizedWeights(inits, options, report)
    new_nodes = []
    for node in graph.node:
        replacement = None
        if _onnx_op(node, "MatMul"):
            replacement = _matmul_nbits(node, producers, inits, weights, options, report)
        elif options.quantize_gather and _quantizable_gather(node, inits):
            replacement = _gather_block_quantized(node, inits, options, report)
        new_nodes.append(replacement or node)
    kept = _without_dead_transposes(new_nodes, inits, graph, report)
    del graph.node[:]
    graph.node.extend(kept)
    inits.keep_only({name for node in kept for name in node.input} | {o.name for o in graph.output})
    if report.matmuls_quantized or report.gathers_quantized:
        ensure_opset(model, MS_DOMAIN, 1)
    _check_op_counts(before, model, report)
    return report


class _QuantizedWeights:
    """Each (weight, layout) quantized once, however many MatMuls read it."""

    def __init__(self, inits: Initializers, options: BlockOptions, report: NbitsReport):
        self.inits, self.options, self.report = inits, options, report
        self.done: dict[tuple[str, str], tuple[str, str]] = {}  # (weight, layout) -> (quantized, scales)

    def get(self, weight: str, layout: str) -> tuple[str, str] | None:
        """The (quantized, scales) initializer names; None when the weight's transform cannot be quantized."""
        key = (weight, layout)
        if key not in self.done:
            dtype = _compute_dtype(self.inits, weight)
            if dtype is None:
                return None
            suffix = "" if layout == "KN" else "_transposed"
            kind = TernaryMatMul if self.is_ternary(weight) else Int4MatMul
            transform = kind(
                self.inits.source(weight), layout=layout, block_size=self.options.block_size, compute_dtype=dtype,
                quantized_name=f"{weight}{suffix}{kind.name_suffix}", scales_name=f"{weight}{suffix}_scales",
            )
            self.done[key] = tuple(self.inits.add(transform))
            self.report.weights_quantized.append(weight)
        return self.done[key]

    def is_ternary(self, weight: str) -> bool:
        """A decoder projection written 2-bit (q2 / q2f16); TernaryMatMul refuses it if it is not ternary."""
        return self.options.ternary_projections and inventory.is_decoder_projection(weight)


def _matmul_weight(node: onnx.NodeProto, producers: dict, inits: Initializers, report: NbitsReport) -> tuple[str | None, str | None]:
    """A MatMul's constant 2-D B as (weight, "KN") or, through a Transpose, (weight, "NK"); counts what it finds."""
    b = node.input[1]
    if b in inits:
        report.matmuls_constant_weight += 1
        if _weight_2d(inits, b):
            return b, "KN"
        report.skipped[node.name or node.output[0]] = f"weight {b} is {list(inits.spec(b).dims)}, not 2-D float"
    elif b in producers and _onnx_op(producers[b], "Transpose") and producers[b].input[0] in inits:
        report.matmuls_constant_weight += 1
        transpose = producers[b]
        perm = _attribute_value(transpose, "perm")
        if _weight_2d(inits, transpose.input[0]) and (perm is None or list(perm) == [1, 0]):
            return transpose.input[0], "NK"
    return None, None


def _matmul_nbits(node, producers, inits: Initializers, weights: _QuantizedWeights, options: BlockOptions, report: NbitsReport):
    """The MatMulNBits that replaces a MatMul, or None when its B is not a quantizable constant."""
    report.matmuls += 1
    weight, layout = _matmul_weight(node, producers, inits, report)
    names = weights.get(weight, layout) if weight else None
    if names is None:
        return None
    spec = inits.spec(weight)
    k, n = (spec.dims[0], spec.dims[1]) if layout == "KN" else (spec.dims[1], spec.dims[0])
    two_bit = weights.is_ternary(weight)
    attributes = {"K": k, "N": n, "bits": ternary.BITS if two_bit else int4.BITS, "block_size": options.block_size}
    if options.accuracy_level:
        attributes["accuracy_level"] = options.accuracy_level
    report.matmuls_quantized += 1
    report.through_transpose += layout == "NK"
    report.matmuls_2bit += two_bit
    return helper.make_node(
        "MatMulNBits", [node.input[0], *names], list(node.output),
        name=f"{node.name}_Q{attributes['bits']}" if node.name else f"{node.output[0]}/MatMulNBits", domain=MS_DOMAIN, **attributes,
    )


def _quantizable_gather(node: onnx.NodeProto, inits: Initializers) -> bool:
    """An embedding lookup: Gather on axis 0 of a 2-D float table whose transform can be quantized."""
    return (
        _onnx_op(node, "Gather") and _weight_2d(inits, node.input[0])
        and _attribute_value(node, "axis", 0) == 0 and _compute_dtype(inits, node.input[0]) is not None
    )


def _gather_block_quantized(node: onnx.NodeProto, inits: Initializers, options: BlockOptions, report: NbitsReport) -> onnx.NodeProto:
    table = node.input[0]
    transform = Int4Gather(
        inits.source(table), block_size=options.block_size, compute_dtype=_compute_dtype(inits, table),
        quantized_name=f"{table}_Q4", scales_name=f"{table}_scales",
    )
    data, scales = inits.add(transform)
    report.gathers_quantized += 1
    return helper.make_node(
        "GatherBlockQuantized", [data, node.input[1], scales], list(node.output),
        name=f"{node.name}_Q4" if node.name else f"{node.output[0]}/GatherBlockQuantized", domain=MS_DOMAIN,
        gather_axis=0, quantize_axis=1, block_size=options.block_size, bits=int4.BITS,
    )


def _without_dead_transposes(nodes: list[onnx.NodeProto], inits: Initializers, graph: onnx.GraphProto, report: NbitsReport) -> list[onnx.NodeProto]:
    """Drops the Transposes of weights that only fed quantized MatMuls (nothing reads their output now)."""
    used = {name for node in nodes for name in node.input} | {o.name for o in graph.output}
    kept = []
    for node in nodes:
        if _onnx_op(node, "Transpose") and node.input[0] in inits and not any(o in used for o in node.output):
            report.transposes_removed += 1
            continue
        kept.append(node)
    return kept


def _check_op_counts(before: Counter, model: onnx.ModelProto, report: NbitsReport) -> None:
    """Only the quantized MatMuls and Gathers (and their dead Transposes) changed."""
    expected = before - Counter({"MatMul": report.matmuls_quantized, "Gather": report.gathers_quantized, "Transpose": report.transposes_removed})
    expected += Counter({f"{MS_DOMAIN}:MatMulNBits": report.matmuls_quantized, f"{MS_DOMAIN}:GatherBlockQuantized": report.gathers_quantized})
    if +expected != +op_counts(model):
        raise RuntimeError(f"int4 rewrite of {model.graph.name!r} changed other nodes: expected {dict(expected)}, found {dict(op_counts(model))}")


def constant_weight_matmuls(model: onnx.ModelProto, inits: Initializers) -> int:
    """MatMuls whose B is an initializer or Transpose(initializer): the weights a quantizer could touch."""
    producers = {out: node for node in model.graph.node for out in node.output}

    def constant(name: str) -> bool:
        node = producers.get(name)
        return name in inits or (node is not None and _onnx_op(node, "Transpose") and node.input[0] in inits)

    return sum(1 for node in model.graph.node if _onnx_op(node, "MatMul") and constant(node.input[1]))


def ensure_opset(model: onnx.ModelProto, domain: str, version: int) -> None:
    if not any(o.domain == domain for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(domain, version))


def op_counts(model: onnx.ModelProto) -> Counter:
    return Counter(f"{n.domain}:{n.op_type}" if n.domain not in ("", "ai.onnx") else n.op_type for n in model.graph.node)
