"""The web library in Node on Dawn and Mesa's lavapipe equals onnxruntime, for every dtype: fp32, q4,
fp16 and q4f16, on an adapter that has shader-f16 and 8-lane subgroups (which SwiftShader, the only
adapter headless Chromium offers here, has not). Run with `--device dawn` (//e2e:webgpu_f16).

dawn/run.mjs loads each folder and dtype once and transcribes every clip; the comparison is the
browser suites' (harness.check_transcript). Clips other than WAV are decoded here by the Python
front end (the reference's decoder) into float WAV at their own rate, as Node has no WebAudio; the
library's WAV parser, resampler and front end still run on them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import clips_of, folder_labels
from dawn_node import node_env, node_paths, run_node
from harness import NARROW_SUBGROUP_ROW_LIMIT, check_prefill_row_limit, check_transcript
from vibevoice_asr_web import runfiles
from vibevoice_asr_web.artifact import contract

DTYPES = list(contract.DTYPE_SUFFIX)
# Prompt rows per decoder call in the main comparison: onnxruntime-web's decode kernels. From 32 rows on it
# runs its FlashAttention program, which the shader compiler here gets wrong as it stands (test_f16_attention.py
# isolates it to one GroupQueryAttention node) and right with the library's loop-local workaround
# (test_flash_attention_prefill: the library's own calls of up to 512 rows).
SPLIT_REDUCE_ROWS = NARROW_SUBGROUP_ROW_LIMIT
# One (folder, dtype) loads and transcribes five clips; fp16 on lavapipe is the slowest, about a minute.
RUN_TIMEOUT_S = 1800


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        device = metafunc.config.getoption("--device")
        cases = [(label, dtype, clip) for label in folder_labels(device) for dtype in DTYPES for clip in clips_of(label)]
        metafunc.parametrize("case", cases, ids=[f"{label}-{dtype}-{clip}" for label, dtype, clip in cases])


def _playable(clip: Path, folder: Path) -> Path:
    """WAV as it is; another container decoded by the Python front end into float WAV at its own rate."""
    if clip.suffix.lower() == ".wav":
        return clip
    import soundfile as sf

    from vibevoice_asr_web import audio

    samples, rate = audio.load_audio(clip)
    out = folder / f"{clip.name}.wav"
    sf.write(out, samples, rate, subtype="FLOAT")
    return out


@pytest.fixture(scope="session")
def dawn_run(artifact_folders, audio_files, references, tmp_path_factory):
    """(label, dtype) -> run.mjs's JSON (adapter, runtime info, one result per clip), run once each."""
    scratch = tmp_path_factory.mktemp("dawn")
    env = node_env(scratch)
    paths = node_paths()
    audio = {clip.name: _playable(clip, scratch) for clip in audio_files}
    description = runfiles.locate("web/artifact_description.json")
    runs: dict[tuple[str, str], dict] = {}

    def run(label: str, dtype: str, prefill_rows: int | None = SPLIT_REDUCE_ROWS, clips: list[str] | None = None) -> dict:
        key = (label, dtype, prefill_rows)
        if key in runs:
            return runs[key]
        out = scratch / f"{label}-{dtype}-{prefill_rows}.json"
        variant = references[label]["variants"][dtype]
        command = [str(paths["node"]), "--liftoff-only", str(paths["run"]), "--model", str(artifact_folders[label]), "--dtype", dtype,
                   "--out", str(out), "--max-new-tokens", str(variant["max_new_tokens"]), "--require-feature", "shader-f16",
                   "--node-modules", str(paths["node_modules"]), "--dawn-modules", str(paths["dawn_modules"]),
                   "--web-dir", str(paths["web"]), "--artifact-description", str(description)]  # fmt: skip
        if prefill_rows is not None:
            command += ["--prefill-chunk-tokens", str(prefill_rows)]
        for name in clips or clips_of(label):
            command += ["--audio", str(audio[name])]
        print(run_node(command, env, RUN_TIMEOUT_S, f"run.mjs for {label} {dtype}"))
        runs[key] = json.loads(out.read_text())
        return runs[key]

    return run


def _check_ran_on_dawn(report: dict, dtype: str, record_property) -> None:
    """The adapter is the one this suite is for (shader-f16), and every session ran on it."""
    adapter, info = report["adapter"], report["runtime"]
    assert "shader-f16" in adapter["features"], adapter
    assert info["device"] == "webgpu" and info["dtype"] == dtype, info
    assert all(s.get("device") == "webgpu" for s in info["sessions"].values()), info["sessions"]
    assert info["webgpuDeviceCreated"], "onnxruntime-web created no WebGPU device: the run fell back to WASM"
    assert adapter["subgroupMinSize"] >= 8, f"this suite is for an adapter with 8-lane subgroups or wider: {adapter}"
    check_prefill_row_limit(info, adapter)  # no cap: the library would prefill 512 rows a call here
    record_property("adapter", json.dumps({k: adapter.get(k) for k in ("vendor", "description", "subgroupMinSize", "subgroupMaxSize")}))


def _result(report: dict, clip: str) -> dict:
    """run.mjs's result for `clip` (other containers went in as <name>.wav)."""
    name = clip if clip.lower().endswith(".wav") else f"{clip}.wav"
    return next(r for r in report["results"] if r["audio"] == name)


def test_dawn_equals_onnxruntime(case, dawn_run, references, record_property):
    label, dtype, clip = case
    if dtype not in references[label]["variants"]:
        pytest.skip(f"folder {label} holds no {dtype} graphs")
    report = dawn_run(label, dtype)
    _check_ran_on_dawn(report, dtype, record_property)
    variant = references[label]["variants"][dtype]
    want = next(r for r in variant["results"] if r["audio"] == clip)
    got = _result(report, clip)
    adapter = report["adapter"]
    print(f"{label} {dtype} {clip}: {len(got['promptIds'])} prompt tokens in calls of {SPLIT_REDUCE_ROWS}, {got['seconds']:.1f} s "
          f"on {adapter['description']} (subgroups {adapter['subgroupMinSize']}..{adapter['subgroupMaxSize']})")
    check_transcript(f"{label} {dtype} {clip}", dtype, got, want, variant["max_new_tokens"], shape_check=False,
                     record_property=record_property)


# Measured on Mesa 25.0.7 lavapipe, Dawn (npm webgpu 0.6.2), onnxruntime-web 1.31.0-dev.20260914: without
# the library's loop-local workaround, fp32 hello.wav (77 prompt tokens) in one decoder call had its first-step
# top logit 0.045 off onnxruntime CPU (tolerance 1e-3), and every call of 32+ rows such an error: Tint's SPIR-V
# zeroes the FlashAttention program's per-block scores once instead of every block (test_f16_attention.py).
# With it (the library probes the compiler at load and writes the zeros out), the one call matches.
def test_flash_attention_prefill(dawn_run, references, artifact_folders, record_property):
    label, dtype = next((label, d) for label in artifact_folders for d in ("fp32", "fp16", "q4", "q4f16") if d in references[label]["variants"])
    clip = clips_of(label)[0]
    report = dawn_run(label, dtype, prefill_rows=None, clips=[clip])
    _check_ran_on_dawn(report, dtype, record_property)
    variant = references[label]["variants"][dtype]
    want = next(r for r in variant["results"] if r["audio"] == clip)
    got = _result(report, clip)
    assert len(got["promptIds"]) >= 32, "this clip's prompt is too short to reach the flash-attention prefill"
    print(f"{label} {dtype} {clip}: {len(got['promptIds'])} prompt tokens in one call (flash-attention prefill)")
    check_transcript(f"{label} {dtype} {clip} (one prefill call)", dtype, got, want, variant["max_new_tokens"], shape_check=False,
                     record_property=record_property)
