"""The demo page used as a person would: choose a file, transcribe, read the result, download SRT."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from harness import PageErrors
from vibevoice_asr_web import runfiles

CLIP = "hello.wav"


def _outputs_dir(tmp_path) -> Path:
    """Bazel keeps files here as test outputs (test.outputs/outputs.zip)."""
    return Path(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", tmp_path))


# Records what the status line shows (state, phase, text) from the first script on, for phases too short to screenshot.
STATUS_LOG = """
document.addEventListener('DOMContentLoaded', () => {
  const status = document.getElementById('status');
  window.__statusLog = [];
  new MutationObserver(() => {
    const entry = { state: status.dataset.state, phase: status.dataset.phase ?? null, text: status.textContent };
    const last = window.__statusLog.at(-1);
    if (!last || last.text !== entry.text || last.phase !== entry.phase) window.__statusLog.push(entry);
  }).observe(status, { attributes: true, childList: true, characterData: true, subtree: true });
});
"""


def _graph_requests(requests: list[str]) -> list[str]:
    return [url for url in requests if ".onnx" in url]


def _first_variant(references, device: str, extra: str = "") -> tuple[str, str, str]:
    """The first folder's first variant (fp32 by default): its label, dtype and the demo's query for it."""
    label = "a0"
    dtype = next(iter(references[label]["variants"]))
    return label, dtype, f"model=models/{label}/&dtype={dtype}&device={device}{extra}"


def _open(page, server, query: str) -> None:
    page.goto(f"{server.url}index.html?{query}")
    page.wait_for_function("() => window.vibevoice !== undefined", timeout=60_000)
    page.evaluate("() => window.vibevoice.app.ready")


def _open_and_choose(page, server, query: str, clip: Path, state: str = "ok") -> None:
    """Opens the demo with `query` and chooses `clip`; waits until the page has checked it (audio-info's state)."""
    _open(page, server, query)
    page.set_input_files("#file-input", str(clip))
    page.wait_for_selector(f"#audio-info[data-state={state}]", timeout=120_000)


def _transcribe_on_page(page, server, query: str, screenshot: Path) -> None:
    """Opens the demo with `query`, chooses the clip, transcribes it and waits for done or error."""
    _open_and_choose(page, server, query, runfiles.locate("testdata/audio") / CLIP)
    page.click("#transcribe-button")
    page.wait_for_function(
        "() => ['done', 'error'].includes(document.getElementById('status').dataset.state)", timeout=600_000
    )
    page.screenshot(path=str(screenshot), full_page=True)


def test_upload_transcribe_and_download_srt(browser, server, device, references, tmp_path):
    label, dtype, query = _first_variant(references, device)
    variant = references[label]["variants"][dtype]
    want = next(r for r in variant["results"] if r["audio"] == CLIP)
    errors = PageErrors()
    page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page.add_init_script(STATUS_LOG)
    errors.watch(page)
    requests: list[str] = []
    page.context.on("request", lambda request: requests.append(request.url))
    try:
        query += f"&maxNewTokens={variant['max_new_tokens']}"
        # Chosen, the file is decoded and checked, and the pre-flight check shown, before any graph is fetched.
        _open_and_choose(page, server, query, runfiles.locate("testdata/audio") / CLIP)
        page.wait_for_selector("#preflight[data-fits=true][data-audio=true]")
        duration = next(a["duration_s"] for a in references[label]["audio"] if a["name"] == CLIP)
        info = page.inner_text("#audio-info")
        assert "hello.wav" in info and f"{duration:.1f} s," in info and "kHz" in info, (info, duration)
        summary = page.inner_text("#preflight-summary")
        assert f"{dtype} on" in summary and "of audio" in summary and "needs about" in summary, summary
        assert _graph_requests(requests) == [], _graph_requests(requests)
        page.screenshot(path=str(_outputs_dir(tmp_path) / f"demo_audio_checked_{device}.png"), full_page=True)
        page.click("#transcribe-button")
        if device == "webgpu":  # SwiftShader's first run compiles for a minute: long enough to screenshot the phase
            page.wait_for_selector("#status[data-phase=prepare-gpu]", timeout=600_000)
            page.wait_for_function("() => /\\d+ s$/.test(document.getElementById('status').textContent)")
            page.screenshot(path=str(_outputs_dir(tmp_path) / f"demo_preparing_gpu_{device}.png"), full_page=True)
        page.wait_for_function("() => ['done', 'error'].includes(document.getElementById('status').dataset.state)", timeout=600_000)
        page.screenshot(path=str(_outputs_dir(tmp_path) / f"demo_page_{device}.png"), full_page=True)
        assert page.get_attribute("#status", "data-state") == "done", page.inner_text("#error")
        # "Preparing the GPU" showed with its elapsed time, for session creation (loading) and, on WebGPU, the first run.
        log = page.evaluate("() => window.__statusLog")
        preparing = [e for e in log if e["phase"] == "prepare-gpu"]
        assert {e["state"] for e in preparing} == ({"loading", "transcribing"} if device == "webgpu" else {"loading"}), log
        assert all(re.search(r"… \d+ s$", e["text"]) for e in preparing), preparing
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
    _, _, query = _first_variant(references, device, "&maxNewTokens=1")
    errors = PageErrors()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors.watch(page)
    try:
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


def _silent_wav(path: Path, seconds: float = 1.0, rate: int = 16000) -> Path:
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(b"\0\0" * int(seconds * rate))
    return path


def test_a_bad_file_is_refused_when_chosen_before_any_download(browser, server, device, references, tmp_path):
    """Not audio, or silent: the page says so as soon as the file is chosen, and fetches no graph."""
    _, _, query = _first_variant(references, device)
    not_audio = tmp_path / "notes.mp3"
    not_audio.write_text("These are meeting notes, not a recording.\n" * 20)
    cases = {"unsupported-audio": not_audio, "silent-audio": _silent_wav(tmp_path / "silence.wav")}
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.context.on("request", lambda request: requests.append(request.url))
    try:
        for code, clip in cases.items():
            _open_and_choose(page, server, query, clip, state="error")
            assert page.get_attribute("#error", "data-code") == code, page.inner_text("#error")
            assert clip.name in page.inner_text("#audio-info")
            assert page.is_disabled("#transcribe-button")
            page.screenshot(path=str(_outputs_dir(tmp_path) / f"demo_refused_{code}_{device}.png"), full_page=True)
        assert _graph_requests(requests) == [], _graph_requests(requests)
    finally:
        page.close()


def _tone_wav(path: Path, seconds: float, rate: int = 8000) -> Path:
    """A quiet 440 Hz tone: not silent, and small at 8 kHz 16-bit (about 1 MB a minute)."""
    import math
    import struct
    import wave

    period = [int(3000 * math.sin(2 * math.pi * 440 * n / rate)) for n in range(rate // 40)]  # 440 Hz repeats every 1/40 s at 8 kHz
    second = struct.pack(f"<{len(period)}h", *period) * 40
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        for _ in range(int(seconds)):
            w.writeframes(second)
    return path


def test_what_will_not_fit_is_refused_before_any_download(browser, server, device, references, artifact_folders, tmp_path):
    """Audio longer than the model's context: the pre-flight check says so, and what would fit, before any download; loading refuses."""
    label, _, query = _first_variant(references, device)
    config = json.loads((artifact_folders[label] / "config.json").read_text())
    positions = config["text_config"]["max_position_embeddings"]
    seconds = positions * 3200 // 24000 + 60  # one audio token per 3,200 samples at 24 kHz: a minute past the context
    clip = _tone_wav(tmp_path / "long_tone.wav", seconds)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.context.on("request", lambda request: requests.append(request.url))
    try:
        _open_and_choose(page, server, query, clip)
        page.wait_for_selector("#preflight[data-fits=false][data-audio=true]")
        problem = page.locator("#preflight-problems li[data-code=audio-too-long]")
        assert problem.count() == 1 and problem.get_attribute("data-severity") == "error"
        text = problem.inner_text()
        assert f"the model has {positions}" in text and "at most" in text, text
        page.click("#transcribe-button")
        page.wait_for_selector("#status[data-state=error]", timeout=120_000)
        assert page.get_attribute("#error", "data-code") == "wont-fit", page.inner_text("#error")
        page.screenshot(path=str(_outputs_dir(tmp_path) / f"demo_wont_fit_{device}.png"), full_page=True)
        assert _graph_requests(requests) == [], _graph_requests(requests)
    finally:
        page.close()


def test_a_recording_shows_its_duration(browser, server, device, references, tmp_path):
    """Chromium's fake microphone (a beep): the length ticks while recording, and the checked clip shows its own."""
    _, _, query = _first_variant(references, device)
    errors = PageErrors()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors.watch(page)
    try:
        _open(page, server, query)
        page.click("#record-button")
        page.wait_for_selector("#audio-info[data-state=recording]")
        page.wait_for_function("() => parseFloat(document.getElementById('audio-info').textContent.split('…')[1]) >= 1.5", timeout=30_000)
        page.screenshot(path=str(_outputs_dir(tmp_path) / f"demo_recording_{device}.png"), full_page=True)
        page.click("#record-button")
        page.wait_for_selector("#audio-info[data-state=ok]", timeout=60_000)
        info = page.inner_text("#audio-info")
        seconds = float(re.search(r"(\d+\.\d) s,", info).group(1))
        assert info.startswith("recording.") and 1.0 <= seconds <= 30.0, info
        assert f"Recording ready ({seconds:.1f} s)" in page.inner_text("#status")
        assert page.is_enabled("#transcribe-button")
        page.screenshot(path=str(_outputs_dir(tmp_path) / f"demo_recorded_{device}.png"), full_page=True)
        errors.check()
    finally:
        page.close()
