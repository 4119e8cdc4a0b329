"""The demo page used as a person would: choose a file, transcribe, read the result, download SRT."""

from __future__ import annotations

import os
import re
from pathlib import Path

from harness import PageErrors
from vibevoice_asr_web import runfiles

CLIP = "hello.wav"


def _outputs_dir(tmp_path) -> Path:
    """Bazel keeps files here as test outputs (test.outputs/outputs.zip)."""
    return Path(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", tmp_path))


def _transcribe_on_page(page, server, query: str, screenshot: Path) -> None:
    """Opens the demo with `query`, chooses the clip, transcribes it and waits for done or error."""
    page.goto(f"{server.url}index.html?{query}")
    page.wait_for_function("() => window.vibevoice !== undefined", timeout=60_000)
    page.set_input_files("#file-input", str(runfiles.locate("testdata/audio") / CLIP))
    page.wait_for_function("() => document.getElementById('audio-info').textContent.includes('hello')")
    page.click("#transcribe-button")
    page.wait_for_function(
        "() => ['done', 'error'].includes(document.getElementById('status').dataset.state)", timeout=600_000
    )
    page.screenshot(path=str(screenshot), full_page=True)


def test_upload_transcribe_and_download_srt(browser, server, device, references, tmp_path):
    label = "a0"
    dtype = next(iter(references[label]["variants"]))  # the first folder's first variant (fp32 by default)
    variant = references[label]["variants"][dtype]
    want = next(r for r in variant["results"] if r["audio"] == CLIP)
    errors = PageErrors()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    errors.watch(page)
    try:
        query = f"model=models/{label}/&dtype={dtype}&device={device}&maxNewTokens={variant['max_new_tokens']}"
        _transcribe_on_page(page, server, query, _outputs_dir(tmp_path) / f"demo_page_{device}.png")
        assert page.get_attribute("#status", "data-state") == "done", page.inner_text("#error")
        assert page.get_attribute("#device-status", "data-device") == device
        # SwiftShader, the only WebGPU adapter here, is a CPU renderer: the page says it will be slow.
        assert page.get_attribute("#device-status", "data-software") == ("true" if device == "webgpu" else None)
        assert page.get_attribute("#result", "data-empty") == "false"
        # The live output showed the segments as rows while they streamed, never the raw JSON.
        if want["parsed"]:
            assert page.locator("[data-testid=live-segment-row]").count() == len(want["segments"])
        assert "{" not in page.inner_text("#live"), page.inner_text("#live")
        # The download list folds under its total once the model is loaded, and still holds every file.
        assert page.get_attribute("#download-progress", "open") is None
        assert page.locator("#download-files li[data-state=done]").count() >= 5
        assert page.is_enabled("#copy-button") and page.is_hidden("#empty-result")
        # The result on the page is the reference's: the segment table when the answer parsed, else the raw text.
        if want["parsed"]:
            rows = page.locator("[data-testid=segment-row]")
            assert rows.count() == len(want["segments"])
            assert want["text"] in page.inner_text("#segments-table")
        else:
            assert page.inner_text("#raw-text").strip() == want["raw_text"].strip()
        with page.expect_download() as download_info:
            page.click("#download-srt")
        download = download_info.value
        srt_path = _outputs_dir(tmp_path) / f"{Path(CLIP).stem}_{device}.srt"
        download.save_as(srt_path)
        srt = srt_path.read_text(encoding="utf-8")
        assert download.suggested_filename.endswith(".srt")
        assert re.match(r"1\r?\n\d\d:\d\d:\d\d,\d\d\d --> \d\d:\d\d:\d\d,\d\d\d\r?\n", srt), srt[:200]
        cue_text = " ".join(line for line in srt.splitlines()[2:] if line.strip())
        assert (want["text"] if want["parsed"] else want["text"].split()[0]) in cue_text
        errors.check()
    finally:
        page.close()


def test_empty_result_says_why_and_offers_nothing_to_copy(browser, server, device, references, tmp_path):
    """One new token (the list's opening) is a real run with no segment: the page says why, not "Done."."""
    label = "a0"
    dtype = next(iter(references[label]["variants"]))
    errors = PageErrors()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors.watch(page)
    try:
        query = f"model=models/{label}/&dtype={dtype}&device={device}&maxNewTokens=1"
        _transcribe_on_page(page, server, query, _outputs_dir(tmp_path) / f"demo_empty_result_{device}.png")
        assert page.get_attribute("#status", "data-state") == "done", page.inner_text("#error")
        assert page.get_attribute("#result", "data-empty") == "true", page.inner_text("#result")
        notice = page.inner_text("#empty-result")
        assert "token limit" in notice and notice in page.inner_text("#status"), notice
        for button in ("#copy-button", "#download-json", "#download-srt", "#download-vtt"):
            assert page.is_disabled(button), button
        errors.check()
    finally:
        page.close()
