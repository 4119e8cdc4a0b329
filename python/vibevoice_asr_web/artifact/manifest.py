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


NO_VERIFY_HELP = (
    "skip checking every file's size and sha256 against manifest.json before use (saves reading every byte once; "
    "a truncated, corrupt or swapped file then goes unnoticed and can give wrong results or be passed on)"
)


def add_no_verify_argument(parser) -> None:
    parser.add_argument("--no-verify", dest="verify", action="store_false", help=NO_VERIFY_HELP)


def _damaged(path: Path, what: str) -> UserError:
    return UserError(f"{path} is damaged ({what}): export or download the artifacts again")


def _check_structure(path: Path, info) -> dict:
    if not isinstance(info, dict) or not isinstance(info.get("files"), dict):
        raise _damaged(path, "expected an object with a 'files' object")
    for name, entry in info["files"].items():
        if name.startswith("/") or ".." in Path(name).parts:
            raise _damaged(path, f"file name {name!r} points outside the folder")
        if not (isinstance(entry, dict) and isinstance(entry.get("sha256"), str) and len(entry["sha256"]) == 64
                and isinstance(entry.get("bytes"), int) and entry["bytes"] >= 0):
            raise _damaged(path, f"the entry for {name} needs a 64-digit 'sha256' and a non-negative integer 'bytes'")
    return info


def read(folder: str | os.PathLike) -> dict:
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise UserError(f"{folder} has no {MANIFEST}: it is not a finished artifact folder; export it again")
    try:
        return _check_structure(path, json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise _damaged(path, str(error)) from None


def verify(folder: str | os.PathLike, names: list[str] | None = None, progress=None) -> dict:
    """Checks the size and sha256 of the named files (default: every listed file); returns the manifest.

    Sizes first (cheap, catches truncation), then the hashes, streamed in blocks with byte progress."""
    folder = Path(folder)
    info = read(folder)
    files = info["files"]
    names = sorted(files) if names is None else names
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
    total = sum(files[n]["bytes"] for n in names)
    report = progress.bytes_callback(f"verifying {folder.name}") if progress else None
    done = 0

    def advance(n: int) -> None:
        nonlocal done
        done += n
        report(done, total)

    for name in names:
        if sha256_file(folder / name, advance if report else None) != files[name]["sha256"]:
            raise UserError(
                f"{folder / name} fails its sha256 check against the manifest: the file is corrupt; download or export it again"
            )
    return info


def verify_files(folder: str | os.PathLike, names: list[str]) -> None:
    """Checks that each named file has the size and sha256 the manifest records."""
    verify(folder, names)
