"""manifest.json: what an artifact folder holds (sha256 and size of every file), where it came
from, and how close each graph is to its reference. Readers verify files against it."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from vibevoice_asr_web import __version__
from vibevoice_asr_web.atomic import write_text_atomic
from vibevoice_asr_web.errors import UserError

MANIFEST = "manifest.json"
HASH_BLOCK = 8 << 20


def sha256_file(path: Path, progress: Callable[[int], None] | None = None) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(HASH_BLOCK):
            digest.update(block)
            if progress:
                progress(len(block))
    return digest.hexdigest()


def list_files(folder: Path) -> dict[str, dict]:
    """Every file under `folder` except the manifest itself, with sha256 and size."""
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        if relative != MANIFEST:
            files[relative] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return files


def write(folder: str | os.PathLike, **sections) -> dict:
    """Writes manifest.json with `files` computed now and the given sections (source, graphs, parity...)."""
    folder = Path(folder)
    manifest = {"format": 1, "tool": f"vibevoice-asr-web {__version__}", **sections, "files": list_files(folder)}
    write_text_atomic(folder / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return manifest


def read(folder: str | os.PathLike) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise UserError(f"{folder} has no {MANIFEST}: it is not a finished artifact folder; export it again")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise UserError(f"{path} is damaged ({error}): export the artifacts again") from None


def verify_files(folder: str | os.PathLike, names: list[str]) -> None:
    """Checks that each named file has the size and sha256 the manifest records."""
    folder = Path(folder)
    files = read(folder)["files"]
    for name in names:
        entry = files.get(name)
        path = folder / name
        if entry is None:
            raise UserError(f"{name} is not listed in {folder / MANIFEST}: the folder was changed after export")
        if not path.is_file():
            raise UserError(f"{path} is missing: download or export the artifacts again")
        size = path.stat().st_size
        if size != entry["bytes"]:
            raise UserError(
                f"{path} is {size:,} bytes but the manifest says {entry['bytes']:,}: the file is truncated or "
                "replaced; download or export it again"
            )
        if sha256_file(path) != entry["sha256"]:
            raise UserError(f"{path} fails its sha256 check against the manifest: the file is corrupt; download or export it again")
