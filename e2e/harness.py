"""Browser test harness: Debian's Chromium in headless mode with WebGPU, driven by Playwright.

Every page's console errors and uncaught exceptions are collected; a test that saw any fails.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

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
