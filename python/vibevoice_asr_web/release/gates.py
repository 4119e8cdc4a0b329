"""What a release must pass before anything is uploaded, one row per gate and variant.

  files     every file the manifest lists has its size and sha256; nothing unlisted would be uploaded
  contract  \
  buffers    artifact/check.py: the check export and quantize run on what they write
  chunks    /
  parity    parity_gate.py: fp32 vs PyTorch, the others vs fp32, at the thresholds below
  browser   browser.py: //e2e:webgpu (SwiftShader) and //e2e:webgpu_f16 (lavapipe) on the release folder

A row is pass, FAIL or skip (with the reason); any FAIL refuses the release.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from vibevoice_asr_web.artifact import check, contract, manifest
from vibevoice_asr_web.parity import thresholds
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.release.stage import README, variant_of

PASS, FAIL, SKIP = "pass", "FAIL", "skip"
SHARED = "shared"
ALL = "all"


@dataclass(frozen=True)
class ReleaseThresholds:
    fp32_min_cosine: float = thresholds.FP32_MIN_COSINE  # vs PyTorch, every graph and case; greedy tokens must also be equal
    fp16_min_cosine: float = thresholds.FP16_MIN_COSINE  # vs fp32, every graph and case (as `quantize`)
    min_top1: float = thresholds.MIN_TOP1  # q4 / q4f16: teacher-forced top-1 agreement with fp32 (as `quantize`)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Gate:
    gate: str
    variant: str
    result: str  # PASS, FAIL or SKIP
    detail: str
    cached: bool = False

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Gate":
        return cls(**{k: data[k] for k in ("gate", "variant", "result", "detail")}, cached=True)


@dataclass
class GateTable:
    rows: list[Gate] = field(default_factory=list)

    def add(self, rows: list[Gate]) -> None:
        self.rows.extend(rows)

    @property
    def failures(self) -> list[Gate]:
        return [r for r in self.rows if r.result == FAIL]

    @property
    def passed(self) -> bool:
        return not self.failures

    def of(self, gate: str, variant: str) -> Gate | None:
        return next((r for r in self.rows if r.gate == gate and r.variant == variant), None)

    def format(self) -> str:
        width = {"gate": 8, "variant": 7, "result": 6}
        lines = [f"{'gate':<{width['gate']}}  {'variant':<{width['variant']}}  {'result':<{width['result']}}  detail"]
        lines.append("-" * 100)
        for r in self.rows:
            detail = r.detail + (" (from an earlier run on the same files)" if r.cached else "")
            lines.append(f"{r.gate:<{width['gate']}}  {r.variant:<{width['variant']}}  {r.result:<{width['result']}}  {detail}")
        return "\n".join(lines)


# -- files ----------------------------------------------------------------------------------------

def check_files(folder: Path, dtypes: list[str], progress: Progress | None = None) -> list[Gate]:
    """sha256 and size of every listed file, per variant (graph files) and shared (the rest)."""
    progress = progress or Progress(quiet=True)
    info = manifest.read(folder)
    listed = {name: entry for name, entry in info["files"].items() if name != README}  # the card is written after the gates
    groups: dict[str, list[str]] = {d: [] for d in [*dtypes, SHARED]}
    problems: dict[str, list[str]] = {d: [] for d in groups}
    for name in listed:
        variant = variant_of(name)
        if variant is not None and variant not in dtypes:
            problems[SHARED].append(f"{name} belongs to {variant}, which is not in this release")
            continue
        groups[variant or SHARED].append(name)
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    for name in sorted(on_disk - set(listed) - {manifest.MANIFEST, README}):
        problems[variant_of(name) if variant_of(name) in problems else SHARED].append(f"{name} is not in the manifest (it would be uploaded unverified)")
    total = sum(entry["bytes"] for entry in listed.values())
    hashed = 0
    report = progress.bytes_callback("verifying sha256")
    rows = []
    for group, names in groups.items():
        for name in names:
            entry, path = listed[name], folder / name
            if not path.is_file():
                problems[group].append(f"{name} is missing")
                continue
            size = path.stat().st_size
            if size != entry["bytes"]:
                problems[group].append(f"{name} is {size:,} bytes, the manifest says {entry['bytes']:,}")
                continue

            def advance(n: int) -> None:
                nonlocal hashed
                hashed += n
                report(hashed, total)

            if manifest.sha256_file(path, advance) != entry["sha256"]:
                problems[group].append(f"{name} fails its sha256 check (changed after it was built)")
        if group in dtypes:
            graphs = [f"onnx/{contract.onnx_file_name(g, group)}" for g in contract.GRAPH_NAMES]
            problems[group] += [f"{g} is not in the manifest" for g in graphs if g not in names]
        size = sum(listed[n]["bytes"] for n in names)
        if problems[group]:
            rows.append(Gate("files", group, FAIL, "; ".join(problems[group]) + ": rebuild, or rerun to restage"))
        else:
            rows.append(Gate("files", group, PASS, f"{len(names)} files, {check.human_bytes(size)}: size and sha256 match the manifest"))
    progress.done()
    return rows


# -- graphs: artifact.check's contract, buffers and chunks, as gate rows --------------------------

Graphs = check.Graphs


def _row(finding: check.Finding) -> Gate:
    if finding.holds:
        return Gate(finding.aspect, finding.dtype, PASS, finding.summary)
    problems = finding.problems
    detail = "; ".join(problems[:6]) + (f" (+{len(problems) - 6} more)" if len(problems) > 6 else "")
    return Gate(finding.aspect, finding.dtype, FAIL, detail)


def check_contract(folder: Path, dtypes: list[str], graphs: Graphs) -> list[Gate]:
    return [_row(check.check_contract(folder, dtype, graphs)) for dtype in dtypes]


def check_buffers(dtypes: list[str], graphs: Graphs) -> list[Gate]:
    return [_row(check.check_buffers(dtype, graphs)) for dtype in dtypes]


def check_chunks(folder: Path, dtypes: list[str], graphs: Graphs) -> list[Gate]:
    return [_row(check.check_chunks(folder, dtype, graphs)) for dtype in dtypes]


def structural(folder: Path, dtypes: list[str], progress: Progress) -> list[Gate]:
    """files, then contract / buffers / chunks (these only when the files are intact)."""
    rows = check_files(folder, dtypes, progress)
    intact = {r.variant for r in rows if r.result == PASS}
    if SHARED not in intact:
        return rows + [Gate(g, d, SKIP, "not checked: the files gate failed") for g in ("contract", "buffers", "chunks") for d in dtypes]
    graphs = Graphs(folder)
    rows_by_aspect: dict[str, list[Gate]] = {aspect: [] for aspect in check.ASPECTS}
    later = []
    for dtype in dtypes:
        if dtype not in intact:
            later += [Gate(g, dtype, SKIP, "not checked: the files gate failed") for g in check.ASPECTS]
            continue
        findings = check.check_graphs(folder, dtype, graphs)
        if len(findings) == 1:  # the graphs are unreadable
            later += [_row(findings[0])] + [Gate(g, dtype, SKIP, "not checked: the graphs are unreadable") for g in check.ASPECTS[1:]]
            continue
        for finding in findings:
            rows_by_aspect[finding.aspect].append(_row(finding))
    return rows + [row for aspect in check.ASPECTS for row in rows_by_aspect[aspect]] + later
