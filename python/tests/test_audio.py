"""Tests for the onnxruntime runtime's audio front end (vibevoice_asr_web.audio)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from vibevoice_asr_web import audio, runfiles
from vibevoice_asr_web.audio import (
    PreparedAudio,
    duration_seconds,
    load_audio,
    load_audio_24k,
    normalize,
    num_audio_tokens,
    pad_to_hop,
    prepare,
    resample,
)
from vibevoice_asr_web.errors import UserError

PYTHON_DIR = Path(__file__).resolve().parents[1]


AUDIO_DIR = runfiles.locate("testdata/audio")
MANIFEST = json.loads((AUDIO_DIR / "manifest.json").read_text(encoding="utf-8"))
BY_NAME = {entry["name"]: entry for entry in MANIFEST}


def _sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _truncated_copy(name: str, fraction: float, tmp_path: Path) -> Path:
    data = (AUDIO_DIR / name).read_bytes()
    path = tmp_path / f"cut_{name}"
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _expect_user_error(call, *fragments: str) -> str:
    """`call()` raises UserError whose message holds every fragment (case-insensitive); returns it."""
    with pytest.raises(UserError) as info:
        call()
    message = str(info.value)
    for fragment in fragments:
        assert fragment.lower() in message.lower(), f"{fragment!r} not in {message!r}"
    assert "expected" in message.lower(), message
    return message


# ------------------------------------------------------------------------------------------------
# The committed test audio
# ------------------------------------------------------------------------------------------------


def test_testdata_is_complete_and_small():
    transcripts = json.loads((AUDIO_DIR / "transcripts.json").read_text(encoding="utf-8"))
    assert len(MANIFEST) >= 4
    assert transcripts == {entry["name"]: entry["text"] for entry in MANIFEST}
    for entry in MANIFEST:
        size = (AUDIO_DIR / entry["name"]).stat().st_size
        assert size == entry["bytes"] and size < 1_000_000, entry
    assert any(entry["channels"] == 2 for entry in MANIFEST)
    assert max(entry["duration_s"] for entry in MANIFEST) > 10  # crosses many encoder chunks
    assert {Path(entry["name"]).suffix for entry in MANIFEST} >= {".wav", ".flac", ".ogg"}


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_committed_file_loads_to_24k_mono_float32(name):
    entry = BY_NAME[name]
    path = AUDIO_DIR / name
    info = sf.info(str(path))
    assert (info.samplerate, info.channels) == (entry["sample_rate"], entry["channels"])

    samples, rate = load_audio(path)
    assert rate == entry["sample_rate"]
    assert samples.dtype == np.float32 and samples.ndim == 1
    assert abs(len(samples) / rate - entry["duration_s"]) <= 0.01 * entry["duration_s"]

    x24 = load_audio_24k(str(path))
    assert x24.dtype == np.float32 and x24.ndim == 1
    assert abs(len(x24) / 24000 - entry["duration_s"]) <= 0.01 * entry["duration_s"]
    assert 0.01 < np.max(np.abs(x24)) <= 1.0  # speech, not silence, not clipped garbage

    prepared = prepare(path)
    assert isinstance(prepared, PreparedAudio)
    assert prepared.num_samples == len(x24)
    assert prepared.source_sample_rate == entry["sample_rate"]
    assert prepared.duration == pytest.approx(len(x24) / 24000)
    assert prepared.num_audio_tokens == -(-len(x24) // 3200)
    assert prepared.samples.dtype == np.float32
    assert len(prepared.samples) == prepared.num_audio_tokens * 3200
    assert not prepared.samples[prepared.num_samples :].any()
    rms = np.sqrt(np.mean(np.square(prepared.samples[: prepared.num_samples], dtype=np.float64)))
    assert 20 * np.log10(rms) == pytest.approx(-25.0, abs=0.05)


def test_stereo_file_is_the_average_of_its_channels():
    # weather.ogg: right channel = left at half amplitude, so averaging differs from taking either channel.
    both, _ = sf.read(str(AUDIO_DIR / "weather.ogg"), dtype="float32", always_2d=True)
    assert both.shape[1] == 2 and not np.allclose(both[:, 0], both[:, 1])
    mono, rate = load_audio(AUDIO_DIR / "weather.ogg")
    assert rate == 44100
    np.testing.assert_allclose(mono, both.mean(axis=1), atol=1e-7)


def test_stereo_wav_and_arrays_average_channels(tmp_path):
    rate = 16000
    left, right = _sine(440, rate, 0.5, 0.5), _sine(1000, rate, 0.5, 0.25)
    path = tmp_path / "stereo.wav"
    sf.write(str(path), np.stack([left, right], axis=1), rate, subtype="FLOAT")
    mono, got_rate = load_audio(path)
    assert got_rate == rate
    np.testing.assert_allclose(mono, (left + right) / 2, atol=1e-7)

    frames_first = prepare(np.stack([left, right], axis=1), sample_rate=rate)
    channels_first = prepare(np.stack([left, right], axis=0), sample_rate=rate)
    expected = prepare((left + right) / 2, sample_rate=rate)
    np.testing.assert_allclose(frames_first.samples, expected.samples, atol=1e-6)
    np.testing.assert_array_equal(frames_first.samples, channels_first.samples)


# ------------------------------------------------------------------------------------------------
# Resampling
# ------------------------------------------------------------------------------------------------


def test_resampling_a_sine_keeps_frequency_and_amplitude():
    x = _sine(1000, 44100, 1.0, 0.5)
    y = resample(x, 44100, 24000)
    assert y.dtype == np.float32 and len(y) == 24000
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    assert np.fft.rfftfreq(len(y), 1 / 24000)[np.argmax(spectrum)] == pytest.approx(1000, abs=1)
    inner = slice(1200, len(y) - 1200)  # away from the filter's edge transients
    assert np.sqrt(2 * np.mean(y[inner].astype(np.float64) ** 2)) == pytest.approx(0.5, rel=2e-3)
    t = np.arange(len(y)) / 24000
    ideal = 0.5 * np.sin(2 * np.pi * 1000 * t)
    linear = np.interp(t, np.arange(len(x)) / 44100, x)
    poly_error = np.abs(y - ideal)[inner].max()
    linear_error = np.abs(linear - ideal)[inner].max()
    assert poly_error < 1e-3 and poly_error < linear_error


def test_resampling_beats_linear_interpolation_at_high_frequencies():
    x = _sine(5000, 44100, 1.0, 0.5)
    y = resample(x, 44100, 24000)
    t = np.arange(len(y)) / 24000
    ideal = 0.5 * np.sin(2 * np.pi * 5000 * t)
    linear = np.interp(t, np.arange(len(x)) / 44100, x)
    inner = slice(1200, len(y) - 1200)
    assert np.abs(y - ideal)[inner].max() * 20 < np.abs(linear - ideal)[inner].max()


def test_resampling_filters_out_what_the_new_rate_cannot_hold():
    # 15 kHz is above 24 kHz's Nyquist frequency: an anti-aliasing filter removes it; linear
    # interpolation folds it down to 9 kHz instead.
    x = _sine(15000, 44100, 1.0, 0.5)
    y = resample(x, 44100, 24000)
    inner = slice(1200, len(y) - 1200)
    assert np.sqrt(np.mean(y[inner].astype(np.float64) ** 2)) < 0.01 * 0.5


@pytest.mark.parametrize(("from_rate", "n", "expected"), [(22050, 22050, 24000), (16000, 1001, 1502), (48000, 5, 3)])
def test_resampled_length_and_identity(from_rate, n, expected):
    x = np.linspace(-0.5, 0.5, n, dtype=np.float32)
    assert len(resample(x, from_rate, 24000)) == expected
    same = resample(x, 24000, 24000)
    np.testing.assert_array_equal(same, x)
    assert same is not x


# ------------------------------------------------------------------------------------------------
# Normalisation against transformers' feature extractor
# ------------------------------------------------------------------------------------------------


def _normalisation_signals() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1234)
    speech = load_audio_24k(AUDIO_DIR / "hello.wav")
    spiky = (0.001 * rng.standard_normal(24000)).astype(np.float32)
    spiky[12000] = 0.9  # quiet noise plus one click: the -25 dBFS gain pushes the click far above 1
    return {
        "speech": speech,
        "quiet_noise": (0.003 * rng.standard_normal(30000)).astype(np.float32),
        "loud_sine": _sine(220, 24000, 0.7, 0.99),
        "spiky": spiky,
        "one_sample": np.array([0.25], dtype=np.float32),
        "float64_input": rng.uniform(-0.2, 0.2, 7001),
    }


def test_normalize_equals_the_transformers_feature_extractor():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from transformers import VibeVoiceAcousticTokenizerFeatureExtractor

    extractor = VibeVoiceAcousticTokenizerFeatureExtractor()
    assert (extractor.target_dB_FS, extractor.eps, extractor.pad_to_multiple_of) == (-25, 1e-6, 3200)
    guard_triggered = False
    for name, x in _normalisation_signals().items():
        features = extractor(x, sampling_rate=24000, return_tensors="pt")
        reference = features["input_values"][0, 0].numpy()
        mask = features["padding_mask"][0].numpy().astype(bool)
        ours = normalize(x)
        assert ours.dtype == np.float32 and ours.shape == x.shape
        assert np.max(np.abs(ours - reference[: len(x)])) <= 1e-6, name

        # The whole pipeline on 24 kHz input: same samples, same padding, same mask length.
        prepared = prepare(x, sample_rate=24000)
        assert prepared.samples.shape == reference.shape, name
        assert np.max(np.abs(prepared.samples - reference)) <= 1e-6, name
        assert prepared.num_samples == int(mask.sum()) == len(x)
        guard_triggered |= bool(np.max(np.abs(reference)) > 0.99 and name == "spiky")
    assert guard_triggered, "the spiky signal should exercise the peak guard"


def test_normalize_reaches_the_target_level_and_guards_the_peak():
    x = _sine(440, 24000, 1.0, 0.1)
    y = normalize(x)
    assert 20 * np.log10(np.sqrt(np.mean(np.square(y, dtype=np.float64)))) == pytest.approx(-25.0, abs=0.01)
    assert 20 * np.log10(np.sqrt(np.mean(np.square(normalize(x, target_dbfs=-20), dtype=np.float64)))) == (
        pytest.approx(-20.0, abs=0.01)
    )
    spiky = _normalisation_signals()["spiky"]
    z = normalize(spiky)
    assert np.max(np.abs(z)) == pytest.approx(1.0, abs=1e-5)
    assert np.max(np.abs(z)) < 1.0


# ------------------------------------------------------------------------------------------------
# Padding, tokens, duration
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "tokens", "padded"), [(1, 1, 3200), (3199, 1, 3200), (3200, 1, 3200), (3201, 2, 6400), (24000, 8, 25600)]
)
def test_padding_and_token_counts(length, tokens, padded):
    x = np.linspace(0.1, 0.9, length, dtype=np.float32)
    y = pad_to_hop(x)
    assert y.dtype == np.float32 and len(y) == padded
    np.testing.assert_array_equal(y[:length], x)
    assert not y[length:].any()
    assert num_audio_tokens(length) == tokens == padded // 3200
    assert duration_seconds(length) == length / 24000

    prepared = prepare(x, sample_rate=24000)
    assert (prepared.num_samples, prepared.num_audio_tokens, len(prepared.samples)) == (length, tokens, padded)
    assert prepared.duration == pytest.approx(length / 24000)


def test_padding_helpers_edge_cases():
    assert num_audio_tokens(0) == 0 and len(pad_to_hop(np.zeros(0, np.float32))) == 0
    assert num_audio_tokens(10, hop=4) == 3 and len(pad_to_hop(np.ones(10, np.float32), hop=4)) == 12
    assert duration_seconds(16000, 16000) == 1.0
    with pytest.raises(ValueError):
        num_audio_tokens(-1)


# ------------------------------------------------------------------------------------------------
# Bad files
# ------------------------------------------------------------------------------------------------


def test_missing_file(tmp_path):
    _expect_user_error(lambda: load_audio(tmp_path / "nope.wav"), "does not exist", "nope.wav", "check the path")


def test_directory_instead_of_file(tmp_path):
    _expect_user_error(lambda: prepare(tmp_path), "directory", "one audio file")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    _expect_user_error(lambda: load_audio(path), "empty (0 bytes)", "again")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.wav"
    path.write_bytes(np.random.default_rng(7).bytes(4096))
    _expect_user_error(lambda: load_audio(path), "not audio", "noise.wav", "ffmpeg")


def test_text_file(tmp_path):
    path = tmp_path / "notes.flac"
    path.write_text("These are meeting notes, not a recording.\n" * 20, encoding="utf-8")
    _expect_user_error(lambda: prepare(path), "not audio", "right file")


def test_truncated_wav_is_detected_not_read_short(tmp_path):
    path = _truncated_copy("hello.wav", 0.5, tmp_path)
    # libsndfile on its own reads such a file without complaint, just shorter: the loader must not.
    with sf.SoundFile(str(path)) as f:
        assert 0 < f.frames < BY_NAME["hello.wav"]["duration_s"] * 22050 * 0.6
    _expect_user_error(lambda: load_audio(path), "truncated", "declares 1.26 s", "only 0.63 s", "again")


def test_wav_header_without_samples_is_truncated(tmp_path):
    path = tmp_path / "header_only.wav"
    path.write_bytes((AUDIO_DIR / "hello.wav").read_bytes()[:44])
    _expect_user_error(lambda: load_audio(path), "truncated", "declares 1.26 s", "only 0.00 s")


def test_wav_cut_inside_its_header(tmp_path):
    path = tmp_path / "cut_header.wav"
    path.write_bytes((AUDIO_DIR / "hello.wav").read_bytes()[:30])
    _expect_user_error(lambda: load_audio(path), "truncated or damaged", "no 'data' chunk")


@pytest.mark.parametrize("name", ["numbers.flac", "weather.ogg", "thanks.opus", "short.mp3", "long_story.wav"])
def test_truncated_compressed_files_are_detected(name, tmp_path):
    path = _truncated_copy(name, 0.6, tmp_path)
    _expect_user_error(lambda: load_audio(path), "truncated or damaged", "again")


def test_zero_length_audio(tmp_path):
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros((0, 1), np.float32), 16000, subtype="PCM_16")
    assert sf.info(str(path)).frames == 0
    _expect_user_error(lambda: load_audio(path), "0 frames", "contains speech")


def test_silent_file(tmp_path):
    path = tmp_path / "silence.wav"
    sf.write(str(path), np.zeros(16000, np.float32), 16000, subtype="PCM_16")
    samples, _ = load_audio(path)  # loading is fine: it is valid audio
    assert not samples.any()
    _expect_user_error(lambda: prepare(path), "silent", "all zeros", "nothing to transcribe", "microphone")


def test_silent_array_and_near_silence():
    _expect_user_error(lambda: prepare(np.zeros(48000, np.float32), sample_rate=48000), "silent", "all zeros")
    _expect_user_error(lambda: prepare(np.full(24000, 1e-8, np.float32), sample_rate=24000), "silent", "dBFS")


def test_nan_in_float_wav(tmp_path):
    x = _sine(440, 16000, 0.5)
    x[4000] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(str(path), x, 16000, subtype="FLOAT")
    _expect_user_error(lambda: load_audio(path), "NaN", "sample 4000", "0.250 s", "re-export")


def test_inf_in_array():
    x = _sine(440, 16000, 0.5)
    x[10] = np.inf
    _expect_user_error(lambda: prepare(x, sample_rate=16000), "NaN or infinite", "sample 10")
    _expect_user_error(lambda: normalize(x), "finite")
    _expect_user_error(lambda: resample(x, 16000, 24000), "finite")


# ------------------------------------------------------------------------------------------------
# Bad arrays
# ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "fragments"),
    [
        (0, ["positive"]),
        (-16000, ["positive"]),
        (16, ["between 1000 and 768000", "16000, not 16"]),
        (10**9, ["between 1000 and 768000"]),
        (44100.5, ["whole number"]),
        (float("nan"), ["whole number"]),
        ("16000", ["integer number of Hz"]),
        (True, ["integer number of Hz"]),
        (None, ["found none"]),
    ],
)
def test_bad_sample_rate_for_arrays(rate, fragments):
    x = _sine(440, 16000, 0.5)
    _expect_user_error(lambda: prepare(x, sample_rate=rate), *fragments)


def test_integral_float_and_numpy_rates_are_accepted():
    x = _sine(440, 16000, 0.5)
    assert prepare(x, sample_rate=16000.0).source_sample_rate == 16000
    assert prepare(x, sample_rate=np.int64(16000)).source_sample_rate == 16000


@pytest.mark.parametrize(
    ("array", "fragments"),
    [
        ((np.ones(1000) * 1000).astype(np.int16), ["floating-point", "int16", "32768"]),
        (np.ones(1000, dtype=bool), ["floating-point", "bool"]),
        (np.ones(1000, dtype=np.complex64), ["floating-point", "complex64"]),
        (np.array(["a", "b"]), ["floating-point"]),
        (np.zeros((2, 3, 1000), np.float32), ["1-D", "(2, 3, 1000)", "one clip at a time"]),
        (np.zeros((1000, 1000), np.float32), ["at most 64 channels"]),
        (np.zeros(0, np.float32), ["empty"]),
        (np.zeros((0, 2), np.float32), ["empty"]),
        (np.float32(0.5), ["1-D"]),
    ],
)
def test_bad_array_dtype_or_shape(array, fragments):
    _expect_user_error(lambda: prepare(array, sample_rate=16000), *fragments)


def test_sample_rate_with_a_path_is_rejected():
    _expect_user_error(lambda: prepare(AUDIO_DIR / "hello.wav", sample_rate=22050), "no sample_rate", "leave it out")


# ------------------------------------------------------------------------------------------------
# MP3 without libsndfile's decoder, and the import footprint
# ------------------------------------------------------------------------------------------------


def test_mp3_falls_back_to_ffmpeg_when_libsndfile_cannot(monkeypatch):
    if audio.shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not on PATH")
    direct, direct_rate = load_audio(AUDIO_DIR / "short.mp3")
    monkeypatch.setattr(audio, "_soundfile_reads_mp3", lambda: False)
    via_ffmpeg, rate = load_audio(AUDIO_DIR / "short.mp3")
    assert rate == direct_rate == 24000
    assert abs(len(via_ffmpeg) - len(direct)) <= 1152  # at most one MP3 frame of gapless disagreement
    n = min(len(direct), len(via_ffmpeg))
    assert np.corrcoef(direct[:n], via_ffmpeg[:n])[0, 1] > 0.99


def test_mp3_without_a_decoder_says_what_to_install(monkeypatch):
    monkeypatch.setattr(audio, "_soundfile_reads_mp3", lambda: False)
    monkeypatch.setattr(audio.shutil, "which", lambda name: None)
    _expect_user_error(lambda: load_audio(AUDIO_DIR / "short.mp3"), "MP3", "ffmpeg", "soundfile >= 0.12")


def test_importing_the_module_does_not_import_torch():
    env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
    code = (
        "import sys, vibevoice_asr_web.audio; "
        "heavy = [m for m in ('torch', 'transformers') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_the_front_end_comes_from_the_artifact_folder(tmp_path, test_audio_dir):
    """preprocessor_config.json's rate, hop and level, as the browser reads them; defaults where it is silent."""
    import json

    from vibevoice_asr_web.audio import FrontEnd

    assert FrontEnd.from_folder(tmp_path) == FrontEnd()  # no file: the real model's 24 kHz, 3200, -25 dBFS
    settings = {"sampling_rate": 16000, "pad_to_multiple_of": 320, "target_dB_FS": -20, "eps": 1e-6}
    (tmp_path / "preprocessor_config.json").write_text(json.dumps(settings))
    front = FrontEnd.from_folder(tmp_path)
    assert front == FrontEnd(sample_rate=16000, hop_length=320, target_dbfs=-20, eps=1e-6, normalize=True)
    default, custom = prepare(test_audio_dir / "hello.wav"), prepare(test_audio_dir / "hello.wav", front=front)
    assert abs(custom.duration - default.duration) < 1e-3 and len(custom.samples) % 320 == 0
    assert custom.num_audio_tokens == -(-custom.num_samples // 320)
    level = 20 * np.log10(np.sqrt(np.mean(np.square(custom.samples[: custom.num_samples], dtype=np.float64))))
    assert abs(level - -20) < 0.1
    (tmp_path / "preprocessor_config.json").write_text(json.dumps({**settings, "normalize_audio": False}))
    raw = prepare(test_audio_dir / "hello.wav", front=FrontEnd.from_folder(tmp_path))
    assert not np.allclose(raw.samples, custom.samples)
