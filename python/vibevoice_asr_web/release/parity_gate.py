"""The parity gate: what `vibevoice-asr-web validate` checks, run on the release folder itself.

fp32 against PyTorch (every graph, chunked audio encoding, decode steps, greedy tokens on the test
audio), when the model fits in memory here in fp32; otherwise the row says so and is skipped.
fp16 / q4 / q4f16 against the fp32 graphs (those in the release, or the fp32 build when fp32 is
not published): per-graph cosine, teacher-forced top-1 agreement, greedy tokens.
"""

from __future__ import annotations

from pathlib import Path

from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.release.gates import FAIL, PASS, SKIP, Gate, ReleaseThresholds


def _fp32_gate(folder: Path, checkpoint: Path, audio: list[Path], thresholds: ReleaseThresholds, progress: Progress) -> tuple[Gate, dict]:
    from vibevoice_asr_web import memory
    from vibevoice_asr_web.checkpoint_model import load_model, model_fits_in_memory
    from vibevoice_asr_web.parity.fp32_vs_pytorch import against_pytorch

    if not model_fits_in_memory(checkpoint):
        reason = f"the model does not fit in memory here in fp32 ({memory.physical_bytes() / 2**30:.0f} GiB RAM); validate it on a larger machine"
        return Gate("parity", "fp32", SKIP, f"vs PyTorch not run: {reason}"), {"skipped": reason}
    progress.note("parity: fp32 against PyTorch")
    report = against_pytorch(folder, load_model(checkpoint), checkpoint, audio_files=audio, progress=progress)
    progress.note("\n" + report.table())
    result = report.as_dict()
    min_cosine = min(r.cosine for r in report.rows)
    tokens = ", ".join(f"{t['audio']} {'equal' if t['equal'] else 'DIFFERENT from token ' + str(t['first_difference'])}" for t in report.transcripts)
    detail = f"vs PyTorch: min cosine {min_cosine:.7f} (gate {thresholds.fp32_min_cosine}); greedy tokens {tokens}"
    failed = [f"{r.graph} {r.case} {r.output}" for r in report.rows if not r.passed or r.cosine < thresholds.fp32_min_cosine]
    ok = not failed and result["greedy_tokens_equal"] and report.passed
    if not ok and failed:
        detail += f"; failing: {', '.join(failed[:3])}{'...' if len(failed) > 3 else ''}"
    return Gate("parity", "fp32", PASS if ok else FAIL, detail), result


def _variant_gate(folder: Path, dtype: str, reference: Path, audio: list[Path], prompts, thresholds: ReleaseThresholds, progress: Progress) -> tuple[Gate, dict]:
    from vibevoice_asr_web.parity import variant_vs_fp32

    report = variant_vs_fp32.compare_variant(
        folder, dtype, reference, audio, variant_vs_fp32.VariantGates(thresholds.fp16_min_cosine, thresholds.min_top1), progress, prompt_list=prompts,
    )
    progress.note("\n" + report.table())
    result = report.as_dict()
    min_cosine = min((r.cosine for r in report.rows), default=1.0)
    greedy = "equal" if report.greedy_tokens_equal else "different"
    if dtype == "fp16":
        ok = report.passed and min_cosine >= thresholds.fp16_min_cosine
        detail = f"vs fp32: min cosine {min_cosine:.6f} (gate {thresholds.fp16_min_cosine}); top-1 {report.top1_agreement:.4f}; greedy tokens {greedy}"
    else:
        ok = report.passed and report.top1_agreement >= thresholds.min_top1
        detail = (
            f"vs fp32: top-1 agreement {report.top1_agreement:.4f} over {result['top1_positions']} tokens (gate {thresholds.min_top1}); "
            f"min cosine {min_cosine:.4f}; greedy tokens {greedy}"
        )
    if not ok:
        detail += f"; {'; '.join(report.failures) or 'below the gate'}"
    return Gate("parity", dtype, PASS if ok else FAIL, detail), result


def run(
    folder: Path, dtypes: list[str], reference: Path, checkpoint: Path, audio: list[Path], thresholds: ReleaseThresholds, progress: Progress,
) -> tuple[list[Gate], dict[str, dict]]:
    rows, parity, prompts = [], {}, None
    for dtype in dtypes:
        try:
            if dtype == "fp32":
                row, parity[dtype] = _fp32_gate(folder, checkpoint, audio, thresholds, progress)
            else:
                if prompts is None:
                    from vibevoice_asr_web.parity import variant_vs_fp32

                    prompts = variant_vs_fp32.prompts(reference, audio)  # the same prompts for every variant
                row, parity[dtype] = _variant_gate(folder, dtype, reference, audio, prompts, thresholds, progress)
        except Exception as error:  # a graph onnxruntime cannot run is a failed gate, not a crash
            row = Gate("parity", dtype, FAIL, f"could not run the comparison: {type(error).__name__}: {error}")
            parity[dtype] = {"error": row.detail, "passed": False}
        rows.append(row)
    return rows, parity
