"""Shared fixtures: the embedded tiny checkpoint and its fp32 artifacts.

Under Bazel they come from //models:tiny_checkpoint and //models:fp32 (runfiles); in a plain
checkout they are built once per session into a temporary folder.
"""

from __future__ import annotations

import os

import pytest

from vibevoice_asr_web import runfiles
from vibevoice_asr_web.errors import UserError

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory, test_audio_dir):
    try:
        return runfiles.locate("models/tiny_checkpoint")
    except UserError:
        from vibevoice_asr_web.fixtures.tiny_checkpoint import make_tiny

        return make_tiny(tmp_path_factory.mktemp("tiny") / "checkpoint", fit_audio=test_audio_dir)


@pytest.fixture(scope="session")
def fp32_artifacts(tiny_checkpoint, tmp_path_factory):
    try:
        return runfiles.locate("models/fp32")
    except UserError:
        from vibevoice_asr_web.export.command import export_artifacts
        from vibevoice_asr_web.progress import Progress

        return export_artifacts(str(tiny_checkpoint), tmp_path_factory.mktemp("fp32") / "artifacts", progress=Progress(quiet=True))


@pytest.fixture(scope="session")
def test_audio_dir():
    return runfiles.locate("testdata/audio")


@pytest.fixture
def nibbles_swapped(monkeypatch):
    """The quantizer packs int4 with the two nibbles of every byte swapped (a wrong packing order): what the
    top-1 gates exist to catch."""
    from vibevoice_asr_web.quantize import int4

    pack = int4.quantize_tile

    def swapped(tile, block_size):
        packed, scales = pack(tile, block_size)
        return (packed >> 4) | (packed << 4), scales

    monkeypatch.setattr(int4, "quantize_tile", swapped)
