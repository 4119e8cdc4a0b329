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
        from vibevoice_asr_web.tiny_checkpoint import make_tiny

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


@pytest.fixture(scope="session")
def noise_wav(tmp_path_factory):
    """Two seconds of white noise: audio the fitted tiny model never heard, so its answer is unsure and int4
    changes some of its greedy steps (on the clips it learned, q4 agrees with fp32 on every token)."""
    import numpy as np
    import soundfile as sf

    path = tmp_path_factory.mktemp("noise") / "noise.wav"
    samples = 0.1 * np.random.default_rng(0).standard_normal(48000)
    sf.write(str(path), samples.astype(np.float32), 24000)
    return path
