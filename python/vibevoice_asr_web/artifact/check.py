"""One check of an artifact folder, used by export, quantize, the release gates and the tests.

  contract  each graph's inputs and outputs are contract.graph_specs (names, order, element types,
            `batch_size` and the static dims); ir_version <= MAX_IR_VERSION (onnxruntime-node 1.30)
  buffers   browser dtypes (fp16 / q4 / q4f16): no initializer over one GPU buffer (1 GiB); fp32 is
            reported, not held to it (it is the onnxruntime reference)
  chunks    every .onnx_data chunk <= 2 GB (fp32 exempt), named X.onnx_data, X.onnx_data_1, ...,
            every chunk a graph points at present, and config.json announcing that many

The graphs are read without their weights (the .onnx files are small); the files themselves are
checked against the manifest by manifest.verify, which `check` runs first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.errors import UserError

ASPECTS = ("contract", "buffers", "chunks")
ELEMENT_TYPES = {"float32": 1, "float16": 10, "int64": 7}  # onnx.TensorProto's codes


@dataclass
class Finding:
    """What one aspect of one dtype's graphs looks like: problems (none when it holds) and a summary."""

    aspect: str
    dtype: str
    problems: list[str] = field(default_factory=list)
    summary: str = ""

    @property
    def holds(self) -> bool:
        return not self.problems


def human_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


class Graphs:
    """Each graph of each dtype in a folder, read once, without its weights."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._loaded: dict[tuple[str, str], object] = {}

    def get(self, dtype: str, graph: str):
        import onnx

        key = (dtype, graph)
        if key not in self._loaded:
            self._loaded[key] = onnx.load(str(self.folder / contract.graph_path(graph, dtype)), load_external_data=False)
        return self._loaded[key]


def _dims(value_info) -> list:
    return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else "?") for d in value_info.type.tensor_type.shape.dim]


def _compare_values(kind: str, found, specs, dtype: str) -> list[str]:
    names = [v.name for v in found]
    wanted = [s.name for s in specs]
    if names != wanted:
        missing = [n for n in wanted if n not in names]
        extra = [n for n in names if n not in wanted]
        if missing or extra:
            return [f"{kind} differ: missing {missing[:3]}{'...' if len(missing) > 3 else ''}, unexpected {extra[:3]}{'...' if len(extra) > 3 else ''}"]
        return [f"{kind} are in another order than the contract's"]
    problems = []
    for value, spec in zip(found, specs):
        elem = value.type.tensor_type.elem_type
        if elem != ELEMENT_TYPES[spec.element_type(dtype)]:
            problems.append(f"{value.name} has element type {elem}, expected {spec.element_type(dtype)}")
        dims = _dims(value)
        if len(dims) != len(spec.shape):
            problems.append(f"{value.name} has rank {len(dims)}, expected {len(spec.shape)}")
            continue
        for got, want in zip(dims, spec.shape):
            if want == "batch_size" and got != "batch_size":
                problems.append(f"{value.name}: the batch dim is {got!r}, Transformers.js resolves only 'batch_size'")
            elif isinstance(want, int) and got != want:
                problems.append(f"{value.name}: dim {got!r}, expected the static {want}")
            elif isinstance(want, str) and not isinstance(got, str):
                problems.append(f"{value.name}: dim {got!r} is static, expected the symbolic {want!r}")
    return problems


def check_contract(folder: Path, dtype: str, graphs: Graphs) -> Finding:
    dims = contract.ModelDims.from_config(contract.read_json_object(Path(folder) / contract.CONFIG))
    specs = contract.graph_specs(dims)
    found = Finding("contract", dtype)
    values = 0
    for name, spec in specs.items():
        model = graphs.get(dtype, name)
        if model.ir_version > contract.MAX_IR_VERSION:
            found.problems.append(f"{name}: ir_version {model.ir_version} > {contract.MAX_IR_VERSION} (onnxruntime-node 1.30 rejects it)")
        found.problems += [f"{name}: {p}" for p in _compare_values("inputs", list(model.graph.input), spec.inputs, dtype)]
        found.problems += [f"{name}: {p}" for p in _compare_values("outputs", list(model.graph.output), spec.outputs, dtype)]
        values += len(spec.inputs) + len(spec.outputs)
    found.summary = f"3 graphs, {values} inputs/outputs as contract.graph_specs; ir_version <= {contract.MAX_IR_VERSION}"
    return found


def initializer_bytes(tensor) -> int:
    import numpy as np
    from onnx import helper

    for entry in tensor.external_data:
        if entry.key == "length":
            return int(entry.value)
    if tensor.raw_data:
        return len(tensor.raw_data)
    count = int(np.prod(tensor.dims)) if tensor.dims else 1
    return count * np.dtype(helper.tensor_dtype_to_np_dtype(tensor.data_type)).itemsize


def largest_initializer(graphs: Graphs, dtype: str) -> tuple[int, str]:
    largest = (0, "")
    for graph in contract.GRAPH_NAMES:
        for tensor in graphs.get(dtype, graph).graph.initializer:
            size = initializer_bytes(tensor)
            if size > largest[0]:
                largest = (size, f"{graph}:{tensor.name}")
    return largest


def check_buffers(dtype: str, graphs: Graphs) -> Finding:
    size, name = largest_initializer(graphs, dtype)
    fits = size <= contract.GPU_BUFFER_BYTES
    detail = f"largest tensor {name} is {human_bytes(size)}"
    if dtype not in contract.BROWSER_DTYPES:
        note = "fits one 1 GiB GPU buffer" if fits else "over 1 GiB: runs only on adapters with larger buffers (fp32 is the reference, not gated)"
        return Finding("buffers", dtype, [], f"{detail}, {note}")
    if fits:
        return Finding("buffers", dtype, [], f"{detail} <= 1 GiB (one WebGPU buffer)")
    return Finding("buffers", dtype, [f"{detail} > 1 GiB: it cannot be uploaded to one WebGPU buffer; quantize it (q4) or split it"])


def check_chunks(folder: Path, dtype: str, graphs: Graphs) -> Finding:
    folder = Path(folder)
    config = contract.read_json_object(folder / contract.CONFIG)
    announced = config.get("transformers.js_config", {}).get("use_external_data_format", {})
    onnx_dir = folder / contract.ONNX_DIR
    found = Finding("chunks", dtype)
    count, largest = 0, 0
    for graph in contract.GRAPH_NAMES:
        onnx_name = contract.onnx_file_name(graph, dtype)
        chunks = []
        while (onnx_dir / contract.chunk_file_name(onnx_name, len(chunks))).is_file():
            chunks.append(contract.chunk_file_name(onnx_name, len(chunks)))
        strays = sorted(p.name for p in onnx_dir.glob(f"{onnx_name}_data*") if p.name not in chunks)
        if strays:
            found.problems.append(f"{', '.join(strays)}: not in the X.onnx_data, X.onnx_data_1, ... sequence Transformers.js fetches")
        locations = {e.value for t in graphs.get(dtype, graph).graph.initializer for e in t.external_data if e.key == "location"}
        if locations - set(chunks):
            found.problems.append(f"{onnx_name} points at {sorted(locations - set(chunks))}, not present")
        want = announced.get(onnx_name, announced.get(graph, 0))
        want = 1 if want is True else (0 if want is False else int(want))
        if want != len(chunks):
            found.problems.append(f"config.json announces {want} data chunk(s) for {onnx_name}, the folder holds {len(chunks)}")
        for chunk in chunks:
            size = (onnx_dir / chunk).stat().st_size
            largest = max(largest, size)
            if size > contract.MAX_CHUNK_BYTES and dtype != "fp32":
                found.problems.append(f"{chunk} is {human_bytes(size)} > 2 GB")
        count += len(chunks)
    limit = "fp32 is exempt from the 2 GB limit" if dtype == "fp32" else "each <= 2 GB"
    found.summary = f"{count} data chunk(s), largest {human_bytes(largest)}, {limit}; config.json announces them all"
    return found


def check_graphs(folder: Path, dtype: str, graphs: Graphs | None = None) -> list[Finding]:
    """contract, buffers and chunks of one dtype's graphs; an unreadable graph is a contract problem."""
    graphs = graphs or Graphs(folder)
    try:
        for graph in contract.GRAPH_NAMES:
            graphs.get(dtype, graph)
    except Exception as error:  # onnx raises DecodeError and friends for a damaged protobuf
        return [Finding("contract", dtype, [f"onnx cannot read its graphs ({type(error).__name__}: {error}); rebuild it"])]
    return [check_contract(folder, dtype, graphs), check_buffers(dtype, graphs), check_chunks(folder, dtype, graphs)]


def dtypes_of(folder: Path) -> list[str]:
    """The dtypes the manifest says the folder holds (export and quantize write them)."""
    dtypes = manifest.read(folder).get("dtypes")
    if not isinstance(dtypes, list) or not dtypes:
        raise UserError(f"{Path(folder) / manifest.MANIFEST} names no dtypes: export or quantize the folder again")
    return [contract.canonical_dtype(d) for d in dtypes]


def check(folder: str | Path, dtypes: list[str] | None = None, verify: bool = True,
          progress: Callable[[int, int], None] | None = None) -> None:
    """The folder is what its manifest says (with `verify`) and every dtype's graphs hold to the
    contract, the buffer and the chunk limits; else one UserError naming every problem."""
    folder = Path(folder)
    if verify:
        manifest.verify(folder, progress=progress)
    problems = [
        f"{f.dtype} {f.aspect}: {p}"
        for dtype in (dtypes or dtypes_of(folder)) for f in check_graphs(folder, dtype) for p in f.problems
    ]
    if problems:
        raise UserError(f"{folder} does not hold to the artifact contract: " + "; ".join(problems) + ". Export or quantize it again")
