"""The release folder: exactly the files one commit will hold, and the manifest that lists them.

Graph files are hard-linked (copied where a link is impossible) from the folders they were built
in, and their manifest entries are taken from those folders' manifests, not recomputed: the sha256
gate then proves that what is about to be uploaded is byte for byte what `export` and `quantize`
wrote. config.json is rewritten so that Transformers.js finds every published variant
(`transformers.js_config.use_external_data_format`); README.md (the model card) is added last.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from vibevoice_asr_web import __version__, contract, manifest
from vibevoice_asr_web.atomic import atomic_directory, write_text_atomic
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.release.build import Built
from vibevoice_asr_web.release.state import State, file_sha256, key_of

README = "README.md"
ONNX_DIR = "onnx"
# Not carried into a release: rewritten here (config, manifest, card) or superseded by the card.
NOT_COPIED = {manifest.MANIFEST, "config.json", README, "parity.md"}
# config.json's default dtype, when the caller names none: the first of these that is published.
DEFAULT_DTYPE_ORDER = ("q4", "q4f16", "fp32", "fp16")


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or a file we may not link (protected_hardlinks)
        shutil.copyfile(source, target)


def merged_config(fp32_dir: Path, graphs: dict[str, dict[str, dict]], dtypes: list[str]) -> dict:
    config = json.loads((fp32_dir / "config.json").read_text())
    default = next(d for d in (*DEFAULT_DTYPE_ORDER, *dtypes) if d in dtypes)
    chunks = {
        Path(summary["file"]).name: len(summary["data_files"])
        for dtype in dtypes for summary in graphs[dtype].values() if summary.get("data_files")
    }
    config["transformers.js_config"] = {
        "dtype": {graph: default for graph in contract.GRAPH_NAMES},
        "use_external_data_format": dict(sorted(chunks.items())),
    }
    return config


def _entry(info: dict, name: str, folder: Path) -> dict:
    entry = info["files"].get(name)
    if entry is None:
        raise UserError(f"{name} is not listed in {folder / manifest.MANIFEST}: the folder was changed after it was built; build it again")
    return {"sha256": entry["sha256"], "bytes": entry["bytes"]}


def stage_key(built: Built, dtypes: list[str], source: dict) -> str:
    sources = sorted({str(built.folder_of(d)) for d in [*dtypes, "fp32"]})
    return key_of("stage", dtypes, source, [(s, file_sha256(Path(s) / manifest.MANIFEST)) for s in sources], __version__)


def stage(built: Built, dtypes: list[str], work_dir: Path, state: State, progress: Progress, source: dict) -> Path:
    """WORK/release, made again only when what it is made from changed. `source` is the checkpoint
    as this release resolved it (its manifest section)."""
    out = work_dir / "release"
    key = stage_key(built, dtypes, source)
    if state.unchanged("stage", key, out / manifest.MANIFEST):
        progress.note(f"stage: {out} is already staged from the same build, not staging again")
        return out
    state.drop("stage", "gates")
    fp32_info = manifest.read(built.fp32_dir)
    infos = {d: manifest.read(built.folder_of(d)) for d in dtypes}
    graphs = {d: infos[d]["graphs"][d] for d in dtypes}
    files: dict[str, dict] = {}
    with atomic_directory(out, overwrite=True) as partial:
        for path in sorted(built.fp32_dir.iterdir()):
            if path.is_file() and path.name not in NOT_COPIED:
                link_or_copy(path, partial / path.name)
                files[path.name] = _entry(fp32_info, path.name, built.fp32_dir)
        for dtype in dtypes:
            folder = built.folder_of(dtype)
            for summary in graphs[dtype].values():
                for name in [summary["file"], *summary.get("data_files", [])]:
                    link_or_copy(folder / name, partial / name)
                    files[name] = _entry(infos[dtype], name, folder)
        config = merged_config(built.fp32_dir, graphs, dtypes)
        (partial / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
        files["config.json"] = {"sha256": file_sha256(partial / "config.json"), "bytes": (partial / "config.json").stat().st_size}
        quantization = next((infos[d].get("quantization") for d in dtypes if d != "fp32" and infos[d].get("quantization")), None)
        write_manifest(partial, {
            "format": 1,
            "tool": f"vibevoice-asr-web {__version__}",
            "source": source,
            "dtypes": dtypes,
            "graphs": graphs,
            **({"quantization": quantization} if quantization else {}),
            "parity": {},
            "files": dict(sorted(files.items())),
        })
    state.put("stage", {"key": key, "dir": str(out), "manifest_sha256": file_sha256(out / manifest.MANIFEST)})
    progress.note(f"stage: {len(files)} files of {', '.join(dtypes)} in {out}")
    return out


def write_manifest(folder: Path, info: dict) -> None:
    write_text_atomic(folder / manifest.MANIFEST, json.dumps(info, indent=2, sort_keys=True) + "\n")


def finish(folder: Path, card: str, parity: dict, release: dict, state: State) -> dict:
    """Writes the model card, then the manifest that lists it with the gates' parity and results."""
    write_text_atomic(folder / README, card)
    info = manifest.read(folder)
    info["files"][README] = {"sha256": file_sha256(folder / README), "bytes": (folder / README).stat().st_size}
    info["files"] = dict(sorted(info["files"].items()))
    info["parity"] = parity
    info["release"] = release
    write_manifest(folder, info)
    record = state.get("stage")
    state.put("stage", {**record, "manifest_sha256": file_sha256(folder / manifest.MANIFEST)})
    return info


def variant_of(name: str) -> str | None:
    """The dtype a file belongs to (onnx/decoder_model_merged_q4.onnx_data_1 -> q4), or None for shared files."""
    import re

    match = re.fullmatch(rf"{ONNX_DIR}/({'|'.join(contract.GRAPH_NAMES)})(_fp16|_q4f16|_q4)?\.onnx(_data(_\d+)?)?", name)
    if not match:
        return None
    suffix = match.group(2) or ""
    return next(d for d, s in contract.DTYPE_SUFFIX.items() if s == suffix)
