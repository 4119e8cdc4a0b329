"""The work folder of a release and its state file.

    WORK/state.json      what each step produced, keyed by what it was made from
    WORK/build/fp32      the fp32 export (absent when --fp32-dir names a built one)
    WORK/build/variants  the quantized variants (absent when --variants-dir names built ones)
    WORK/release         exactly the files that will be committed, with their manifest.json
    WORK/browser.log     the last browser-gate run's output

A step is skipped on a rerun when its key (a hash of its inputs) and the sha256 of the manifest it
wrote are both unchanged; anything else makes it run again. The state never holds a token.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from vibevoice_asr_web.artifact import manifest
from vibevoice_asr_web.atomic import write_text_atomic
from vibevoice_asr_web.errors import UserError

STATE_FILE = "state.json"
LOCK_FILE = ".lock"
FORMAT = 1


def key_of(*parts) -> str:
    """A stable hash of JSON-serialisable parts."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def file_sha256(path: Path) -> str | None:
    return manifest.sha256_file(path) if path.is_file() else None


class State:
    def __init__(self, work_dir: Path):
        self.work_dir = work_dir
        self.path = work_dir / STATE_FILE
        self.data: dict = {"format": FORMAT}
        if self.path.is_file():
            try:
                loaded = json.loads(self.path.read_text())
            except json.JSONDecodeError:
                loaded = None  # a damaged state only costs a rebuild
            if isinstance(loaded, dict) and loaded.get("format") == FORMAT:
                self.data = loaded

    def get(self, step: str) -> dict:
        return self.data.get(step) or {}

    def put(self, step: str, record: dict) -> None:
        self.data[step] = record
        write_text_atomic(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def drop(self, *steps: str) -> None:
        for step in steps:
            self.data.pop(step, None)
        write_text_atomic(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def unchanged(self, step: str, key: str, manifest_path: Path) -> bool:
        """Whether `step` already ran with this key and its manifest is still the one it wrote."""
        record = self.get(step)
        return bool(record) and record.get("key") == key and record.get("manifest_sha256") == file_sha256(manifest_path)


@contextlib.contextmanager
def locked(work_dir: Path) -> Iterator[State]:
    """The work folder's state, held by one release at a time."""
    work_dir.mkdir(parents=True, exist_ok=True)
    handle = open(work_dir / LOCK_FILE, "w")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"another release is running in {work_dir} (it holds {work_dir / LOCK_FILE}): wait for it, "
                "or pass another --work-dir"
            ) from None
        handle.write(str(os.getpid()))
        handle.flush()
        yield State(work_dir)
    finally:
        handle.close()
