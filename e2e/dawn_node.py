"""How the Dawn suites (//e2e:webgpu_f16) start Node: where run.mjs, graphs.mjs, node and both node_modules are
(Bazel's runfiles, else the checkout), and the environment that points Dawn at Mesa's lavapipe."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from vibevoice_asr_web import runfiles

HERE = Path(__file__).resolve().parent


def external(repo: str, path: str) -> Path | None:
    """A file of an external Bazel repository in this test's runfiles (None outside Bazel)."""
    for variable in ("RUNFILES_DIR", "TEST_SRCDIR"):
        root = os.environ.get(variable)
        if root and (Path(root) / repo / path).exists():
            return Path(root) / repo / path
    return None


def lavapipe_env() -> dict[str, str]:
    """VK_ICD_FILENAMES and the library folder: @lavapipe under Bazel, else tools/lavapipe/setup.sh."""
    bundled = external("lavapipe", "lavapipe")
    if bundled:
        return {"VK_ICD_FILENAMES": str(bundled / "icd.d" / "lvp.json"), "VIBEVOICE_LAVAPIPE_LIB": str(bundled / "lib")}
    script = HERE.parent / "tools" / "lavapipe" / "setup.sh"
    out = subprocess.run(["bash", str(script), "--print-env"], check=True, capture_output=True, text=True).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def node_env(scratch: Path) -> dict[str, str]:
    """This process's environment plus lavapipe's, with Mesa's shader cache in `scratch`."""
    env = {**os.environ, **lavapipe_env(), "MESA_SHADER_CACHE_DIR": str(scratch / "mesa-shader-cache")}
    env["LD_LIBRARY_PATH"] = ":".join(p for p in (env["VIBEVOICE_LAVAPIPE_LIB"], os.environ.get("LD_LIBRARY_PATH")) if p)
    return env


def run_node(command: list[str], env: dict[str, str], timeout_s: int, what: str) -> str:
    """Runs a Node script to its end; its log (Dawn's limit warnings left out), or a failure that shows it."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
    log = "\n".join(line for line in done.stderr.splitlines() if "artificially reduced" not in line)
    assert done.returncode == 0, f"{what} failed (exit {done.returncode}):\n{log[-6000:]}"
    return log


def node_paths() -> dict[str, Path]:
    """run.mjs, graphs.mjs, web/ (the library's sources), both node_modules folders and node."""
    web = runfiles.locate("web/src").parent
    return {
        "run": HERE / "dawn" / "run.mjs",
        "graphs": HERE / "dawn" / "graphs.mjs",
        "web": web,
        "node_modules": external("npm", "node_modules") or web / "node_modules",
        "dawn_modules": external("npm_dawn", "node_modules") or HERE / "dawn" / "node_modules",
        "node": external("npm", "bin/node") or Path("node"),
    }
