"""Browser test harness: Debian's Chromium in headless mode with WebGPU, driven by Playwright, and
the comparison of a transcript the web library made (in Chromium, or in Node on Dawn) with onnxruntime's.

Every page's console errors and uncaught exceptions are collected; a test that saw any fails.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.chromium import CHROMIUM_ARGS, MISSING_CHROMIUM, find_chromium  # noqa: F401 (used by conftest)


@dataclass
class PageErrors:
    messages: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.messages.append(f"console.error: {msg.text}"))
        page.on("pageerror", lambda err: self.messages.append(f"page error: {err}"))

    def check(self) -> None:
        if self.messages:
            raise AssertionError("the page reported errors:\n" + "\n".join(self.messages))


@contextlib.contextmanager
def chromium_browser(extra_args: list[str] | None = None, webgpu: bool = True) -> Iterator[object]:
    """A headless Chromium (with WebGPU unless asked not to); always closed, even when the test fails."""
    from playwright.sync_api import sync_playwright

    executable = find_chromium()
    home = Path(os.environ.get("TEST_TMPDIR", "/tmp")) / "chromium-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "HOME": str(home)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS + (["--enable-unsafe-webgpu"] if webgpu else []) + (extra_args or []), env=env
        )
        try:
            yield browser
        finally:
            browser.close()


# Top-10 first-step logits, web library vs onnxruntime CPU, same dtype: max abs diff (DESIGN §5: 1e-3 for fp32).
LOGIT_TOLERANCE = {"fp32": 1e-3, "q4": 5e-3, "fp16": 5e-2, "q4f16": 5e-2}


def check_transcript(name: str, dtype: str, got: dict, want: dict, max_new_tokens: int, shape_check: bool, record_property) -> None:
    """`got` (the library's TranscriptionResult fields, `top` = firstStepTopLogits) equals the reference
    result `want`: prompt ids, top-10 logits within the dtype's tolerance, and, where the first step's
    choice is decisive, the generated ids, stop reason, text and segments."""
    assert got["promptIds"] == want["prompt_ids"]
    tolerance = LOGIT_TOLERANCE[dtype]
    if not shape_check and dtype in contract.HALF_PRECISION_DTYPES:
        check_half_precision_ranking(got["top"], want["first_step_top_logits"], tolerance)
    elif not shape_check:
        assert got["top"]["ids"] == want["first_step_top_logits"]["ids"], top_ranking_difference(got["top"], want["first_step_top_logits"])
    diff = top_logits_diff(got["top"], want["first_step_top_logits"])
    record_property("top10_max_abs_diff", diff)
    values = want["first_step_top_logits"]["values"]
    # A random shape-check model can have near ties that a legitimate rounding difference reorders: its
    # tokens are compared only where the first step's choice is clearer than the tolerance.
    decisive = not shape_check or values[0] - values[1] > tolerance
    print(f"{name}: top-10 logits max abs diff {diff:.2e}, top-2 gap {values[0] - values[1]:.2e}, "
          f"{len(got['generatedIds'])} tokens {'compared' if decisive else 'not compared (near tie)'}")
    assert diff <= tolerance
    if decisive:
        assert got["generatedIds"] == want["generated_ids"], first_difference(got["generatedIds"], want["generated_ids"])
        assert got["stopReason"] == want["stop_reason"]
        assert got["rawText"] == want["raw_text"]
        assert got["text"] == want["text"]
        assert got["segments"] == want["segments"]
    assert max_new_tokens >= len(got["generatedIds"]) > 0


def first_difference(got: list[int], want: list[int]) -> str:
    """Where two token lists part: the step and both tokens, and the lengths."""
    step = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
    return (f"generated ids differ first at step {step} (got {got[step] if step < len(got) else 'end'}, "
            f"onnxruntime {want[step] if step < len(want) else 'end'}); {len(got)} vs {len(want)} tokens; "
            f"got {got}, onnxruntime {want}")


def check_half_precision_ranking(got: dict, want: dict, tolerance: float) -> None:
    """fp16 activations round logits to about 1e-3 near 1.0, so two ids whose onnxruntime logits are
    closer than the dtype's tolerance may swap ranks (measured on lavapipe: ranks 6/7 of fp16
    numbers.flac, 0.0068 apart; rank 9 of q4f16 thanks.opus). Every other rank must agree."""
    reference = dict(zip(want["ids"], want["values"]))
    for rank, (ours, theirs, value) in enumerate(zip(got["ids"], want["ids"], want["values"])):
        if ours != theirs:
            # An id just outside onnxruntime's top 10 has only our logit to go by.
            assert abs(reference.get(ours, got["values"][rank]) - value) <= tolerance, top_ranking_difference(got, want)


def top_ranking_difference(got: dict, want: dict) -> str:
    """Where the first step's top-10 rankings part, with both logits of the ids involved."""
    rank = next((i for i, (a, b) in enumerate(zip(got["ids"], want["ids"])) if a != b), None)
    by_id = dict(zip(got["ids"], got["values"]))
    rows = [f"#{i} id {t}: onnxruntime {v:.5f}, got {by_id[t]:.5f}" if t in by_id else f"#{i} id {t}: onnxruntime {v:.5f}, got not in top 10"
            for i, (t, v) in enumerate(zip(want["ids"], want["values"])) if rank is not None and i >= rank]
    return f"top-10 ranking differs from rank {rank} (got ids {got['ids']}, onnxruntime {want['ids']}): " + "; ".join(rows)


def top_logits_diff(got: dict, want: dict) -> float:
    """Largest difference of the reference's top-10 logits, by token id (the library must rank the same ids)."""
    assert set(got["ids"]) == set(want["ids"]) or got["ids"][:1] == want["ids"][:1], (got["ids"], want["ids"])
    by_id = dict(zip(got["ids"], got["values"]))
    shared = [(by_id[i], v) for i, v in zip(want["ids"], want["values"]) if i in by_id]
    return max(abs(a - b) for a, b in shared)


# onnxruntime-web's flash-attention prefill (decoder calls of 32+ rows) shuffles keys across 8 subgroup lanes; the
# library caps calls at 31 rows where subgroups are narrower (web/src/vibevoice/generation/prefill.ts).
NARROW_SUBGROUP_ROW_LIMIT = 31
# What the loop-local probe (web/src/vibevoice/model/loop_locals.ts) writes where a compiler follows WGSL.
LOCALS_ZEROED_PER_ITERATION = [1.0, 1.0, 1.0]


def check_prefill_row_limit(info: dict, adapter: dict) -> None:
    """The library's cap on prefill rows per call: 31 on adapters with subgroups under 8 lanes, none otherwise;
    its loop-local workaround (loop_locals.ts) installed exactly where the compiler zeroes a loop's local once
    (Tint's SPIR-V, on every Vulkan adapter here: SwiftShader and lavapipe), and the probe right after it."""
    narrow = "subgroups" in adapter["features"] and (adapter.get("subgroupMinSize") or 8) < 8
    assert info["prefillRowLimit"] == (NARROW_SUBGROUP_ROW_LIMIT if narrow else None), (adapter, info["prefillRowLimit"])
    loop_locals = info["adapter"]["loopLocals"]
    assert loop_locals["correct"] and loop_locals["zeroLocals"] == (loop_locals["probe"] != LOCALS_ZEROED_PER_ITERATION), loop_locals
    print(f"loop-local probe {loop_locals['probe']} (WGSL: {LOCALS_ZEROED_PER_ITERATION}): workaround {'on' if loop_locals['zeroLocals'] else 'off'}")
