"""One graph file: load it without weights, rewrite it for a dtype, stream its weights out, check it."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.onnx_io import INLINE_LIMIT_BYTES, DataChunks, Region, load_graph, mark_external
from vibevoice_asr_web.quantize import fp16, nbits
from vibevoice_asr_web.quantize.initializers import Initializers
from vibevoice_asr_web.quantize.transforms import Context, OutputSpec, Sink, Transform
from vibevoice_asr_web.tensor_reader import DEFAULT_SLAB_BYTES, BufferRing, SlabReader

ONE_GIB = contract.GPU_BUFFER_BYTES


@dataclass(frozen=True)
class QuantizeOptions:
    block_size: int = contract.INT4_BLOCK_SIZE
    accuracy_level: int | None = None
    slab_bytes: int = DEFAULT_SLAB_BYTES
    max_chunk_bytes: int = contract.MAX_CHUNK_BYTES


class Meter:
    """Counts what the writer does, for progress lines: tensors done, bytes read."""

    def __init__(self, report: Callable[["Meter"], None] | None = None):
        self.tensors = 0
        self.bytes_read = 0
        self.report = report or (lambda meter: None)

    def slab(self, nbytes: int) -> None:
        self.bytes_read += nbytes
        self.report(self)

    def tensor_done(self) -> None:
        self.tensors += 1
        self.report(self)


@dataclass
class GraphResult:
    file: str
    data_files: list[str]
    weight_bytes: int
    bytes_read: int
    ir_version: int
    opset: dict[str, int]
    op_counts: dict[str, int]
    initializers: int
    graph_bytes: int = 0
    matmul_weights: int = 0  # MatMuls whose B is a constant weight (direct or through a Transpose)
    fp16: dict | None = None
    nbits: dict | None = None
    clamped_to_fp16: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        return sum(self.op_counts.values())

    def summary(self, onnx_dir: str = "onnx") -> dict:
        return {
            "file": f"{onnx_dir}/{self.file}", "data_files": [f"{onnx_dir}/{f}" for f in self.data_files],
            "weight_bytes": self.weight_bytes, "graph_bytes": self.graph_bytes, "matmul_weights": self.matmul_weights,
            "ir_version": self.ir_version, "opset": self.opset,
            "nodes": self.nodes, "op_counts": self.op_counts, "initializers": self.initializers,
            **({"fp16": self.fp16} if self.fp16 else {}), **({"nbits": self.nbits} if self.nbits else {}),
            "clamped_to_fp16": self.clamped_to_fp16,
        }


def rewrite(model: onnx.ModelProto, inits: Initializers, dtype: str, options: QuantizeOptions) -> tuple[dict | None, dict | None]:
    """The graph changes of a dtype: fp16 (fp16, q4f16, q2f16), then int4 weights (q4, q4f16, q2, q2f16);
    q2 / q2f16 write the decoder's ternary projections as exact 2-bit weights."""
    dtype = contract.canonical_dtype(dtype)
    if dtype == "fp32":
        raise UserError("fp32 is what the quantizer reads; pick fp16, q4, q4f16, q2 or q2f16")
    fp16_report = nbits_report = None
    if dtype in contract.HALF_PRECISION_DTYPES:
        fp16_report = fp16.convert(model, inits).as_dict()
    if dtype in contract.INT4_DTYPES:
        nbits_report = nbits.quantize(model, inits, nbits.BlockOptions(
            options.block_size, options.accuracy_level, ternary_projections=dtype in contract.TERNARY_DTYPES)).as_dict()
    return fp16_report, nbits_report


def _tensor_proto(spec: OutputSpec) -> TensorProto:
    tensor = TensorProto(name=spec.name, data_type=spec.elem_type, dims=list(spec.dims))
    for key, value in spec.metadata:
        entry = tensor.metadata_props.add()
        entry.key, entry.value = key, value
    return tensor


def write_weights(model: onnx.ModelProto, inits: Initializers, out_path: Path, options: QuantizeOptions, meter: Meter) -> tuple[DataChunks, int]:
    """Runs every transform into the data chunks beside `out_path`; sets the graph's initializers."""
    chunks = DataChunks(out_path.parent, out_path.name, options.max_chunk_bytes)
    tensors: list[TensorProto] = []
    clamped = 0
    ring = BufferRing(options.slab_bytes, count=2)
    try:
        with SlabReader() as reader:
            context = Context(reader, ring, meter.slab)
            for transform in inits.transforms():
                tensors += run_transform(transform, context, chunks)
                clamped += transform.clamped
                meter.tensor_done()
    except BaseException:
        chunks.abandon()
        raise
    chunks.close()
    del model.graph.initializer[:]
    model.graph.initializer.extend(tensors)
    return chunks, clamped


def run_transform(transform: Transform, context: Context, chunks: DataChunks) -> list[TensorProto]:
    """One transform's outputs: large ones streamed into reserved regions, small ones kept in the graph."""
    sinks: list[Sink] = []
    places: list[Region | bytearray] = []
    for spec in transform.outputs:
        if spec.nbytes <= INLINE_LIMIT_BYTES:
            buffer = bytearray()
            places.append(buffer)
            sinks.append(lambda array, b=buffer: b.extend(memoryview(np.ascontiguousarray(array)).cast("B")))
        else:
            region = chunks.reserve(spec.nbytes, spec.name)
            places.append(region)
            sinks.append(region.write)
    transform.run(context, sinks)
    tensors = []
    for spec, place in zip(transform.outputs, places):
        tensor = _tensor_proto(spec)
        if isinstance(place, Region):
            place.check_complete(spec.name)
            mark_external(tensor, place)
        else:
            if len(place) != spec.nbytes:
                raise RuntimeError(f"initializer {spec.name}: {len(place)} of {spec.nbytes} bytes were produced")
            tensor.raw_data = bytes(place)
        tensors.append(tensor)
    return tensors


def convert_graph(in_path: str | os.PathLike, out_path: str | os.PathLike, dtype: str, options: QuantizeOptions = QuantizeOptions(), meter: Meter | None = None) -> GraphResult:
    """Reads `in_path` (fp32, external data beside it) and writes its `dtype` variant to `out_path`."""
    in_path, out_path = Path(in_path), Path(out_path)
    meter = meter or Meter()
    model, sources = load_graph(in_path)
    inits = Initializers(sources)
    matmul_weights = nbits.constant_weight_matmuls(model, inits)
    fp16_report, nbits_report = rewrite(model, inits, dtype, options)
    chunks, clamped = write_weights(model, inits, out_path, options, meter)
    if model.ir_version > contract.MAX_IR_VERSION:
        model.ir_version = contract.MAX_IR_VERSION
    out_path.write_bytes(model.SerializeToString())
    check_written(out_path, chunks)
    oversized = [f"{t.name} ({_nbytes(t) / 2**30:.2f} GiB)" for t in model.graph.initializer if _nbytes(t) > ONE_GIB]
    if oversized:  # every variant written here is a browser variant: a tensor must fit one GPU buffer
        raise UserError(
            f"the {dtype} {in_path.stem} would hold {', '.join(oversized)}, more than one GPU buffer on many WebGPU "
            "adapters (1 GiB): browsers cannot load it. For a model this size use q4 or q4f16 (int4 weights)."
        )
    warnings = []
    if clamped:
        warnings.append(f"{clamped} float values beyond the fp16 range (e.g. a -3.4e38 mask fill) were clamped to +-65504")
    return GraphResult(
        file=out_path.name, data_files=list(chunks.files), weight_bytes=chunks.total_bytes, bytes_read=meter.bytes_read,
        ir_version=model.ir_version, opset={o.domain or "ai.onnx": o.version for o in model.opset_import},
        op_counts=dict(sorted(nbits.op_counts(model).items())), initializers=len(model.graph.initializer),
        graph_bytes=out_path.stat().st_size, matmul_weights=matmul_weights, fp16=fp16_report, nbits=nbits_report, clamped_to_fp16=clamped, warnings=warnings,
    )


def _nbytes(tensor: TensorProto) -> int:
    for entry in tensor.external_data:
        if entry.key == "length":
            return int(entry.value)
    return len(tensor.raw_data)


# onnxruntime's own ops that it registers in the ONNX domain (the exporter's fusions emit them there);
# onnx.checker knows no schema for them, so they are checked as the custom ops they are.
ORT_OPS_IN_ONNX_DOMAIN = frozenset({"SimplifiedLayerNormalization"})


def check_written(path: Path, chunks: DataChunks) -> None:
    """The chunk sizes, then onnx.checker on the written graph."""
    chunks.check_sizes()
    check_graph(path)


def check_graph(path: str | os.PathLike) -> None:
    """onnx.checker on a graph file, external data references included (RuntimeError when it fails)."""
    path = Path(path)
    model = onnx.load(str(path), load_external_data=False)
    ort_ops = [n for n in model.graph.node if n.domain in ("", "ai.onnx") and n.op_type in ORT_OPS_IN_ONNX_DOMAIN]
    checked = path
    if ort_ops:
        for node in ort_ops:
            node.domain = "com.microsoft"
        nbits.ensure_opset(model, "com.microsoft", 1)
        checked = path.parent / f".{path.stem}.checker.onnx"  # beside the graph: data locations resolve the same
        checked.write_bytes(model.SerializeToString())
    try:
        onnx.checker.check_model(str(checked))
    except onnx.checker.ValidationError as error:
        raise RuntimeError(f"the written graph {path.name} fails onnx.checker: {error}") from None
    finally:
        if checked != path:
            checked.unlink()
