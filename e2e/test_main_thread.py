"""The demo's main thread stays free while the model loads and a clip transcribes in the Worker.

Measured three ways over the click that loads the model and transcribes a clip: a Chromium trace of
the page's main thread (each task's CPU time: the work the page itself did), a `longtask`
PerformanceObserver (each task over 50 ms, wall clock) and a requestAnimationFrame gap probe (wall
clock). The longest task's CPU time must be at most 100 ms; the wall-clock numbers are recorded
beside it but not held to the limit, because on a shared 2-core machine a busy neighbour (or the
Worker itself) keeps the main thread off the CPU: a 3 ms layout then reads as 400 ms. The same
measure around the library on the main thread (VibeVoiceASR) must exceed the limit, or it measures
nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from harness import PageErrors
from vibevoice_asr_web import runfiles

CLIP = "hello.wav"
LIMIT_MS = 100
TRACE_CATEGORIES = ["toplevel", "devtools.timeline", "disabled-by-default-devtools.timeline"]
TASK_EVENTS = {"RunTask", "ThreadControllerImpl::RunTask"}

# Installed before the page's scripts run: the longest long task and rAF gap since window.__stall.reset().
PROBE = """
(() => {
  const stall = { longTask: 0, longTasks: 0, rafGap: 0, last: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) { stall.longTask = Math.max(stall.longTask, entry.duration); stall.longTasks++; }
  }).observe({ type: 'longtask', buffered: false });
  const frame = (now) => { if (stall.last) stall.rafGap = Math.max(stall.rafGap, now - stall.last); stall.last = now; requestAnimationFrame(frame); };
  requestAnimationFrame(frame);
  stall.reset = () => { stall.longTask = 0; stall.longTasks = 0; stall.rafGap = 0; stall.last = 0; };
  stall.read = () => ({ longTaskMs: stall.longTask, longTasks: stall.longTasks, rafGapMs: stall.rafGap });
  window.__stall = stall;
})();
"""


def _outputs_dir(tmp_path) -> Path:
    return Path(os.environ.get("TEST_UNDECLARED_OUTPUTS_DIR", tmp_path))


def _open(browser, server, device, references):
    label = "a0"
    dtype = next(iter(references[label]["variants"]))
    variant = references[label]["variants"][dtype]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(PROBE)
    page.goto(f"{server.url}index.html?model=models/{label}/&dtype={dtype}&device={device}&maxNewTokens={variant['max_new_tokens']}")
    page.wait_for_function("() => window.vibevoice !== undefined", timeout=60_000)
    page.evaluate("() => window.vibevoice.app.ready")
    return page, label, dtype, variant


def _longest_main_thread_task(trace_path: Path) -> dict:
    """The longest top-level task on any renderer main thread in the trace: its CPU time and wall time, in ms."""
    data = json.loads(trace_path.read_text())
    events = data["traceEvents"] if isinstance(data, dict) else data
    threads = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M" and e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"}
    tasks = [e for e in events if e.get("ph") == "X" and e.get("name") in TASK_EVENTS and (e.get("pid"), e.get("tid")) in threads]
    assert tasks, f"the trace holds no main-thread tasks ({len(events)} events): the measure would pass on nothing"
    return {
        "taskCpuMs": max(e.get("tdur", 0) for e in tasks) / 1000,
        "taskWallMs": max(e.get("dur", 0) for e in tasks) / 1000,
        "tasks": len(tasks),
    }


def _measured(browser, page, tmp_path, name, action) -> dict:
    trace = tmp_path / f"{name}.trace.json"
    page.evaluate("() => window.__stall.reset()")
    browser.start_tracing(page=page, path=str(trace), categories=TRACE_CATEGORIES)
    try:
        action()
    finally:
        browser.stop_tracing()
    return {**page.evaluate("() => window.__stall.read()"), **_longest_main_thread_task(trace)}


def test_worker_keeps_main_thread_free(browser, server, device, references, record_property, tmp_path):
    errors = PageErrors()
    page, label, dtype, variant = _open(browser, server, device, references)
    errors.watch(page)
    try:
        page.set_input_files("#file-input", str(runfiles.locate("testdata/audio") / CLIP))

        def load_and_transcribe():
            page.click("#transcribe-button")  # loads the model in the Worker, then transcribes
            page.wait_for_function("() => ['done', 'error'].includes(document.getElementById('status').dataset.state)", timeout=600_000)

        stall = _measured(browser, page, tmp_path, "worker", load_and_transcribe)
        assert page.get_attribute("#status", "data-state") == "done", page.inner_text("#error")
        want = next(r for r in variant["results"] if r["audio"] == CLIP)
        assert page.evaluate("() => window.vibevoice.app.result.generatedIds") == want["generated_ids"]
        record_property("max_main_thread_task_cpu_ms", stall["taskCpuMs"])
        record_property("max_main_thread_task_wall_ms", stall["taskWallMs"])
        record_property("max_long_task_ms", stall["longTaskMs"])
        record_property("max_raf_gap_ms", stall["rafGapMs"])
        (_outputs_dir(tmp_path) / f"main_thread_stall_{device}.json").write_text(json.dumps({"device": device, "dtype": dtype, **stall}, indent=2))
        print(f"worker, {device}: longest main-thread task {stall['taskCpuMs']:.1f} ms CPU ({stall['taskWallMs']:.0f} ms wall); "
              f"long tasks: {stall['longTasks']}, longest {stall['longTaskMs']:.0f} ms; longest frame gap {stall['rafGapMs']:.0f} ms")
        assert stall["taskCpuMs"] <= LIMIT_MS, f"a main-thread task ran {stall['taskCpuMs']:.0f} ms of CPU (limit {LIMIT_MS} ms) while the Worker loaded and transcribed"
        errors.check()
    finally:
        page.close()


def test_measure_sees_main_thread_library_stall(browser, server, device, references, tmp_path):
    """The control: the same measure, the library on the main thread, must report a task over the limit."""
    page, label, dtype, variant = _open(browser, server, device, references)
    try:
        stall = _measured(browser, page, tmp_path, "main_thread", lambda: page.evaluate(
            "async ([folder, device, dtype, clip, maxNewTokens]) => { const { VibeVoiceASR } = await window.vibevoice.library();"
            " const asr = await VibeVoiceASR.load(folder, {device, dtype});"
            " await asr.transcribe(new URL(clip, location.href), {maxNewTokens}); await asr.dispose(); }",
            [f"models/{label}/", device, dtype, f"models/audio/{CLIP}", variant["max_new_tokens"]],
        ))
        print(f"main thread, {device}: longest task {stall['taskCpuMs']:.0f} ms CPU ({stall['taskWallMs']:.0f} ms wall), longest frame gap {stall['rafGapMs']:.0f} ms")
        assert stall["taskCpuMs"] > LIMIT_MS, f"the measure saw no task over {LIMIT_MS} ms with the library on the main thread: it measures nothing"
    finally:
        page.close()
