"""An fp32 artifact folder -> a folder of dtype variants: every graph of every variant, the metadata
Transformers.js reads, parity against fp32, and the manifest; built in a temporary sibling and
renamed into place only when complete and checked."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from vibevoice_asr_web import atomic, memory

from vibevoice_asr_web.artifact import check, contract, manifest
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.parity.measures import default_audio
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.parity import variant_vs_fp32
from vibevoice_asr_web.quantize.graph import GraphResult, Meter, QuantizeOptions, convert_graph

ONNX_DIR = contract.ONNX_DIR
PARITY_TABLE = "parity.md"
STATUS_INTERVAL_S = 0.2


def parse_dtypes(values: str | list[str]) -> list[str]:
    """'q4,q4f16' or ['fp16', 'int4'] -> canonical, unique, in the given order (fp32 is the input, not an output)."""
    items = [values] if isinstance(values, str) else list(values)
    dtypes = []
    for item in items:
        for name in (part.strip() for part in item.split(",")):
            if not name:
                continue
            dtype = contract.canonical_dtype(name)
            if dtype == "fp32":
                raise UserError("--dtype fp32: fp32 is what the quantizer reads; expected fp16, q4 (int4), q4f16, q2 or q2f16")
            if dtype not in dtypes:
                dtypes.append(dtype)
    if not dtypes:
        raise UserError("no dtype given: expected --dtype fp16, q4 (int4), q4f16, or several separated by commas")
    return dtypes


def check_input(folder: Path, verify: bool = True, progress: Progress | None = None) -> dict:
    """An fp32 artifact folder whose files all match its manifest: size always, sha256 unless `verify` is off."""
    if not (folder / "config.json").is_file():
        raise UserError(f"{folder} holds no config.json: expected an fp32 artifact folder made by `vibevoice-asr-web export`")
    info = manifest.read(folder)
    missing = [contract.onnx_file_name(g, "fp32") for g in contract.GRAPH_NAMES if not (folder / ONNX_DIR / contract.onnx_file_name(g, "fp32")).is_file()]
    if missing:
        raise UserError(f"{folder}/{ONNX_DIR} lacks {', '.join(missing)}: expected the fp32 graphs (`vibevoice-asr-web export --dtype fp32`)")
    if "config.json" not in info["files"]:
        raise UserError(f"{folder / manifest.MANIFEST} does not list config.json: the folder was changed after export; export it again")
    if verify:
        manifest.verify(folder, progress=progress)
    else:
        for name, entry in info["files"].items():  # sizes are free to check, and catch truncation
            path = folder / name
            if not path.is_file() or path.stat().st_size != entry["bytes"]:
                raise UserError(f"{path} is missing or not the size {folder / manifest.MANIFEST} lists: export the fp32 artifacts again")
    return info


def copy_metadata(source: Path, target: Path) -> None:
    """Everything but the graphs, the manifest and config.json (rewritten for the variants)."""
    for path in sorted(source.iterdir()):
        if path.name in (ONNX_DIR, manifest.MANIFEST, "config.json", PARITY_TABLE):
            continue
        if path.is_dir():
            shutil.copytree(path, target / path.name)
        else:
            shutil.copyfile(path, target / path.name)


def write_config(source: Path, target: Path, dtypes: list[str], results: dict[str, dict[str, GraphResult]]) -> None:
    config = json.loads((source / "config.json").read_text())
    chunks = {r.file: len(r.data_files) for by_graph in results.values() for r in by_graph.values() if r.data_files}
    config["transformers.js_config"] = contract.transformers_js_config(dtypes, chunks)
    (target / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


class StatusLine:
    """'q4 decoder_model_merged: 12 tensors, 1.23/4.56 GB read, 0.90 GB/s' on a terminal, throttled."""

    def __init__(self, progress: Progress, total_bytes: int):
        self.progress = progress
        self.total = total_bytes
        self.started = time.perf_counter()
        self.last = 0.0
        self.label = ""
        self.meter = Meter(self.show)

    def show(self, meter: Meter, force: bool = False) -> None:
        now = time.perf_counter()
        if not force and now - self.last < STATUS_INTERVAL_S:
            return
        self.last = now
        rate = meter.bytes_read / max(now - self.started, 1e-9)
        self.progress.status(
            f"{self.label}: {meter.tensors} tensors, {meter.bytes_read / 1e9:.2f}/{self.total / 1e9:.2f} GB read, {rate / 1e9:.2f} GB/s"
        )


class GateFailed(UserError):
    """A variant missed its parity gate. The folder was still written, its manifest marked `parity: failed`."""


def quantize_folder(
    input_dir: str | os.PathLike,
    output_dir: str | os.PathLike,
    dtypes: str | list[str],
    options: QuantizeOptions = QuantizeOptions(),
    overwrite: bool = False,
    validate: bool = True,
    audio: list[str] | None = None,
    thresholds: variant_vs_fp32.VariantGates = variant_vs_fp32.VariantGates(),
    progress: Progress | None = None,
    verify: bool = True,
) -> Path:
    """Writes the variants of an fp32 folder to `output_dir`, atomically; see `write_variants`."""
    progress = progress or Progress()
    source, output_dir = Path(input_dir).absolute(), Path(output_dir).absolute()
    dtypes = parse_dtypes(dtypes)
    inputs = [("fp32 input folder", source), *(("audio file", a) for a in audio or [])]
    info = check_request(source, output_dir, inputs, overwrite, verify, progress)
    # recorded relative to the output folder: the same wherever (and in whichever sandbox) it is built
    reference = os.path.relpath(source, output_dir)
    with atomic.atomic_directory(output_dir, overwrite=overwrite, inputs=inputs) as partial:
        failures = write_variants(
            source, partial, dtypes, options, validate, audio, thresholds, progress,
            source_description=info.get("source", {}), reference=reference,
        )
    progress.note(f"wrote {output_dir}")
    raise_if_failed(output_dir, failures)
    return output_dir


def check_request(source: Path, output_dir: Path, inputs: list, overwrite: bool, verify: bool, progress: Progress) -> dict:
    """Before any work: the output is apart from the inputs and free, the input a whole fp32 folder; its manifest."""
    atomic.check_apart(output_dir, inputs)
    atomic.check_output_dir(output_dir, overwrite)
    return check_input(source, verify, progress)


def raise_if_failed(output_dir: Path, failures: dict[str, list[str]]) -> None:
    if failures:
        detail = "; ".join(f"{dtype}: {', '.join(f)}" for dtype, f in failures.items())
        raise GateFailed(
            f"{output_dir} was written, but the variants are further from fp32 than allowed ({detail}); its manifest says "
            "parity: failed, and publish refuses it. Loosen the gate with --min-fp16-cosine / --min-top1 if this model needs it"
        )


def write_variants(
    source: Path,
    target: Path,
    dtypes: list[str],
    options: QuantizeOptions,
    validate: bool,
    audio: list[str] | None,
    thresholds: variant_vs_fp32.VariantGates,
    progress: Progress,
    source_description: dict,
    reference: str | None = None,
) -> dict[str, list[str]]:
    """Every graph of every variant, metadata, parity and manifest into the empty folder `target`.

    Returns each failed variant's gate failures (empty when all passed): a failed gate keeps the work."""
    copy_metadata(source, target)
    results = {dtype: convert_variant(source, target, dtype, options, progress) for dtype in dtypes}
    write_config(source, target, dtypes, results)
    graphs = {dtype: {graph: r.summary(ONNX_DIR) for graph, r in by_graph.items()} for dtype, by_graph in results.items()}
    parity = compare_variants(source, target, dtypes, validate, audio, thresholds, progress)
    for entry in parity.values():  # relative, or no path at all: a manifest holds no local paths
        if "reference_dir" in entry:
            entry["reference_dir"] = reference or "the fp32 export of the source checkpoint (scratch, not kept)"
    failures = {dtype: entry["failures"] for dtype, entry in parity.items() if entry.get("passed") is False}
    table = variant_vs_fp32.markdown_table(graphs, parity)
    (target / PARITY_TABLE).write_text(table)
    manifest.write(target, **manifest_sections(source, dtypes, graphs, parity, failures, options, validate, source_description, reference))
    check_output(target, dtypes)
    if validate:
        progress.note("\n" + table)
    return failures


def manifest_sections(source, dtypes, graphs, parity, failures, options: QuantizeOptions, validate: bool, source_description: dict, reference: str | None) -> dict:
    """What the variants' manifest records besides the files: source, graphs, settings, parity."""
    sections = {
        "source": source_description,
        "dtypes": dtypes,
        "graphs": graphs,
        "quantization": {
            "block_size": options.block_size, "bits": 4, "symmetric": True, "accuracy_level": options.accuracy_level,
            "int4_kernel": "onnxruntime quantize_matmul_4bits", "slab_bytes": options.slab_bytes,
        },
        "parity": parity,
        "parity_status": "failed" if failures else ("passed" if validate and parity else "not checked"),
    }
    if reference:
        sections["quantized_from"] = {"path": reference, "manifest_sha256": manifest.sha256_file(source / manifest.MANIFEST)}
    return sections


def convert_variant(source: Path, target: Path, dtype: str, options: QuantizeOptions, progress: Progress) -> dict[str, GraphResult]:
    """One variant's three graphs, with progress per tensor and a line per graph."""
    (target / ONNX_DIR).mkdir(exist_ok=True)
    fp32_data = sum(p.stat().st_size for p in (source / ONNX_DIR).glob("*.onnx_data*"))
    status = StatusLine(progress, fp32_data)
    results = {}
    for graph in contract.GRAPH_NAMES:
        started = time.perf_counter()
        status.label = f"{dtype} {graph}"
        result = convert_graph(
            source / ONNX_DIR / contract.onnx_file_name(graph, "fp32"),
            target / ONNX_DIR / contract.onnx_file_name(graph, dtype), dtype, options, status.meter,
        )
        status.show(status.meter, force=True)
        progress.done()
        results[graph] = result
        nb = result.nbits or {}
        quantized = f", {nb.get('matmuls_quantized', 0)}/{result.matmul_weights} MatMul weights int4" if result.nbits else ""
        progress.note(
            f"{dtype} {graph}: {result.nodes} nodes{quantized}, {(result.weight_bytes + result.graph_bytes) / 1e6:.1f} MB "
            f"in {len(result.data_files)} chunk(s), {time.perf_counter() - started:.1f} s"
        )
        for warning in result.warnings:
            progress.note(f"warning: {dtype} {graph}: {warning}")
    return results


def compare_variants(source, target, dtypes, validate, audio, thresholds, progress) -> dict[str, dict]:
    """Each variant against fp32 (cosine, top-1 agreement, tokens); a 'skipped' reason where it can't run."""
    if not validate:
        return {}
    if not _fits_in_memory(source, target, dtypes):
        reason = "the fp32 graphs and a variant do not fit in memory together on the quantizing machine"
        progress.note(f"skipping the comparison with fp32: {reason}")
        return {dtype: {"skipped": reason} for dtype in dtypes}
    audio_files = [Path(a) for a in audio] if audio else default_audio()
    prompt_list = variant_vs_fp32.prompts(source, audio_files)
    parity = {}
    for dtype in dtypes:
        report = variant_vs_fp32.compare_variant(target, dtype, source, audio_files, thresholds, progress, prompt_list=prompt_list)
        progress.note("\n" + report.table())
        parity[dtype] = report.as_dict()
    return parity


def _fits_in_memory(source: Path, partial: Path, dtypes: list[str]) -> bool:
    """Whether onnxruntime can hold the fp32 graphs and the largest variant at once, with room to spare."""
    fp32 = sum(p.stat().st_size for p in (source / ONNX_DIR).iterdir())
    variant = max(
        sum(p.stat().st_size for g in contract.GRAPH_NAMES for p in (partial / ONNX_DIR).glob(contract.onnx_file_name(g, d) + "*"))
        for d in dtypes
    )
    return memory.fits_in_memory(2 * (fp32 + 2 * variant))  # fp16 graphs run upcast on the CPU


def check_output(folder: Path, dtypes: list[str]) -> None:
    """Before the swap: every file has its manifest size, every variant's graphs hold to the contract and limits."""
    for name, entry in manifest.read(folder)["files"].items():
        if (folder / name).stat().st_size != entry["bytes"]:
            raise RuntimeError(f"{name} changed size after the manifest was written")
    check.check(folder, dtypes, verify=False)
