"""The browser gate: the project's own browser suites run on the release folder.

Two suites, each on its own software adapter (SUITES): //e2e:webgpu drives headless Chromium on
SwiftShader (no shader-f16, so fp16 / q4f16 are skipped there, with that reason), and
//e2e:webgpu_f16 runs the same web library in Node on Dawn and Mesa's lavapipe, which has shader-f16.
It runs `bazel test <both> --test_env=VIBEVOICE_E2E_ARTIFACTS=<release folder>` in the workspace
(`./bazelw`, which works offline) and reads each suite's JUnit XML back: a variant passes when a test
whose id names it (e.g. `test_transcribe[q4]`) passed and none failed, on any adapter; it is skipped
when every suite skipped it; it fails when one of its tests failed. Its detail says what happened on
each adapter (`passed_on` reads that back for the model card). The gate fails as a whole when a suite
fails outside any variant, or runs no test on these artifacts.

Where Bazel cannot be run (inside a Bazel test, or outside a checkout) the gate fails and says so;
`--no-browser` skips it on purpose, and the model card then says the release was not browser-tested.
Under `bazel run //tools/release:publish` the outer Bazel has already released its lock when the
publish script starts, so the nested `bazel test` works.
"""

from __future__ import annotations

import os
import re
import subprocess
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.release.gates import ALL, FAIL, PASS, SKIP, Gate

ARTIFACTS_ENV = "VIBEVOICE_E2E_ARTIFACTS"
BAZEL_RUN_ENV = ("RUNFILES_DIR", "RUNFILES_MANIFEST_FILE", "JAVA_RUNFILES", "PYTHON_RUNFILES", "BUILD_WORKSPACE_DIRECTORY", "BUILD_WORKING_DIRECTORY")
TAIL_LINES = 15


@dataclass(frozen=True)
class Suite:
    target: str  # the Bazel test target
    adapter: str  # the WebGPU adapter it runs on, as the gate and the model card name it

    @property
    def test_xml(self) -> Path:
        package, name = self.target.removeprefix("//").split(":")
        return Path("bazel-testlogs") / package / name / "test.xml"


# Both adapters are software renderers: no suite runs on a real GPU.
SUITES = (
    Suite("//e2e:webgpu", "SwiftShader in Chromium"),
    Suite("//e2e:webgpu_f16", "lavapipe in Node on Dawn"),
)
E2E_TARGETS = " ".join(suite.target for suite in SUITES)


@dataclass
class TestCase:
    name: str
    outcome: str  # "passed", "failed", "skipped"
    message: str = ""
    adapter: str = ""  # the suite's (Suite.adapter)

    def mentions(self, dtype: str) -> bool:
        params = self.name[self.name.find("[") + 1:] if "[" in self.name else ""
        return dtype in re.findall(r"[A-Za-z0-9]+", params)


@dataclass
class SuiteRun:
    returncode: int
    cases: list[TestCase] = field(default_factory=list)
    log_tail: str = ""


def parse_junit(path: Path, adapter: str = "") -> list[TestCase]:
    """pytest's JUnit XML -> test cases with their outcome and skip/failure message."""
    cases = []
    for case in ElementTree.parse(path).getroot().iter("testcase"):
        name = case.get("name", "")
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error"):
                outcome, message = "failed", (child.get("message") or child.text or "").strip()
                break
            if child.tag == "skipped":
                outcome, message = "skipped", (child.get("message") or child.text or "").strip()
        cases.append(TestCase(name, outcome, message, adapter))
    return cases


def find_workspace() -> Path | None:
    """The checkout to run Bazel in: `bazel run`'s workspace, else the one this package lives in."""
    explicit = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    candidates = [Path(explicit)] if explicit else []
    candidates.append(Path(__file__).resolve().parents[3])
    for candidate in candidates:
        if (candidate / "WORKSPACE").is_file() and (candidate / "e2e" / "BUILD.bazel").is_file():
            return candidate
    return None


def why_not_runnable() -> str | None:
    if os.environ.get("TEST_SRCDIR") and not os.environ.get("BUILD_WORKSPACE_DIRECTORY"):
        return "this runs inside a Bazel test, which cannot start Bazel"
    if find_workspace() is None:
        return "no vibevoice-asr-web checkout with e2e/ was found (run it with `./bazelw run //tools/release:publish`)"
    return None


def bazel_command(workspace: Path, folders: list[Path]) -> list[str]:
    bazelw = workspace / "bazelw"
    return [
        str(bazelw) if bazelw.is_file() else "bazel", "test", *(suite.target for suite in SUITES),
        f"--test_env={ARTIFACTS_ENV}={','.join(str(f.absolute()) for f in folders)}",
        "--nocache_test_results",  # the folder's path is the same from one release to the next, its contents are not
        "--test_output=errors",
    ]


def run_suite(folders: list[Path], log_path: Path, progress: Progress) -> SuiteRun:
    """Runs the browser suites with Bazel, their output going to log_path, and reads their JUnit XML."""
    workspace = find_workspace()
    command = bazel_command(workspace, folders)
    env = {k: v for k, v in os.environ.items() if k not in BAZEL_RUN_ENV}
    xmls = {suite: workspace / suite.test_xml for suite in SUITES}
    stale_before = {suite: xml.stat().st_mtime if xml.is_file() else None for suite, xml in xmls.items()}
    progress.note(f"browser: {' '.join(command)} (in {workspace}; output in {log_path})")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in process.stdout:  # the whole output to the log, the latest line on a terminal
            log.write(line)
            progress.status(f"browser: {line.strip()[:110]}")
        returncode = process.wait()
        progress.done()
    lines = log_path.read_text(errors="replace").splitlines()
    cases = []
    for suite, xml in xmls.items():
        if xml.is_file() and xml.stat().st_mtime != stale_before[suite]:  # never read a previous run's results
            cases += parse_junit(xml, suite.adapter)
    return SuiteRun(returncode, cases, "\n".join(lines[-TAIL_LINES:]))


def gate(
    folders: list[Path], dtypes: list[str], enabled: bool, log_path: Path, progress: Progress,
    runner: Callable[[list[Path], Path, Progress], SuiteRun] | None = None,
) -> list[Gate]:
    if not enabled:
        return [Gate("browser", d, SKIP, "--no-browser: the browser suite was not run for this release") for d in dtypes]
    if runner is None:
        reason = why_not_runnable()
        if reason:
            return [Gate("browser", ALL, FAIL, f"cannot run {E2E_TARGETS}: {reason}; pass --no-browser to release without it")]
        runner = run_suite
    run = runner(folders, log_path, progress)
    return verdict(run, dtypes, log_path)


def _per_adapter(cases: list[TestCase]) -> str:
    """What `cases` (one variant's) did on each adapter: `ADAPTER: N passed (ids)`, `ADAPTER: N failed: ...` or
    `ADAPTER: skipped: reason`, joined by "; " (the format passed_on reads)."""
    parts = []
    for adapter in dict.fromkeys(c.adapter for c in cases):
        mine = [c for c in cases if c.adapter == adapter]
        failed = [c for c in mine if c.outcome == "failed"]
        passed = [c for c in mine if c.outcome == "passed"]
        if failed:
            parts.append(f"{adapter}: {len(failed)} failed: " + ", ".join(f"{c.name}: {c.message[:160]}" for c in failed[:3]))
        elif passed:
            parts.append(f"{adapter}: {len(passed)} passed ({', '.join(c.name for c in passed[:3])}{'...' if len(passed) > 3 else ''})")
        else:
            parts.append(f"{adapter}: skipped: {mine[0].message[:200] or 'by the suite'}")
    return "; ".join(parts)


def passed_on(detail: str) -> list[str]:
    """The adapters a browser gate row's detail (written by _per_adapter) says its variant passed on."""
    return [suite.adapter for suite in SUITES if re.search(rf"(^|; ){re.escape(suite.adapter)}: \d+ passed", detail)]


def verdict(run: SuiteRun, dtypes: list[str], log_path: Path) -> list[Gate]:
    rows = []
    for dtype in dtypes:
        mine = [c for c in run.cases if c.mentions(dtype)]
        if any(c.outcome == "failed" for c in mine):
            rows.append(Gate("browser", dtype, FAIL, _per_adapter(mine)))
        elif any(c.outcome == "passed" for c in mine):
            rows.append(Gate("browser", dtype, PASS, _per_adapter(mine)))
        elif mine:
            rows.append(Gate("browser", dtype, SKIP, f"not run on this machine: {_per_adapter(mine)}"))
        else:
            rows.append(Gate("browser", dtype, SKIP, f"no test of {E2E_TARGETS} names {dtype} (does it read {ARTIFACTS_ENV}?)"))
    unattributed = [c for c in run.cases if c.outcome == "failed" and not any(c.mentions(d) for d in dtypes)]
    if run.returncode != 0 and not any(r.result == FAIL for r in rows):
        what = "; ".join(f"{c.adapter}: {c.name}: {c.message[:160]}" for c in unattributed[:3]) or f"bazel exited with {run.returncode}"
        rows.append(Gate("browser", ALL, FAIL, f"{E2E_TARGETS} failed: {what}. Log: {log_path}\n{run.log_tail}"))
    elif not any(r.result == PASS for r in rows) and not any(r.result == FAIL for r in rows):
        rows.append(Gate("browser", ALL, FAIL, f"{E2E_TARGETS} ran no test on these artifacts ({len(run.cases)} test(s) ran): nothing was proven in a browser. Log: {log_path}"))
    return rows
