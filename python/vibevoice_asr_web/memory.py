"""How much memory this machine has, and the one test of whether a computation fits in it."""

from __future__ import annotations

import os


def physical_bytes() -> int:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def fits_in_memory(needed_bytes: int) -> bool:
    """Whether `needed_bytes` (the caller's estimate, room to spare included) is less than the RAM here."""
    return needed_bytes < physical_bytes()
