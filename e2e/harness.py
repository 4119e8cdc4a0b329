"""Browser test harness: Debian's Chromium in headless mode with WebGPU, driven by Playwright.

Every page's console errors and uncaught exceptions are collected; a test that saw any fails.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser")
MISSING_CHROMIUM = "Chromium not found: install it with `sudo apt-get install chromium` (or set CHROMIUM_BIN)."

# Software WebGPU (SwiftShader) in headless mode needs only --enable-unsafe-webgpu; the rest keeps
# Chromium from reaching for the network, which is closed here.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def find_chromium() -> str:
    explicit = os.environ.get("CHROMIUM_BIN")
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise FileNotFoundError(f"CHROMIUM_BIN={explicit} is not an executable. {MISSING_CHROMIUM}")
    for candidate in CHROMIUM_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    raise FileNotFoundError(MISSING_CHROMIUM)


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
