"""What a release must pass before anything is uploaded, one row per gate and variant.

  files     every file the manifest lists has its size and sha256; nothing unlisted would be uploaded
  contract  each graph's inputs and outputs are contract.graph_specs (names, order, element types,
            `batch_size` and the static dims); ir_version <= 10 (onnxruntime-node 1.30)
  buffers   fp16 / q4 / q4f16 (browser variants): no initializer over 1 GiB, the WebGPU buffer
            limit of many adapters; fp32 is reported, not gated (it is the reference)
  chunks    every .onnx_data chunk <= 2 GB (fp32 exempt), named X.onnx_data, X.onnx_data_1, ...,
            every chunk the graph points at present, and config.json announcing that many chunks
  parity    parity_gate.py: fp32 vs PyTorch, the others vs fp32, at the thresholds below
  browser   browser.py: //e2e:webgpu on the release folder

A row is pass, FAIL or skip (with the reason); any FAIL refuses the release.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from vibevoice_asr_web.artifact import contract

from vibevoice_asr_web.artifact import manifest
from vibevoice_asr_web.parity import thresholds
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.release.stage import README, variant_of

PASS, FAIL, SKIP = "pass", "FAIL", "skip"
MAX_BUFFER_BYTES = contract.GPU_BUFFER_BYTES
MAX_CHUNK_BYTES = contract.MAX_CHUNK_BYTES
MAX_IR_VERSION = contract.MAX_IR_VERSION
BROWSER_VARIANTS = ("fp16", "q4", "q4f16")
SHARED = "shared"
ALL = "all"


@dataclass(frozen=True)
class ReleaseThresholds:
    fp32_min_cosine: float = thresholds.FP32_MIN_COSINE  # vs PyTorch, every graph and case; greedy tokens must also be equal
    fp16_min_cosine: float = thresholds.FP16_MIN_COSINE  # vs fp32, every graph and case (as `quantize`)
    min_top1: float = thresholds.MIN_TOP1  # q4 / q4f16: teacher-forced top-1 agreement with fp32 (as `quantize`)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Gate:
    gate: str
    variant: str
    result: str  # PASS, FAIL or SKIP
    detail: str
    cached: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Gate":
        return cls(**{k: data[k] for k in ("gate", "variant", "result", "detail")}, cached=True)


@dataclass
class GateTable:
    rows: list[Gate] = field(default_factory=list)

    def add(self, rows: list[Gate]) -> None:
        self.rows.extend(rows)

    @property
    def failures(self) -> list[Gate]:
        return [r for r in self.rows if r.result == FAIL]

    @property
    def passed(self) -> bool:
        return not self.failures

    def of(self, gate: str, variant: str) -> Gate | None:
        return next((r for r in self.rows if r.gate == gate and r.variant == variant), None)

    def format(self) -> str:
        width = {"gate": 8, "variant": 7, "result": 6}
        lines = [f"{'gate':<{width['gate']}}  {'variant':<{width['variant']}}  {'result':<{width['result']}}  detail"]
        lines.append("-" * 100)
        for r in self.rows:
            detail = r.detail + (" (from an earlier run on the same files)" if r.cached else "")
            lines.append(f"{r.gate:<{width['gate']}}  {r.variant:<{width['variant']}}  {r.result:<{width['result']}}  {detail}")
        return "\n".join(lines)


def human_bytes(n: float) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{int(n)} B"


# -- files ----------------------------------------------------------------------------------------

def check_files(folder: Path, dtypes: list[str], progress: Progress | None = None) -> list[Gate]:
    """sha256 and size of every listed file, per variant (graph files) and shared (the rest)."""
    progress = progress or Progress(quiet=True)
    info = manifest.read(folder)
    listed = {name: entry for name, entry in info["files"].items() if name != README}  # the card is written after the gates
    groups: dict[str, list[str]] = {d: [] for d in [*dtypes, SHARED]}
    problems: dict[str, list[str]] = {d: [] for d in groups}
    for name in listed:
        variant = variant_of(name)
        if variant is not None and variant not in dtypes:
            problems[SHARED].append(f"{name} belongs to {variant}, which is not in this release")
            continue
        groups[variant or SHARED].append(name)
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for name in sorted(on_disk - set(listed) - {manifest.MANIFEST, README}):
        problems[variant_of(name) if variant_of(name) in problems else SHARED].append(f"{name} is not in the manifest (it would be uploaded unverified)")
    total = sum(entry["bytes"] for entry in listed.values())
    hashed = 0
    report = progress.bytes_callback("verifying sha256")
    rows = []
    for group, names in groups.items():
        for name in names:
            entry, path = listed[name], folder / name
            if not path.is_file():
                problems[group].append(f"{name} is missing")
                continue
            size = path.stat().st_size
            if size != entry["bytes"]:
                problems[group].append(f"{name} is {size:,} bytes, the manifest says {entry['bytes']:,}")
                continue

            def advance(n: int) -> None:
                nonlocal hashed
                hashed += n
                report(hashed, total)

            if manifest.sha256_file(path, advance) != entry["sha256"]:
                problems[group].append(f"{name} fails its sha256 check (changed after it was built)")
        if group in dtypes:
            graphs = [f"onnx/{contract.onnx_file_name(g, group)}" for g in contract.GRAPH_NAMES]
            problems[group] += [f"{g} is not in the manifest" for g in graphs if g not in names]
        size = sum(listed[n]["bytes"] for n in names)
        if problems[group]:
            rows.append(Gate("files", group, FAIL, "; ".join(problems[group]) + ": rebuild, or rerun to restage"))
        else:
            rows.append(Gate("files", group, PASS, f"{len(names)} files, {human_bytes(size)}: size and sha256 match the manifest"))
    progress.done()
    return rows


# -- graphs ---------------------------------------------------------------------------------------

class Graphs:
    """Each graph of each variant, read without its weights (the .onnx files are small)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self._loaded: dict[tuple[str, str], object] = {}

    def get(self, dtype: str, graph: str):
        import onnx

        key = (dtype, graph)
        if key not in self._loaded:
            self._loaded[key] = onnx.load(str(self.folder / "onnx" / contract.onnx_file_name(graph, dtype)), load_external_data=False)
        return self._loaded[key]


ELEMENT_TYPES = {"float32": 1, "float16": 10, "int64": 7}


def _dims(value_info) -> list:
    return [d.dim_param if d.HasField("dim_param") else (d.dim_value if d.HasField("dim_value") else "?") for d in value_info.type.tensor_type.shape.dim]


def _compare_values(kind: str, found, specs, dtype: str) -> list[str]:
    problems = []
    names = [v.name for v in found]
    wanted = [s.name for s in specs]
    if names != wanted:
        missing = [n for n in wanted if n not in names]
        extra = [n for n in names if n not in wanted]
        if missing or extra:
            return [f"{kind} differ: missing {missing[:3]}{'...' if len(missing) > 3 else ''}, unexpected {extra[:3]}{'...' if len(extra) > 3 else ''}"]
        return [f"{kind} are in another order than the contract's"]
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


def check_contract(folder: Path, dtypes: list[str], graphs: Graphs) -> list[Gate]:
    import json

    dims = contract.ModelDims.from_config(json.loads((folder / "config.json").read_text()))
    specs = contract.graph_specs(dims)
    rows = []
    for dtype in dtypes:
        problems, values = [], 0
        for name, spec in specs.items():
            model = graphs.get(dtype, name)
            if model.ir_version > MAX_IR_VERSION:
                problems.append(f"{name}: ir_version {model.ir_version} > {MAX_IR_VERSION} (onnxruntime-node 1.30 rejects it)")
            problems += [f"{name}: {p}" for p in _compare_values("inputs", list(model.graph.input), spec.inputs, dtype)]
            problems += [f"{name}: {p}" for p in _compare_values("outputs", list(model.graph.output), spec.outputs, dtype)]
            values += len(spec.inputs) + len(spec.outputs)
        if problems:
            rows.append(Gate("contract", dtype, FAIL, "; ".join(problems[:6]) + (f" (+{len(problems) - 6} more)" if len(problems) > 6 else "")))
        else:
            rows.append(Gate("contract", dtype, PASS, f"3 graphs, {values} inputs/outputs as contract.graph_specs; ir_version <= {MAX_IR_VERSION}"))
    return rows


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


def check_buffers(dtypes: list[str], graphs: Graphs) -> list[Gate]:
    rows = []
    for dtype in dtypes:
        size, name = largest_initializer(graphs, dtype)
        fits = size <= MAX_BUFFER_BYTES
        detail = f"largest tensor {name} is {human_bytes(size)}"
        if dtype not in BROWSER_VARIANTS:
            note = "fits one 1 GiB GPU buffer" if fits else "over 1 GiB: runs only on adapters with larger buffers (fp32 is the reference, not gated)"
            rows.append(Gate("buffers", dtype, PASS, f"{detail}, {note}"))
        elif fits:
            rows.append(Gate("buffers", dtype, PASS, f"{detail} <= 1 GiB (one WebGPU buffer)"))
        else:
            rows.append(Gate("buffers", dtype, FAIL, f"{detail} > 1 GiB: it cannot be uploaded to one WebGPU buffer; quantize it (q4) or split it"))
    return rows


def check_chunks(folder: Path, dtypes: list[str], graphs: Graphs) -> list[Gate]:
    import json

    from vibevoice_asr_web.onnx_io import chunk_file_name

    announced = json.loads((folder / "config.json").read_text()).get("transformers.js_config", {}).get("use_external_data_format", {})
    rows = []
    for dtype in dtypes:
        problems, count, largest = [], 0, 0
        for graph in contract.GRAPH_NAMES:
            onnx_name = contract.onnx_file_name(graph, dtype)
            chunks = []
            while (folder / "onnx" / chunk_file_name(onnx_name, len(chunks))).is_file():
                chunks.append(chunk_file_name(onnx_name, len(chunks)))
            strays = sorted(p.name for p in (folder / "onnx").glob(f"{onnx_name}_data*") if p.name not in chunks)
            if strays:
                problems.append(f"{', '.join(strays)}: not in the X.onnx_data, X.onnx_data_1, ... sequence Transformers.js fetches")
            locations = {e.value for t in graphs.get(dtype, graph).graph.initializer for e in t.external_data if e.key == "location"}
            if locations - set(chunks):
                problems.append(f"{onnx_name} points at {sorted(locations - set(chunks))}, not present")
            want = announced.get(onnx_name, announced.get(graph, 0))
            want = 1 if want is True else (0 if want is False else int(want))
            if want != len(chunks):
                problems.append(f"config.json announces {want} data chunk(s) for {onnx_name}, the folder holds {len(chunks)}")
            for chunk in chunks:
                size = (folder / "onnx" / chunk).stat().st_size
                largest = max(largest, size)
                if size > MAX_CHUNK_BYTES and dtype != "fp32":
                    problems.append(f"{chunk} is {human_bytes(size)} > 2 GB")
            count += len(chunks)
        if problems:
            rows.append(Gate("chunks", dtype, FAIL, "; ".join(problems)))
        else:
            limit = "fp32 is exempt from the 2 GB limit" if dtype == "fp32" else "each <= 2 GB"
            rows.append(Gate("chunks", dtype, PASS, f"{count} data chunk(s), largest {human_bytes(largest)}, {limit}; config.json announces them all"))
    return rows


def structural(folder: Path, dtypes: list[str], progress: Progress) -> list[Gate]:
    """files, then contract / buffers / chunks (these only when the files are intact)."""
    rows = check_files(folder, dtypes, progress)
    intact = {r.variant for r in rows if r.result == PASS}
    if SHARED not in intact:
        return rows + [Gate(g, d, SKIP, "not checked: the files gate failed") for g in ("contract", "buffers", "chunks") for d in dtypes]
    graphs = Graphs(folder)
    ok, later = [], []
    for dtype in dtypes:
        if dtype not in intact:
            later += [Gate(g, dtype, SKIP, "not checked: the files gate failed") for g in ("contract", "buffers", "chunks")]
            continue
        try:
            for graph in contract.GRAPH_NAMES:
                graphs.get(dtype, graph)
        except Exception as error:  # onnx raises DecodeError and friends for a damaged protobuf
            later.append(Gate("contract", dtype, FAIL, f"onnx cannot read its graphs ({type(error).__name__}: {error}); rebuild it"))
            later += [Gate(g, dtype, SKIP, "not checked: the graphs are unreadable") for g in ("buffers", "chunks")]
            continue
        ok.append(dtype)
    return rows + check_contract(folder, ok, graphs) + check_buffers(ok, graphs) + check_chunks(folder, ok, graphs) + later
