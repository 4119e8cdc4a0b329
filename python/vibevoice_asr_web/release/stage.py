"""The release folder: exactly the files one commit will hold, and the manifest that lists them.

Graph files are hard-linked (copied where a link is impossible) from the folders they were built
in, and their manifest entries are taken from those folders' manifests, not recomputed: the sha256
gate then proves that what is about to be uploaded is byte for byte what `export` and `quantize`
wrote. config.json is rewritten so that Transformers.js finds every published variant
(`transformers.js_config.use_external_data_format`); README.md (the model card) is added last.

Nothing published names a local path. The manifest's sections come from this machine's folders (a
variant's parity names the fp32 folder it was compared with), so every string in them that is an
absolute path becomes "." (the release folder itself) or the folder's name and a fingerprint of its
contents; JSON files copied from the export lose keys such as `_name_or_path` that hold one; and
`finish` refuses a release whose text files still name the home, work, temporary or current folder.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from vibevoice_asr_web import __version__

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.atomic import atomic_directory, write_text_atomic
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.release.build import Built
from vibevoice_asr_web.release.state import State, file_sha256, key_of

README = "README.md"
ONNX_DIR = contract.ONNX_DIR
# Not carried into a release: rewritten here (config, manifest, card) or superseded by the card.
NOT_COPIED = {manifest.MANIFEST, "config.json", README, "parity.md"}
# Text files of a release that are searched for local paths; tokenizer.json is not (its vocabulary
# may hold any string, "/home" included).
TEXT_SUFFIXES = (".json", ".md", ".txt", ".jinja")
NOT_SEARCHED = {"tokenizer.json"}


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:  # another filesystem, or a file we may not link (protected_hardlinks)
        shutil.copyfile(source, target)


def is_local_path(value) -> bool:
    return (
        isinstance(value, str) and len(value) > 1 and not any(c.isspace() for c in value)
        and (os.path.isabs(value) or value.startswith("~") or re.match(r"[A-Za-z]:[\\/]", value) is not None)
    )


def portable_name(path: str, here: Path | None = None) -> str:
    """A local folder or file as published: "." for the release folder itself, else its name and a
    fingerprint of its contents (stable across reruns), never the path."""
    where = Path(path).expanduser()
    if here is not None and where.resolve() == here.resolve():
        return "."
    if (where / manifest.MANIFEST).is_file():
        return f"{where.name} (manifest-sha256:{manifest.sha256_file(where / manifest.MANIFEST)[:16]})"
    if where.is_dir() and (where / "config.json").is_file():
        from vibevoice_asr_web.checkpoint_source import local_fingerprint

        return f"{where.name} ({local_fingerprint(where)})"
    if where.is_file():
        return f"{where.name} (sha256:{manifest.sha256_file(where)[:16]})"
    return where.name or "?"


def portable(value, here: Path | None = None):
    """`value` (JSON data) with every absolute local path replaced by portable_name."""
    if isinstance(value, dict):
        return {k: portable(v, here) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v, here) for v in value]
    return portable_name(value, here) if is_local_path(value) else value


def without_local_paths(data):
    """JSON from a checkpoint without the keys that hold a local path (`_name_or_path` from save_pretrained)."""
    if isinstance(data, dict):
        return {k: without_local_paths(v) for k, v in data.items() if not is_local_path(v)}
    if isinstance(data, list):
        return [without_local_paths(v) for v in data]
    return data


def local_roots(work_dir: Path) -> list[str]:
    """Folders of this machine that a published file must not name."""
    roots = [Path.home(), work_dir, Path(tempfile.gettempdir()), Path.cwd()]
    roots += [Path(os.environ[v]) for v in ("BUILD_WORKING_DIRECTORY", "BUILD_WORKSPACE_DIRECTORY") if os.environ.get(v)]
    found = {str(p) for r in roots for p in (r.absolute(), r.resolve())}
    return sorted((r for r in found if len(Path(r).parts) > 1), key=len, reverse=True)  # "/" itself would match anything


def check_no_local_paths(folder: Path, work_dir: Path) -> None:
    roots = local_roots(work_dir)
    if not roots:
        return
    pattern = re.compile("|".join(re.escape(r) + r"(?![\w-])" for r in roots))  # /tmp and /tmp/x, not /tmpfoo
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in TEXT_SUFFIXES and path.name not in NOT_SEARCHED:
            match = pattern.search(path.read_text(errors="replace"))
            if match:
                raise UserError(
                    f"{path.relative_to(folder)} in the release names the local path {match.group(0)}: published files must not; "
                    "nothing was uploaded. This is a bug in vibevoice-asr-web: please report it"
                )


def merged_config(fp32_dir: Path, graphs: dict[str, dict[str, dict]], dtypes: list[str]) -> dict:
    config = without_local_paths(json.loads((fp32_dir / "config.json").read_text()))
    chunks = {
        Path(summary["file"]).name: len(summary["data_files"])
        for dtype in dtypes for summary in graphs[dtype].values() if summary.get("data_files")
    }
    config["transformers.js_config"] = contract.transformers_js_config(dtypes, chunks)
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
                if _copy_without_local_paths(path, partial / path.name):
                    files[path.name] = {"sha256": file_sha256(partial / path.name), "bytes": (partial / path.name).stat().st_size}
                    continue
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
            "source": portable(source),
            "dtypes": dtypes,
            "graphs": portable(graphs),
            **({"quantization": portable(quantization)} if quantization else {}),
            "parity": {},
            "files": dict(sorted(files.items())),
        })
    state.put("stage", {"key": key, "dir": str(out), "manifest_sha256": file_sha256(out / manifest.MANIFEST)})
    progress.note(f"stage: {len(files)} files of {', '.join(dtypes)} in {out}")
    return out


def _copy_without_local_paths(source: Path, target: Path) -> bool:
    """Writes a cleaned copy of a JSON file that holds a local path; False (nothing written) for any other file."""
    if source.suffix != ".json" or source.name in NOT_SEARCHED:
        return False
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    cleaned = without_local_paths(data)
    if cleaned == data:
        return False
    target.write_text(json.dumps(cleaned, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    return True


def write_manifest(folder: Path, info: dict) -> None:
    write_text_atomic(folder / manifest.MANIFEST, json.dumps(info, indent=2, sort_keys=True) + "\n")


def finish(folder: Path, card: str, parity: dict, release: dict, state: State) -> dict:
    """Writes the model card, then the manifest that lists it with the gates' parity and results."""
    write_text_atomic(folder / README, card)
    info = manifest.read(folder)
    info["files"][README] = {"sha256": file_sha256(folder / README), "bytes": (folder / README).stat().st_size}
    info["files"] = dict(sorted(info["files"].items()))
    info["parity"] = portable(parity, folder)  # a variant's parity names the fp32 folder it was compared with
    info["release"] = portable(release, folder)
    write_manifest(folder, info)
    check_no_local_paths(folder, state.work_dir)
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
