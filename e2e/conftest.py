"""Browser e2e fixtures: the artifact folders, their onnxruntime references, a server, Chromium.

Artifacts come from VIBEVOICE_E2E_ARTIFACTS (comma-separated folders, e.g.
`--test_env=VIBEVOICE_E2E_ARTIFACTS=/data/real/int4`), else the default //models:fp32, :int4, :fp16 and
the tiny shape folders. References are computed here with the Python runtime, so any folder is proven the
same way. `--device webgpu|wasm` picks the browser backend (the two Bazel targets); `--device dawn` runs
the library in Node on Dawn and lavapipe instead of Chromium (//e2e:webgpu_f16, test_f16.py).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from harness import MISSING_CHROMIUM, chromium_browser, find_chromium
from vibevoice_asr_web import runfiles
from vibevoice_asr_web.serve import Server

# Clips in five containers (wav, mp3, opus, flac, and stereo 44.1 kHz Ogg Vorbis for the browser's downmix and
# resampling); long_story.wav is left out: it takes minutes per dtype on software WebGPU.
DEFAULT_AUDIO = ("hello.wav", "short.mp3", "thanks.opus", "numbers.flac", "weather.ogg")
MAX_NEW_TOKENS = 56  # the tiny checkpoint's answers to these clips end (EOS) within 25-47 tokens

# Label -> folder of the default run: the fitted tiny checkpoint's fp32, int4 (q4, q4f16) and fp16
# (every clip, to EOS; the half-precision ones run on WASM, and on WebGPU only with shader-f16),
# then the random `alt` and `odd` configurations (models/BUILD.bazel), whose only job is to show the
# browser other shapes: one clip and a few tokens each, compared by logits, and by tokens where the
# first step's choice is clear (SHAPE_FOLDERS).
DEFAULT_FOLDERS = {
    "a0": "models/fp32",
    "a1": "models/int4",
    "a2": "models/fp16",
    # alt's q4 is left out for time (SwiftShader takes about two minutes a folder): odd's q4 covers
    # MatMulNBits at other widths, and the Convs that were wrong are fp32 in every variant.
    **{label: f"models/tiny_{label}" for label in ("alt_fp32", "odd_fp32", "odd_q4")},
}
SHAPE_FOLDERS = set(DEFAULT_FOLDERS) - {"a0", "a1", "a2"}
# On Dawn and lavapipe (shader-f16): every dtype of the fitted tiny checkpoint, to EOS.
DAWN_FOLDERS = {label: DEFAULT_FOLDERS[label] for label in ("a0", "a1", "a2")}
SHAPE_AUDIO = ("hello.wav",)
SHAPE_MAX_NEW_TOKENS = 6


def chosen_folders() -> list[str]:
    return [p.strip() for p in os.environ.get("VIBEVOICE_E2E_ARTIFACTS", "").split(",") if p.strip()]


def chosen_audio() -> list[str]:
    return [n.strip() for n in os.environ.get("VIBEVOICE_E2E_AUDIO", ",".join(DEFAULT_AUDIO)).split(",") if n.strip()]


def default_folders(device: str) -> dict[str, str]:
    return DAWN_FOLDERS if device == "dawn" else DEFAULT_FOLDERS


def folder_labels(device: str = "webgpu") -> list[str]:
    """Known before the folders are: the tests are parametrized by these."""
    return [f"a{i}" for i in range(len(chosen_folders()))] or list(default_folders(device))


def clips_of(label: str) -> list[str]:
    audio = chosen_audio()
    if label in SHAPE_FOLDERS and not chosen_folders():
        return [n for n in SHAPE_AUDIO if n in audio] or audio[:1]
    return audio

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")


def pytest_addoption(parser):
    parser.addoption("--device", default="webgpu", choices=["webgpu", "wasm", "dawn"], help="backend under test")


def pytest_sessionstart(session):
    if session.config.getoption("--device") == "dawn":
        return  # no browser: Node on Dawn
    try:
        find_chromium()
    except FileNotFoundError as error:
        pytest.exit(str(error) if str(error) else MISSING_CHROMIUM, returncode=1)


@pytest.fixture(scope="session")
def device(request) -> str:
    return request.config.getoption("--device")


@pytest.fixture(scope="session")
def artifact_folders(device) -> dict[str, Path]:
    chosen = chosen_folders()
    if chosen:
        folders = [Path(p) for p in chosen]
        missing = [str(p) for p in folders if not (p / "config.json").is_file()]
        if missing:
            pytest.exit(f"VIBEVOICE_E2E_ARTIFACTS names folders without config.json: {', '.join(missing)}", returncode=1)
        return {f"a{index}": folder for index, folder in enumerate(folders)}
    return {label: runfiles.locate(path) for label, path in default_folders(device).items()}


@pytest.fixture(scope="session")
def audio_files() -> list[Path]:
    return [runfiles.locate("testdata/audio") / name for name in chosen_audio()]


@pytest.fixture(scope="session")
def references(artifact_folders, audio_files) -> dict[str, dict]:
    """reference.json of every folder: per dtype present, per audio, ids, text and top-10 logits."""
    from vibevoice_asr_web.runtime import reference

    audio = {clip.name: str(clip) for clip in audio_files}
    return {
        label: reference.build(
            folder, [audio[name] for name in clips_of(label)],
            max_new_tokens=SHAPE_MAX_NEW_TOKENS if label in SHAPE_FOLDERS else MAX_NEW_TOKENS,
        )
        for label, folder in artifact_folders.items()
    }


@pytest.fixture(scope="session")
def server(artifact_folders, audio_files, tmp_path_factory):
    """The bundle at /, each artifact folder at /models/<label>/ and the clips at /models/audio/."""
    root = tmp_path_factory.mktemp("served")
    for label, folder in artifact_folders.items():
        (root / label).symlink_to(folder.resolve(), target_is_directory=True)
    (root / "audio").mkdir()
    for clip in audio_files:
        shutil.copyfile(clip, root / "audio" / clip.name)
    # the labels link to the folders: let the server follow those links, and no others
    with Server(runfiles.locate("web/bundle"), root, extra_roots=[f.resolve() for f in artifact_folders.values()]) as running:
        yield running


@pytest.fixture(scope="session")
def browser(device):
    # A fake microphone (a beep) that needs no permission prompt: the demo's recorder is tested too.
    fake_microphone = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    with chromium_browser(extra_args=fake_microphone, webgpu=device == "webgpu") as b:
        yield b
