"""How close two outputs are, the tables `validate` prints and the manifest records, and the test
audio the checks transcribe by default. The gates are in thresholds.py; the checks themselves in
fp32_vs_pytorch.py and variant_vs_fp32.py."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from vibevoice_asr_web import runfiles

DEFAULT_AUDIO = ("testdata/audio/hello.wav", "testdata/audio/long_story.wav")


def default_audio() -> list[Path]:
    """The test audio files the greedy-transcription checks use when none are given."""
    return [runfiles.locate(p) for p in DEFAULT_AUDIO]


@dataclass
class Comparison:
    graph: str
    case: str  # which input, e.g. "2.5 chunks" or "decode step 3"
    output: str
    max_abs_diff: float
    cosine: float
    passed: bool

    def as_dict(self) -> dict:
        return asdict(self)


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    denominator = np.linalg.norm(a) * np.linalg.norm(b)
    if denominator == 0:
        return 1.0 if np.array_equal(a, b) else 0.0
    return float(np.dot(a, b) / denominator)


def compare(graph: str, case: str, output: str, got: np.ndarray, want: np.ndarray, min_cosine: float, max_abs: float | None = None) -> Comparison:
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    if got.shape != want.shape:
        return Comparison(graph, case, output, float("inf"), 0.0, False)
    diff = float(np.max(np.abs(got - want))) if got.size else 0.0
    cos = cosine(got, want)
    finite = bool(np.isfinite(got).all())
    passed = finite and cos >= min_cosine and (max_abs is None or diff <= max_abs)
    return Comparison(graph, case, output, diff, cos, passed)


def format_table(rows: list[Comparison]) -> str:
    header = f"{'graph':<22} {'case':<26} {'output':<34} {'max abs diff':>12} {'cosine':>12}  result"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(
            f"{r.graph:<22} {r.case:<26} {r.output:<34} {r.max_abs_diff:>12.3g} {r.cosine:>12.8f}  {'pass' if r.passed else 'FAIL'}"
        )
    return "\n".join(lines)
