"""`vibevoice-asr-web export`: checkpoint -> validated artifact folder."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from vibevoice_asr_web import atomic, checkpoint_source
from vibevoice_asr_web.artifact import check, contract, manifest
from vibevoice_asr_web.checkpoint_layout import read_config
from vibevoice_asr_web.checkpoint_model import load_model, model_fits_in_memory
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress


def meta_model(config: dict):
    """The model's module tree with no weights: exporting it costs the same at 4 M or 8.7 B parameters."""
    import torch
    from transformers import VibeVoiceAsrConfig, VibeVoiceAsrForConditionalGeneration

    with torch.device("meta"):
        return VibeVoiceAsrForConditionalGeneration(VibeVoiceAsrConfig.from_dict(config)).eval()


def traced_graphs(checkpoint: Path, config: dict, progress: Progress):
    """Each graph traced on the meta device, its weights pointed at the safetensors files by name."""
    import torch

    from vibevoice_asr_web.checkpoint_weights import SafetensorsCheckpoint
    from vibevoice_asr_web.export import graphs, onnx_export
    from vibevoice_asr_web.export.weights import attach_checkpoint_weights

    dims = contract.ModelDims.from_config(config)
    weights = SafetensorsCheckpoint(checkpoint)
    model = meta_model(config)
    specs = contract.graph_specs(dims)
    for graph in contract.GRAPH_NAMES:
        progress.note(f"exporting {graph}")
        with torch.device("meta"):
            wrapper, example = graphs.wrapper_and_inputs(graph, model, dims)
        exported = onnx_export.export(wrapper, example, specs[graph], static_batch=graph in graphs.STATIC_BATCH_GRAPHS)
        attach_checkpoint_weights(exported, weights, config)
        if graph == contract.DECODER:
            onnx_export.fuse_group_query_attention(exported, specs[graph])
        yield graph, exported


def export_fp32_graphs(checkpoint: Path, config: dict, onnx_dir: Path, progress: Progress) -> dict[str, dict]:
    """Writes each graph with its weights streamed from the safetensors files into the data chunks."""
    from vibevoice_asr_web.export.artifact import graph_summary
    from vibevoice_asr_web.export.write import save_graph

    onnx_dir.mkdir(parents=True, exist_ok=True)
    summaries = {}
    for graph, exported in traced_graphs(checkpoint, config, progress):
        started = time.perf_counter()
        onnx_file = contract.onnx_file_name(graph, "fp32")
        chunks = save_graph(exported, onnx_dir / onnx_file, progress=progress.bytes_callback(f"writing {graph}"), allow_oversize=True)
        summaries[graph] = graph_summary(exported, onnx_file, chunks)
        progress.note(
            f"{graph}: {summaries[graph]['nodes']} nodes, {chunks.tensor_bytes / 1e6:.1f} MB of weights in "
            f"{len(chunks.files)} chunk(s), written in {time.perf_counter() - started:.1f} s"
        )
    return summaries


def write_checkpoint_views(checkpoint: Path, config: dict, folder: Path, progress: Progress) -> None:
    """An fp32 artifact folder whose graphs read their weights in place from the checkpoint.

    Each parameter is an external tensor pointing into a safetensors shard (linked beside the
    graphs) and says how it is stored there (bf16, [out, in]); the quantizer converts on the way.
    Nothing is written for the weights: this is how q4/q4f16 come straight from a bf16 checkpoint.
    Only the quantizer reads these graphs.
    """
    import onnx_ir as ir

    from vibevoice_asr_web.export.artifact import write_metadata
    from vibevoice_asr_web.export.weights import CheckpointTensor

    onnx_dir = folder / "onnx"
    onnx_dir.mkdir(parents=True)
    shards: set[Path] = set()
    for graph, exported in traced_graphs(checkpoint, config, progress):
        for value in exported.graph.initializers.values():
            tensor = value.const_value
            if not isinstance(tensor, CheckpointTensor):
                continue
            source = tensor.source  # read in place: the view names the shard, its span and how it is stored
            shards.add(source.file)
            metadata = {"checkpoint_dtype": source.checkpoint_dtype, "checkpoint_layout": "transposed" if tensor.transposed else "as-is"}
            value.const_value = ir.ExternalTensor(
                source.file.name, source.offset, source.length, ir.DataType.FLOAT, shape=tensor.shape, name=value.name,
                metadata_props=metadata, base_dir=onnx_dir,
            )
        ir.save(exported, onnx_dir / contract.onnx_file_name(graph, "fp32"))
    write_metadata(checkpoint, config, folder, {}, ["fp32"])
    manifest.write(folder, source={"kind": "checkpoint-view"}, dtypes=["fp32"], graphs={}, parity={})
    for shard in shards:  # after the manifest: the shards are read in place, never copied or hashed
        (onnx_dir / shard.name).symlink_to(shard.resolve())


def _inputs(checkpoint: str | Path, audio: list[str] | None) -> list[tuple[str, str | Path]]:
    local = [("checkpoint", checkpoint)] if Path(checkpoint).exists() else []  # a Hub id is checked once resolved
    return local + [("audio file", a) for a in audio or []]


def export_artifacts(
    checkpoint: str,
    output_dir: str | os.PathLike,
    dtype: str = "fp32",
    revision: str | None = None,
    overwrite: bool = False,
    validate: bool = True,
    audio: list[str] | None = None,
    progress: Progress | None = None,
) -> Path:
    """The checkpoint (a folder or Hub id) as an artifact folder of the given dtype(s), written atomically."""
    from vibevoice_asr_web.quantize.folder import parse_dtypes, raise_if_failed

    progress = progress or Progress()
    wanted = [contract.canonical_dtype(d.strip()) for d in dtype.split(",") if d.strip()]
    variants = [] if wanted == ["fp32"] else parse_dtypes(dtype)
    output = Path(output_dir).absolute()
    atomic.check_apart(output, _inputs(checkpoint, audio))
    atomic.check_output_dir(output, overwrite)
    from vibevoice_asr_web.export.artifact import check_metadata_files

    source = checkpoint_source.resolve(checkpoint, revision)
    config = read_config(source.path)
    check_metadata_files(source.path)
    progress.note(f"exporting {source.name} ({source.revision})")
    failures = {}
    with atomic.atomic_directory(output, overwrite=overwrite, inputs=_inputs(source.path, audio)) as partial:
        if variants:
            failures = write_variants_from_checkpoint(source, config, partial, variants, validate, audio, progress)
        else:
            failures = write_fp32(source, config, partial, validate, audio, progress)
    progress.note(f"wrote {output}")
    raise_if_failed(output, failures)
    return output


def write_fp32(source, config: dict, folder: Path, validate: bool, audio, progress: Progress) -> dict[str, list[str]]:
    """fp32 graphs, metadata, PyTorch parity and manifest into `folder`; returns the parity failures, if any."""
    from vibevoice_asr_web.export.artifact import write_metadata

    graphs = export_fp32_graphs(source.path, config, folder / "onnx", progress)
    write_metadata(source.path, config, folder, graphs, ["fp32"])
    parity, failures = {}, {}
    if validate and not model_fits_in_memory(source.path):
        progress.note("skipping the PyTorch comparison: the model does not fit in memory here in fp32")
        parity = {"fp32": {"skipped": "the model does not fit in memory in fp32 on the exporting machine"}}
    elif validate:
        from vibevoice_asr_web.parity import fp32_vs_pytorch

        model = load_model(source.path)
        report = fp32_vs_pytorch.against_pytorch(folder, model, source.path, audio_files=audio, progress=progress)
        progress.note("\n" + report.table())
        parity = {"fp32": report.as_dict()}
        if not report.passed:
            failures = {"fp32": ["the exported graphs do not match PyTorch (see the table above)"]}
    status = "failed" if failures else ("passed" if parity and "skipped" not in parity["fp32"] else "not checked")
    manifest.write(folder, source=source.describe(), dtypes=["fp32"], graphs={"fp32": graphs}, parity=parity, parity_status=status)
    check.check(folder, ["fp32"], verify=False)  # what the browser and the release gates will hold it to
    return failures


def write_variants_from_checkpoint(source, config: dict, folder: Path, variants: list[str], validate: bool, audio, progress: Progress):
    """fp16 / q4 / q4f16: an fp32 folder in scratch space (validated against PyTorch) quantized into `folder`."""
    from vibevoice_asr_web.parity.variant_vs_fp32 import VariantGates
    from vibevoice_asr_web.quantize.folder import write_variants
    from vibevoice_asr_web.quantize.graph import QuantizeOptions

    fp32_dir = atomic.scratch(folder) / "fp32"
    fp32_dir.mkdir()
    if validate and model_fits_in_memory(source.path):
        # Small enough to hold: through a real fp32 folder, compared with PyTorch and then with each variant.
        failures = write_fp32(source, config, fp32_dir, validate, audio, progress)
        if failures:
            raise UserError("the fp32 graphs do not match PyTorch (see the table above), so no variant was made from them")
    else:
        # Straight from the checkpoint: the variants read its (bf16) weights in place; no fp32 model is written.
        write_checkpoint_views(source.path, config, fp32_dir, progress)
        validate = False
        progress.note("the variants come straight from the checkpoint's weights; compare them with `validate --reference-dir` if an fp32 folder exists")
    return write_variants(
        fp32_dir, folder, variants, QuantizeOptions(), validate, audio, VariantGates(), progress, source_description=source.describe(),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--checkpoint", required=True, help="a local checkpoint folder or a Hub repo id (OWNER/NAME)")
    parser.add_argument("--revision", help="Hub revision (branch, tag or commit) to pin")
    parser.add_argument("--output-dir", "--output_dir", required=True, help="artifact folder to write")
    parser.add_argument(
        "--dtype", default="fp32",
        help="fp32 (alias float32), fp16 (float16), q4 (int4) or q4f16; several variants separated by commas "
        "(e.g. q4,q4f16). Variants are made from an fp32 export in scratch space beside the output (removed when done), as `quantize` does",
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    parser.add_argument("--no-validate", dest="validate", action="store_false", help="skip the PyTorch parity check")
    parser.add_argument("--audio", action="append", help="audio file for the greedy-transcription check (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="print errors only")


def run(args: argparse.Namespace) -> int:
    export_artifacts(
        args.checkpoint, args.output_dir, dtype=args.dtype, revision=args.revision, overwrite=args.overwrite,
        validate=args.validate, audio=args.audio, progress=Progress(quiet=args.quiet),
    )
    return 0
