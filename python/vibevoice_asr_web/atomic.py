"""Atomic writes: build in a temporary sibling, rename into place only when complete.

A crash or Ctrl+C leaves only a hidden `.NAME.partial-PID` folder, never something that looks
like a finished artifact; the next run removes such leftovers.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from vibevoice_asr_web.errors import UserError


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale_partials(final: Path) -> None:
    for leftover in final.parent.glob(f".{final.name}.partial-*"):
        pid = leftover.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _pid_alive(int(pid)):
            shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def atomic_directory(final: str | os.PathLike, overwrite: bool = False) -> Iterator[Path]:
    """Yields an empty temporary folder that becomes `final` when the block finishes cleanly."""
    final = Path(final).absolute()
    if final.exists() and not final.is_dir():
        raise UserError(f"{final} exists and is not a folder: choose another output folder")
    if final.is_dir() and any(final.iterdir()) and not overwrite:
        raise UserError(f"{final} already exists and is not empty: remove it or pass --overwrite")
    final.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_partials(final)
    partial = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    try:
        yield partial
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if final.exists():
        old = final.parent / f".{final.name}.old-{os.getpid()}"
        final.rename(old)
        partial.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        partial.rename(final)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.parent / f".{path.name}.partial-{os.getpid()}"
    partial.write_bytes(data)
    os.replace(partial, path)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    write_bytes_atomic(path, text.encode("utf-8"))
