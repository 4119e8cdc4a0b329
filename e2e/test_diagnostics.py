"""The browser runs ONNX graphs on the backend under test (WebGPU or WASM) and its outputs equal
onnxruntime's in Python."""

from __future__ import annotations

import numpy as np
import onnxruntime
import pytest

from harness import PageErrors
from vibevoice_asr_web import diagnostics_graph, runfiles
from vibevoice_asr_web.serve import Server


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("models")
    diagnostics_graph.write(model_dir / "diagnostics.onnx")
    with Server(runfiles.locate("web/bundle"), model_dir) as server:
        yield server, model_dir


@pytest.fixture
def diagnostics_page(browser, served):
    server, _ = served
    errors = PageErrors()
    page = browser.new_page()
    errors.watch(page)
    try:
        page.goto(server.url + "diagnostics.html")
        page.wait_for_function("() => window.vibevoiceDiagnostics !== undefined", timeout=60_000)
        yield page
        errors.check()
    finally:
        page.close()


def test_chromium_offers_a_webgpu_adapter(diagnostics_page, device):
    if device != "webgpu":
        pytest.skip("the WASM target runs Chromium without WebGPU")
    adapter = diagnostics_page.evaluate("() => window.vibevoiceDiagnostics.adapter()")
    print("WebGPU adapter:", adapter)
    assert adapter["available"], adapter.get("reason")
    assert adapter["maxBufferSize"] >= 256 * 1024 * 1024
    diagnostics_page.wait_for_function("() => !document.getElementById('adapter').textContent.includes('querying')")
    assert "No WebGPU" not in diagnostics_page.inner_text("#adapter")


@pytest.mark.parametrize("batch", [1, 3])
def test_matmul_and_matmulnbits_equal_onnxruntime(diagnostics_page, served, batch, device):
    _, model_dir = served
    x = np.random.default_rng(batch).standard_normal((batch, 64)).astype(np.float32)
    expected = onnxruntime.InferenceSession(str(model_dir / "diagnostics.onnx")).run(None, {"x": x})[0]
    result = diagnostics_page.evaluate(
        "([x, dims, device]) => window.vibevoiceDiagnostics.runGraph('models/diagnostics.onnx', "
        "{x: {type: 'float32', dims, data: x}}, device)",
        [x.ravel().tolist(), list(x.shape), device],
    )
    assert result["device"] == device
    assert result["webgpuDeviceCreated"] == (device == "webgpu"), result
    y = result["outputs"]["y"]
    got = np.asarray(y["data"], dtype=np.float32).reshape(y["dims"])
    assert got.shape == expected.shape
    max_abs_diff = float(np.max(np.abs(got - expected)))
    print(f"batch {batch}: max abs diff {device} vs onnxruntime = {max_abs_diff:.3g}")
    assert max_abs_diff <= 1e-5
