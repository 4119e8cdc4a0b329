"""The model card, rendered from a fixed release description that takes every branch (four variants;
parity measured, skipped and missing; browser passed on both adapters and on one, skipped and failed; the
"not run" of no browser row is the second test's), against the card
recorded in golden/model_card.md: a change to the card's text is a change to that file, on purpose
(`PYTHONPATH=python python python/tests/test_release_card.py` rewrites it)."""

from __future__ import annotations

from pathlib import Path

from vibevoice_asr_web import __version__
from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.release import card, gates

GOLDEN = Path(__file__).parent / "golden" / "model_card.md"
REPO = "someone/VibeVoice-ASR-ONNX"
VERSION = "<version>"  # the golden file holds this in place of the package version


SEVEN_B_DTYPES = [d for d in contract.DTYPE_SUFFIX if d not in contract.TERNARY_DTYPES]  # the golden card is a 7B folder's


def _info() -> dict:
    files, graphs = {}, {}
    for i, dtype in enumerate(SEVEN_B_DTYPES):
        graphs[dtype] = {}
        for j, graph in enumerate(contract.GRAPH_NAMES):
            name = f"onnx/{contract.onnx_file_name(graph, dtype)}"
            data = [f"{name}_data", f"{name}_data_1"] if graph == "decoder_model_merged" else [f"{name}_data"]
            files[name] = {"sha256": "0" * 64, "bytes": 1000 + j}
            for k, chunk in enumerate(data):
                files[chunk] = {"sha256": "1" * 64, "bytes": (3 + i) * 10**8 + k}
            summary = {"file": name, "data_files": data, "matmul_weights": 10 + j}
            if dtype in ("q4", "q4f16"):
                summary["nbits"] = {"matmuls_quantized": 9 + j, "gathers_quantized": 1 if graph == "embed_tokens" else 0}
            if dtype in ("fp16", "q4f16"):
                summary["fp16"] = {"fp32_weights": 2 if graph == "audio_encoder" else 0}
            graphs[dtype][graph] = summary
    files["config.json"] = {"sha256": "2" * 64, "bytes": 4000}
    worst = {g: {"min_cosine": 0.9999871234 - j * 1e-3, "max_abs_diff": 0.00123 * (j + 1)} for j, g in enumerate(contract.GRAPH_NAMES)}
    parity = {
        "fp32": {"graphs": worst, "greedy_tokens_equal": True},
        "fp16": {"graphs": worst, "top1_agreement": 0.99876, "greedy_tokens_equal": False},
        "q4": {"graphs": worst, "top1_agreement": 0.97, "top1_positions": 412, "greedy_tokens_equal": True},
        "q4f16": {"skipped": "needs shader-f16"},
    }
    thresholds = gates.ReleaseThresholds().as_dict()
    return {
        "dtypes": list(SEVEN_B_DTYPES), "source": {"kind": "hub", "name": "microsoft/VibeVoice-ASR-HF", "revision": "abc123"},
        "files": files, "graphs": graphs, "parity": parity, "release": {"repo_id": REPO, "thresholds": thresholds},
    }


def _table() -> gates.GateTable:
    table = gates.GateTable()
    table.add([
        gates.Gate("files", gates.ALL, gates.PASS, "42 files, sha256 verified"),
        gates.Gate("parity", "fp32", gates.PASS, "min cosine 0.99999 | greedy identical\nsecond line left out"),
        gates.Gate("browser", "fp32", gates.PASS, "SwiftShader in Chromium: 5 passed (test_browser_equals_onnxruntime[a0-fp32-hello.wav]...); "
                   "lavapipe in Node on Dawn: 5 passed (test_dawn_equals_onnxruntime[a0-fp32-hello.wav]...)"),
        gates.Gate("browser", "fp16", gates.PASS, "SwiftShader in Chromium: skipped: fp16 needs the WebGPU feature shader-f16; "
                   "lavapipe in Node on Dawn: 5 passed (test_dawn_equals_onnxruntime[a2-fp16-hello.wav]...)"),
        gates.Gate("browser", "q4", gates.FAIL, "SwiftShader in Chromium: 1 failed: tokens differ"),
        gates.Gate("browser", "q4f16", gates.SKIP, "not run on this machine: SwiftShader in Chromium: skipped: no shader-f16"),
    ])
    return table


def render() -> str:
    text = card.render(
        REPO, _info(), _table(), card.License("other", "research-only (https://example.com/license) — see the source", "README.md front matter"),
        ("microsoft/VibeVoice-ASR-HF", "abc123"), {"fp32": "1.2 GB", "fp16": "600 MB", "q4": "150 MB"},
    )
    return text.replace(__version__, VERSION)


def test_the_model_card_is_the_recorded_one():
    assert render() == GOLDEN.read_text()


def test_a_card_without_a_hub_source_or_thresholds_says_so():
    info = _info()
    info.pop("release")
    info["dtypes"] = ["fp32"]
    text = card.render(REPO, info, gates.GateTable(), card.License("unknown", card.UNKNOWN_LICENSE, "none found"), (None, None), {})
    meta = card.front_matter(text)
    assert "base_model" not in meta and meta["license"] == "unknown"
    assert "the local checkpoint `microsoft/VibeVoice-ASR-HF`" in text and "Gates this release passed" not in text
    assert "| license | unknown — check the source |" in text and "| fp32 |" in text and "| q4 |" not in text
    assert "dtype: 'fp32'" in text and "largest tensor ?" in text
    assert "| not run |" in text and "No variant passed a browser test for this release." in text


if __name__ == "__main__":
    GOLDEN.write_text(render())
