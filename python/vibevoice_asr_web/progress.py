"""Progress for long work: notes, byte counts and rates on a terminal, silence otherwise."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


class Progress:
    def __init__(self, quiet: bool = False, stream=None):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = not quiet and self.stream.isatty()

    def note(self, message: str) -> None:
        """A line worth keeping (also in logs)."""
        if not self.quiet:
            print(message, file=self.stream, flush=True)

    def status(self, message: str) -> None:
        """A line that replaces itself, shown on terminals only."""
        if self.live:
            print(f"\r\033[K{message}", end="", file=self.stream, flush=True)

    def done(self) -> None:
        if self.live:
            print("\r\033[K", end="", file=self.stream, flush=True)

    def bytes_callback(self, label: str) -> Callable[[int, int], None]:
        started = time.perf_counter()

        def report(done: int, total: int) -> None:
            elapsed = max(time.perf_counter() - started, 1e-9)
            self.status(f"{label}: {done / 1e9:.2f}/{total / 1e9:.2f} GB, {done / elapsed / 1e9:.2f} GB/s")
            if done >= total:
                self.done()

        return report
