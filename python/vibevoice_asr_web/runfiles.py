"""Finds files that Bazel built, from inside a Bazel test or binary or from a plain checkout."""

from __future__ import annotations

import os
from pathlib import Path

from vibevoice_asr_web.errors import UserError

WORKSPACE_NAME = "vibevoice_asr_web"


def locate(workspace_path: str, build_hint: str | None = None) -> Path:
    """`workspace_path` (e.g. "web/bundle") in the runfiles tree, else under bazel-bin of the checkout."""
    candidates = []
    for variable in ("RUNFILES_DIR", "TEST_SRCDIR"):
        if os.environ.get(variable):
            candidates.append(Path(os.environ[variable]) / WORKSPACE_NAME / workspace_path)
    repo_root = Path(__file__).resolve().parents[2]
    candidates += [repo_root / "bazel-bin" / workspace_path, repo_root / workspace_path]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    target = build_hint or f"//{workspace_path.rsplit('/', 1)[0]}:{workspace_path.rsplit('/', 1)[-1]}"
    raise UserError(f"{workspace_path} was not found: build it first with ./bazelw build {target}")


def selected_checkpoint() -> Path:
    """The checkpoint //models:* converts (@checkpoint//:checkpoint): the tiny default or the chosen one."""
    for variable in ("RUNFILES_DIR", "TEST_SRCDIR"):
        root = os.environ.get(variable)
        if root and (Path(root) / "checkpoint" / "checkpoint" / "config.json").is_file():
            return Path(root) / "checkpoint" / "checkpoint"
    return locate("models/tiny_checkpoint")
