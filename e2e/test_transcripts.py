"""Browser transcripts equal onnxruntime's: for every artifact folder, every dtype this backend can
run and every test clip, the same prompt ids, the same generated ids, the same text, and the first
decode step's top-10 logits within tolerance."""

from __future__ import annotations

import json

import pytest

from conftest import SHAPE_FOLDERS, clips_of, folder_labels
from harness import PageErrors, check_prefill_row_limit, check_transcript
from vibevoice_asr_web.artifact import contract

DTYPES = list(contract.DTYPE_SUFFIX)


def _variants(references):
    return [(label, dtype) for label, ref in references.items() for dtype in ref["variants"]]


@pytest.fixture(scope="module")
def loaded(browser, server, device, references):
    """One page per (folder, dtype) with the model loaded through the web library."""
    pages = {}
    yield lambda label, dtype: pages.get((label, dtype)) or pages.setdefault((label, dtype), _load(browser, server, device, label, dtype))
    for page, _ in pages.values():
        page.close()


def _load(browser, server, device, label, dtype):
    errors = PageErrors()
    page = browser.new_page()
    errors.watch(page)
    page.goto(f"{server.url}index.html?model=models/{label}/&device={device}&dtype={dtype}")
    page.wait_for_function("() => window.vibevoice !== undefined", timeout=60_000)
    features = page.evaluate("async () => (await window.vibevoice.describeWebGpuAdapter()).features")
    reason = _skip_reason(device, dtype, features)
    if reason:
        return page, (errors, {"skip": reason})
    info = page.evaluate(
        "async ([location, device, dtype]) => {"
        " const { VibeVoiceASR } = await window.vibevoice.library();"
        " const asr = await VibeVoiceASR.load(location, {device, dtype});"
        " window.__asr = asr; return asr.runtimeInfo(); }",
        [f"models/{label}/", device, dtype],
    )
    return page, (errors, info)


def _skip_reason(device, dtype, adapter_features):
    if dtype in contract.HALF_PRECISION_DTYPES and device == "webgpu" and "shader-f16" not in adapter_features:
        return f"{dtype} needs the WebGPU feature shader-f16, which this adapter lacks"
    return None


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        # Folders are only known at run time; parametrize by label, dtype and clip, resolve in the test.
        cases = [(label, dtype, clip) for label in folder_labels() for dtype in DTYPES for clip in clips_of(label)]
        metafunc.parametrize("case", cases, ids=[f"{label}-{dtype}-{clip}" for label, dtype, clip in cases])


def test_browser_equals_onnxruntime(case, loaded, references, device, record_property):
    label, dtype, clip = case
    if dtype not in references[label]["variants"]:
        pytest.skip(f"folder {label} holds no {dtype} graphs")
    page, (errors, info) = loaded(label, dtype)
    if "skip" in info:
        pytest.skip(info["skip"])
    # It ran where it says: every session on the backend under test, and for WebGPU a real device.
    assert info["device"] == device and info["dtype"] == dtype, info
    assert all(s.get("device") == device for s in info["sessions"].values()), info["sessions"]
    if device == "webgpu":
        assert info["webgpuDeviceCreated"], "onnxruntime-web created no WebGPU device: the run fell back to WASM"
        check_prefill_row_limit(info, info["adapter"])  # SwiftShader's 4-lane subgroups: 31 rows a call
        record_property("adapter", json.dumps({k: info["adapter"].get(k) for k in ("vendor", "architecture", "description")}))
    variant = references[label]["variants"][dtype]
    want = next(r for r in variant["results"] if r["audio"] == clip)
    got = page.evaluate(
        "async ([url, maxNewTokens]) => { const r = await window.__asr.transcribe(new URL(url, location.href), {maxNewTokens});"
        " return {promptIds: r.promptIds, generatedIds: r.generatedIds, text: r.text, rawText: r.rawText,"
        " segments: r.segments, stopReason: r.stopReason, top: r.firstStepTopLogits}; }",
        [f"models/audio/{clip}", variant["max_new_tokens"]],
    )
    errors.check()
    check_transcript(f"{label} {dtype} {clip}", dtype, got, want, variant["max_new_tokens"], shape_check=label in SHAPE_FOLDERS,
                     record_property=record_property)
