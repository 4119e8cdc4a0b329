"""Debian's Chromium for the browser suites and benchmarks: where it is, and how to start it headless here."""

from __future__ import annotations

import os
import shutil

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
