"""The folders a release is made from: the fp32 export and the quantized variants.

Each is either built here, in the work folder, through the package's own `export` and `quantize`
(no parity check at this point: the parity gate runs it once, on the release folder), or reused
from a folder built before (`--fp32-dir bazel-bin/models/fp32`, `--variants-dir
bazel-bin/models/int4`), after checking that it comes from the same checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from vibevoice_asr_web import __version__

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.checkpoint_source import CheckpointSource
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.release.state import State, file_sha256, key_of


@dataclass
class Built:
    fp32_dir: Path
    # dtype -> the folder that holds its graphs (fp32 -> fp32_dir)
    variant_dirs: dict[str, Path] = field(default_factory=dict)

    def folder_of(self, dtype: str) -> Path:
        return self.fp32_dir if dtype == "fp32" else self.variant_dirs[dtype]


def _check_same_source(folder: Path, source: CheckpointSource, what: str) -> dict:
    info = manifest.read(folder)
    found = info.get("source") or {}
    # The revision is what identifies the weights (a Hub commit, or a fingerprint of a local folder's
    # files); the name is not: Bazel's sandbox shows the same folder under another name.
    if found.get("revision") != source.revision:
        raise UserError(
            f"{what} {folder} was made from {found.get('name')} ({found.get('revision')}), but the release's checkpoint is "
            f"{source.name} ({source.revision}): pass the matching --checkpoint, or leave out {what} to build it here"
        )
    if info.get("parity_status") == "failed":
        raise UserError(
            f"{what} {folder} failed its parity gate when it was made (its manifest says parity: failed; see its parity.md): "
            "a release never ships it. Rebuild it, or leave out the option to build it here"
        )
    return info


def fp32_folder(source: CheckpointSource, work_dir: Path, given: Path | None, state: State, progress: Progress) -> Path:
    if given is not None:
        _check_same_source(given, source, "--fp32-dir")
        if "fp32" not in (manifest.read(given).get("dtypes") or []):
            raise UserError(f"--fp32-dir {given} holds no fp32 variant (its manifest lists {manifest.read(given).get('dtypes')})")
        progress.note(f"build: using the fp32 export in {given}")
        return given
    out = work_dir / "build" / "fp32"
    key = key_of("fp32", source.describe(), __version__)
    if state.unchanged("fp32", key, out / manifest.MANIFEST):
        progress.note(f"build: fp32 export of {source.name} already in {out} (unchanged), not exporting again")
        return out
    from vibevoice_asr_web.export.command import export_artifacts

    progress.note(f"build: exporting {source.name} ({source.revision}) to fp32 in {out}")
    state.drop("fp32", "variants", "stage", "gates")
    export_artifacts(str(source.path), out, dtype="fp32", overwrite=True, validate=False, progress=progress)
    state.put("fp32", {"key": key, "dir": str(out), "manifest_sha256": file_sha256(out / manifest.MANIFEST)})
    return out


def variant_folders(
    dtypes: list[str], fp32_dir: Path, source: CheckpointSource, work_dir: Path, given: list[Path], state: State, progress: Progress
) -> dict[str, Path]:
    wanted = [d for d in dtypes if d != "fp32"]
    found: dict[str, Path] = {}
    for folder in given:
        info = _check_same_source(folder, source, "--variants-dir")
        present = [d for d in info.get("dtypes") or [] if d in wanted and d not in found]
        if not present:
            raise UserError(f"--variants-dir {folder} holds none of the requested variants ({', '.join(wanted)}); it has {info.get('dtypes')}")
        found.update({d: folder for d in present})
        progress.note(f"build: using the {', '.join(present)} variant(s) in {folder}")
    missing = [d for d in wanted if d not in found]
    if not missing:
        return found
    out = work_dir / "build" / "variants"
    key = key_of("variants", missing, file_sha256(fp32_dir / manifest.MANIFEST), __version__)
    if state.unchanged("variants", key, out / manifest.MANIFEST):
        progress.note(f"build: {', '.join(missing)} already quantized in {out} (unchanged), not quantizing again")
    else:
        from vibevoice_asr_web.quantize.folder import quantize_folder

        progress.note(f"build: quantizing {', '.join(missing)} from {fp32_dir} into {out}")
        state.drop("variants", "stage", "gates")
        quantize_folder(fp32_dir, out, missing, overwrite=True, validate=False, progress=progress)
        state.put("variants", {"key": key, "dir": str(out), "manifest_sha256": file_sha256(out / manifest.MANIFEST)})
    found.update({d: out for d in missing})
    return found


def build(
    source: CheckpointSource, dtypes: list[str], work_dir: Path, state: State, progress: Progress,
    fp32_dir: Path | None = None, variants_dirs: list[Path] | None = None,
) -> Built:
    fp32 = fp32_folder(source, work_dir, fp32_dir, state, progress)
    variants = variant_folders(dtypes, fp32, source, work_dir, variants_dirs or [], state, progress)
    built = Built(fp32, variants)
    for dtype in dtypes:
        folder = built.folder_of(dtype)
        graphs = (manifest.read(folder).get("graphs") or {}).get(dtype) or {}
        missing = [g for g in contract.GRAPH_NAMES if g not in graphs]
        if missing:
            raise UserError(
                f"{folder}/manifest.json describes no {dtype} graph for {', '.join(missing)}: the folder is incomplete; build it again"
            )
    return built

