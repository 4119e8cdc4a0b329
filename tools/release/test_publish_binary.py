"""//tools/release:publish as `bazel run` starts it: the help text and the refusals that come before any work."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

WORKSPACE = "vibevoice_asr_web"


def publish_binary() -> Path:
    root = Path(os.environ.get("TEST_SRCDIR", "")) / WORKSPACE / "tools" / "release" / "publish"
    if root.exists():
        return root
    return Path(__file__).resolve().parents[2] / "bazel-bin" / "tools" / "release" / "publish"


def run(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"} | {"HF_HUB_OFFLINE": "0"} | env
    return subprocess.run([str(publish_binary()), *args], capture_output=True, text=True, env=environment, timeout=120)


def test_help_names_every_option_and_gate():
    result = run("--help")
    assert result.returncode == 0, result.stderr
    for text in ("--repo-id", "--checkpoint", "--dtypes", "--dry-run", "--work-dir", "--fp32-dir", "--variants-dir", "--no-browser",
                 "usage: bazel run //tools/release:publish --", "files", "contract", "buffers", "chunks", "parity", "browser"):
        assert text in result.stdout, text


def test_a_bad_repo_id_or_dtype_is_refused_with_what_to_do(tmp_path):
    result = run("--repo-id", "nope", "--dry-run", "--work-dir", str(tmp_path))
    assert result.returncode == 1 and "expected a Hub model repo id, OWNER/NAME" in result.stderr
    result = run("--repo-id", "a/b", "--dtypes", "q8", "--dry-run", "--work-dir", str(tmp_path))
    assert result.returncode == 1 and "unknown dtype 'q8'" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_real_publish_needs_a_token_and_says_where_it_comes_from(tmp_path):
    result = run("--repo-id", "a/b", "--work-dir", str(tmp_path / "w"), HOME=str(tmp_path), HF_HOME=str(tmp_path / "hf"))
    assert result.returncode == 1
    assert "no Hugging Face token: set HF_TOKEN" in result.stderr and "hf auth login" in result.stderr
    assert not (tmp_path / "w").exists()
