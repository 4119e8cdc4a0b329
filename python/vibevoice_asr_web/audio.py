"""The onnxruntime runtime's audio front end: file or array -> the waveform VibeVoice-ASR's encoders take.

What the model expects (the same as transformers' `VibeVoiceAsrProcessor` and its
`VibeVoiceAcousticTokenizerFeatureExtractor`): mono float32 at 24000 Hz, normalised to -25 dBFS
(RMS over the whole clip, then a peak guard), right-padded with zeros to a multiple of the encoders'
hop of 3200 samples; one audio token per started hop, and a duration (for the prompt) measured on the
unpadded 24 kHz clip.

    prepared = prepare("speech.flac")            # or prepare(array, sample_rate=44100)
    prepared.samples, prepared.num_audio_tokens, prepared.duration

Files are decoded with soundfile (libsndfile: WAV, FLAC, Ogg Vorbis/Opus, MP3 from libsndfile 1.1 on,
and the other formats libsndfile knows). If this libsndfile cannot decode MP3, ffmpeg decodes MP3
files when it is on PATH. Channels are averaged to mono and the rate is converted with a polyphase
filter (`scipy.signal.resample_poly`).

Bad input raises `UserError` with a message that says what was expected, what was found and what to
do. Only numpy, scipy and soundfile are imported: the runtime never loads torch.
"""

from __future__ import annotations

import functools
import math
import os
import shutil
import struct
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.signal
import soundfile as sf

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.errors import UserError

SAMPLE_RATE = contract.SAMPLE_RATE
"""The rate the acoustic and semantic tokenizers' encoders run at."""

HOP_LENGTH = contract.HOP_LENGTH
"""Samples per audio token: the product of the encoders' downsampling ratios (2*2*4*5*5*8)."""

TARGET_DBFS = contract.TARGET_DBFS
"""The feature extractor's `target_dB_FS`."""

EPS = contract.EPS
"""The feature extractor's `eps`."""

MIN_SAMPLE_RATE = 1000
MAX_SAMPLE_RATE = 768000
MAX_CHANNELS = 64

SUPPORTED = "WAV, FLAC, Ogg Vorbis, Ogg Opus or MP3"
CONVERT_HINT = "convert it with e.g. `ffmpeg -i INPUT -ac 1 -ar 24000 OUTPUT.wav`"


@dataclass(frozen=True)
class FrontEnd:
    """The feature extractor's settings, as an artifact folder's preprocessor_config.json gives them
    (the browser reads the same file): rate, hop, target level, eps, and whether to normalise."""

    sample_rate: int = SAMPLE_RATE
    hop_length: int = HOP_LENGTH
    target_dbfs: float = TARGET_DBFS
    eps: float = EPS
    normalize: bool = True

    FILE = contract.PREPROCESSOR_CONFIG

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> "FrontEnd":
        """The folder's settings; the feature extractor's defaults for a file or key it lacks."""
        path = Path(folder) / cls.FILE
        config = contract.read_json_object(path)
        front = cls(
            sample_rate=config.get("sampling_rate", SAMPLE_RATE),
            hop_length=config.get("pad_to_multiple_of") or config.get("hop_length") or HOP_LENGTH,
            target_dbfs=config.get("target_dB_FS", TARGET_DBFS),
            eps=config.get("eps", EPS),
            normalize=config.get("normalize_audio", True),
        )
        numbers_ok = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (front.sample_rate, front.hop_length))
        levels_ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in (front.target_dbfs, front.eps))
        if not (numbers_ok and levels_ok and front.eps > 0 and isinstance(front.normalize, bool)):
            raise UserError(
                f"{path} is malformed: expected a positive integer sampling_rate and hop_length, a finite target_dB_FS "
                f"and a positive eps, found {front}; export the artifacts again"
            )
        return front


@dataclass(frozen=True)
class PreparedAudio:
    """A clip ready for the encoders."""

    samples: np.ndarray
    """float32, shape (padded_length,): normalised, 24 kHz mono, zero-padded to a multiple of 3200."""
    num_samples: int
    """Samples at 24 kHz before padding."""
    num_audio_tokens: int
    """ceil(num_samples / 3200): how many audio placeholder tokens the prompt holds."""
    duration: float
    """num_samples / 24000, in seconds (the prompt says it with two decimals)."""
    source_sample_rate: int
    """The rate of the file or array before resampling."""


# ----------------------------------------------------------------------------------------------
# Samples, rates and lengths
# ----------------------------------------------------------------------------------------------


def _check_rate(rate, what: str = "sample rate") -> int:
    """An integer rate in Hz within [MIN_SAMPLE_RATE, MAX_SAMPLE_RATE], else UserError."""
    if rate is None:
        raise UserError(
            f"expected the {what} in Hz (e.g. sample_rate=16000), found none. "
            "Pass the rate the samples were recorded at."
        )
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, float, np.integer, np.floating)):
        raise UserError(
            f"expected the {what} as an integer number of Hz, found {rate!r} ({type(rate).__name__}). "
            "Pass a number such as 16000 or 44100."
        )
    if not math.isfinite(float(rate)) or float(rate) != int(rate):
        raise UserError(
            f"expected the {what} as a whole number of Hz, found {rate!r}. "
            "Pass an integer such as 16000 or 44100."
        )
    rate = int(rate)
    if rate <= 0:
        raise UserError(
            f"expected a positive {what} in Hz, found {rate}. Pass the rate the samples were recorded at, e.g. 16000."
        )
    if not MIN_SAMPLE_RATE <= rate <= MAX_SAMPLE_RATE:
        hint = f" It looks like kHz: pass Hz ({rate * 1000}, not {rate})." if rate <= 192 else ""
        raise UserError(
            f"expected a {what} between {MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz, found {rate} Hz.{hint} "
            "Check the rate, or resample the audio to a common rate (16000, 24000, 44100, 48000) first."
        )
    return rate


def _check_samples(x, what: str = "audio") -> np.ndarray:
    """A non-empty 1-D float array of finite samples, as float32, else UserError."""
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise UserError(
            f"expected {what} as floating-point samples, found dtype {x.dtype}. "
            "Convert first, e.g. x.astype(np.float32) / 32768 for 16-bit PCM."
        )
    if x.ndim != 1:
        raise UserError(
            f"expected {what} as a 1-D array of mono samples, found shape {x.shape}. Average the channels first."
        )
    if x.size == 0:
        raise UserError(f"expected {what} with at least one sample, found none. Pass a non-empty clip.")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise UserError(_non_finite_message(x, what))
    return x


def _non_finite_message(x: np.ndarray, what: str, rate: int | None = None) -> str:
    bad = ~np.isfinite(x)
    first = int(np.argwhere(bad)[0][0])  # the frame index, for (frames, channels) arrays too
    where = f"sample {first}" + (f", {first / rate:.3f} s" if rate else "")
    return (
        f"expected {what} with finite sample values, found {int(bad.sum())} NaN or infinite sample(s) "
        f"(first at {where}). Fix or re-export the recording; NaN/Inf in a float file usually comes from "
        "a broken processing step."
    )


def resample(x: np.ndarray, from_rate: int, to_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Resample 1-D float samples from `from_rate` to `to_rate` Hz with a polyphase FIR filter.

    `scipy.signal.resample_poly` with up/down = to_rate/from_rate reduced by their gcd (Kaiser
    window, beta 5). The output has ceil(len(x) * up / down) samples. float32 in, float32 out.
    """
    x = _check_samples(x)
    from_rate = _check_rate(from_rate, "source sample rate")
    to_rate = _check_rate(to_rate, "target sample rate")
    if from_rate == to_rate:
        return x.copy()
    g = math.gcd(from_rate, to_rate)
    y = scipy.signal.resample_poly(x, to_rate // g, from_rate // g)
    return np.asarray(y, dtype=np.float32)


def normalize(x: np.ndarray, target_dbfs: float = TARGET_DBFS, eps: float = EPS) -> np.ndarray:
    """Scale to `target_dbfs` RMS, then divide by the peak if it exceeds 1: the feature extractor's step.

    The same float32 arithmetic as transformers 5.23's `VibeVoiceAcousticTokenizerFeatureExtractor`:
    rms = sqrt(mean(x**2)) over the whole clip; x *= 10**(target/20) / (rms + eps); if max|x| > 1:
    x /= max|x| + eps. An all-zero clip stays all zeros (as there); `prepare` rejects silent clips.
    """
    x = _check_samples(x)
    # The mean of squares is accumulated in float64 and rounded to float32; torch keeps the result in
    # float32 too, so both agree to float32 rounding.
    rms = np.float32(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    gain = np.float32(10.0 ** (target_dbfs / 20.0)) / (rms + np.float32(eps))
    y = x * np.float32(gain)
    peak = np.max(np.abs(y))
    if peak > 1.0:
        y = y / (peak + np.float32(eps))
    return y.astype(np.float32, copy=False)


def num_audio_tokens(num_samples: int, hop: int = HOP_LENGTH) -> int:
    """Audio tokens for `num_samples` samples at 24 kHz: ceil(num_samples / hop)."""
    num_samples, hop = int(num_samples), int(hop)
    if num_samples < 0 or hop <= 0:
        raise ValueError(f"expected num_samples >= 0 and hop > 0, got {num_samples} and {hop}")
    return -(-num_samples // hop)


def pad_to_hop(x: np.ndarray, hop: int = HOP_LENGTH) -> np.ndarray:
    """Right-pad 1-D samples with zeros to a multiple of `hop` (a new float32 array)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 1:
        raise ValueError(f"expected 1-D samples, got shape {x.shape}")
    padded = np.zeros(num_audio_tokens(len(x), hop) * int(hop), dtype=np.float32)
    padded[: len(x)] = x
    return padded


def duration_seconds(num_samples: int, rate: int = SAMPLE_RATE) -> float:
    """num_samples / rate."""
    return int(num_samples) / int(rate)


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------
# The header checks below (_looks_like_mp3, _mp3_has_frame_count, _wav_truncation, _ogg_truncation)
# stay hand-written: libsndfile reads a cut WAV or Ogg short without an error and says so only in its
# log text (sf.info(verbose=True): "data : 55560 (should be 27758)", "Ogg: Last page lacks an
# end-of-stream bit."; a log, not an API). mutagen would do the Ogg page walk as well
# (mutagen.ogg.OggPage raises on a short page) but it is GPL-2.0-or-later and this package is MIT;
# tinytag (MIT) reports durations, never truncation.


@functools.lru_cache(maxsize=1)
def _soundfile_reads_mp3() -> bool:
    """libsndfile decodes MP3 from 1.1.0 on (the soundfile >= 0.12 wheels bundle such a build)."""
    return "MP3" in sf.available_formats()


def _looks_like_mp3(path: Path, head: bytes) -> bool:
    # Hand-written: three magic checks, and only for a libsndfile without MP3 (older than the lock's);
    # a sniffing package (puremagic, filetype) would be a dependency for this fallback alone.
    if head[:3] == b"ID3":
        return True
    if len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0:
        return True
    return path.suffix.lower() in (".mp3", ".mpga", ".mp2")


def _mp3_has_frame_count(path: Path) -> bool:
    """Whether the MP3 carries a Xing/Info header: then libsndfile's frame count is exact, not a guess."""
    # Hand-written: tinytag and mutagen parse this header but say whether they found it only through
    # private parts (mutagen.mp3._util.XingHeader; MPEGFrame.sketchy, which counts VBRI headers too).
    with open(path, "rb") as f:
        head = f.read(10)
        start = 0
        if head[:3] == b"ID3" and len(head) == 10:  # skip an ID3v2 tag (its size is "syncsafe": 7 bits a byte)
            size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
            start = 10 + size + (10 if head[5] & 0x10 else 0)
        f.seek(start)
        first_frame = f.read(2048)
    return b"Xing" in first_frame or b"Info" in first_frame


def _wav_truncation(path: Path, file_size: int) -> str | None:
    """If a RIFF/WAVE data chunk declares more bytes than the file holds, say how much is missing."""
    # Hand-written: mutagen.wave and tinytag give the declared length but not where the data chunk
    # starts (so not how much the file holds), read no RIFX, and take a pipe's 0/0xFFFFFFFF as a size.
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None  # RF64, W64 and others: leave it to libsndfile
        endian = "<" if head[:4] == b"RIFF" else ">"
        pos, block_align, rate = 12, 0, 0
        while pos + 8 <= file_size:
            f.seek(pos)
            chunk = f.read(8)
            cid, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = f.read(16)
                if len(fmt) == 16:
                    _, _, rate, _, block_align, _ = struct.unpack(endian + "HHIIHH", fmt)
            elif cid == b"data":
                if size in (0, 0xFFFFFFFF):
                    return None  # written to a pipe: the size was never filled in
                available = file_size - (pos + 8)
                if available >= size:
                    return None
                if block_align and rate:
                    declared_s, found_s = size // block_align / rate, available // block_align / rate
                    return f"its header declares {declared_s:.2f} s of audio but the file holds only {found_s:.2f} s"
                return f"its header declares {size} bytes of samples but the file holds only {available}"
            pos += 8 + size + (size & 1)
    return None


def _ogg_truncation(path: Path, file_size: int) -> str | None:
    """If the last Ogg page runs past the end of the file, say so (walks page headers only)."""
    # Hand-written: mutagen.ogg.OggPage finds the same short pages (the same on every cut of the test
    # Ogg and Opus files) but mutagen is GPL; tinytag's page reader stops at a short page silently.
    with open(path, "rb") as f:
        pos = 0
        while pos < file_size:
            f.seek(pos)
            header = f.read(27)
            if not b"OggS".startswith(header[:4]):
                return None  # not a page boundary: unknown layout, leave it to libsndfile
            if len(header) < 27:
                return f"it ends inside an Ogg page header at byte {pos}"
            segments = f.read(header[26])
            if len(segments) < header[26]:
                return f"it ends inside an Ogg page header at byte {pos}"
            end = pos + 27 + len(segments) + sum(segments)
            if end > file_size:
                return f"its last Ogg page (at byte {pos}) needs {end - file_size} more bytes than the file holds"
            pos = end
    return None


def _damaged(path: Path, found: str) -> UserError:
    return UserError(
        f"expected a complete {SUPPORTED} file, but {str(path)!r} is truncated or damaged: {found}. "
        f"Copy or download the file again, or re-export it; if it plays elsewhere, {CONVERT_HINT}."
    )


def _decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    """MP3 through ffmpeg, for a libsndfile older than 1.1 (no MP3 decoder)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise UserError(
            f"expected an audio format this installation decodes, but {str(path)!r} is MP3 and the libsndfile "
            f"under soundfile (version {sf.__libsndfile_version__}) has no MP3 decoder, and ffmpeg is not on PATH. "
            "Install soundfile >= 0.12 (its wheels bundle libsndfile with MP3) or ffmpeg, or convert the file "
            "to WAV or FLAC."
        )
    with tempfile.TemporaryDirectory(prefix="vibevoice-audio-") as tmp:
        wav = Path(tmp) / "decoded.wav"
        result = subprocess.run(
            [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-i", str(path),
             "-map", "0:a:0", "-c:a", "pcm_f32le", "-f", "wav", str(wav)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0 or not wav.exists():
            detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
            raise _damaged(path, f"ffmpeg could not decode it ({detail})")
        data, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    return data, int(rate)


def _decode_with_soundfile(path: Path, file_size: int) -> tuple[np.ndarray, int]:
    try:
        f = sf.SoundFile(str(path))
    except (sf.SoundFileError, RuntimeError) as error:
        if getattr(error, "code", 1) != 1:  # 1: format not recognised; others: recognised but broken
            with open(path, "rb") as raw:
                magic = raw.read(4)
            truncation = None
            if magic in (b"RIFF", b"RIFX"):
                truncation = _wav_truncation(path, file_size)
            elif magic == b"OggS":
                truncation = _ogg_truncation(path, file_size)
            raise _damaged(path, truncation or _libsndfile_message(error)) from None
        raise UserError(
            f"expected a {SUPPORTED} file, but {str(path)!r} ({file_size} bytes) is not audio that libsndfile "
            f"recognises ({_libsndfile_message(error)}). Check that this is the right file; if it is audio in "
            f"another format (m4a, webm, ...), {CONVERT_HINT}."
        ) from None
    with f:
        declared, fmt, rate = f.frames, f.format, f.samplerate
        truncation = None
        if fmt in ("WAV", "WAVEX"):
            truncation = _wav_truncation(path, file_size)
        elif fmt == "OGG":
            truncation = _ogg_truncation(path, file_size)
        if truncation:
            raise _damaged(path, truncation)
        if rate <= 0:
            raise _damaged(path, f"its header declares a sample rate of {rate} Hz")
        try:
            if fmt == "MP3":
                # Without a Xing/Info header libsndfile's MP3 length is a guess that can be several times
                # too long: read in blocks rather than allocating the guess.
                blocks = []
                while len(block := f.read(1 << 20, dtype="float32", always_2d=True)):
                    blocks.append(block)
                data = np.concatenate(blocks) if blocks else np.zeros((0, f.channels), np.float32)
            else:
                data = f.read(dtype="float32", always_2d=True)
        except (sf.SoundFileError, RuntimeError) as error:
            raise _damaged(path, f"decoding failed ({_libsndfile_message(error)})") from None
    # libsndfile knows the exact length of WAV, FLAC and Ogg files, and of MP3 files with a Xing/Info
    # header; otherwise its MP3 length is an estimate from the bit rate.
    if len(data) < declared and (fmt != "MP3" or _mp3_has_frame_count(path)):
        raise _damaged(
            path, f"its header declares {declared / rate:.2f} s of audio but only {len(data) / rate:.2f} s decode"
        )
    return data, int(rate)


def _libsndfile_message(error: Exception) -> str:
    message = str(error).strip()
    # "Error opening 'x': Format not recognised." -> "Format not recognised"
    return message.split(": ", 1)[-1].rstrip(".") if message.startswith("Error opening") else message.rstrip(".")


def load_audio(path: str | os.PathLike) -> tuple[np.ndarray, int]:
    """Decode an audio file to mono float32 at its own rate: (samples, sample_rate).

    Channels are averaged. Raises UserError for a missing, empty, truncated, non-audio or
    zero-length file, and for NaN/Inf samples.
    """
    path = Path(os.fspath(path))
    if not path.exists():
        raise UserError(
            f"expected an audio file ({SUPPORTED}), but {str(path)!r} does not exist. Check the path and spelling."
        )
    if not path.is_file():
        raise UserError(
            f"expected an audio file ({SUPPORTED}), but {str(path)!r} is a directory or not a regular file. "
            "Pass the path of one audio file."
        )
    try:
        file_size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError as error:
        raise UserError(
            f"expected a readable audio file, but {str(path)!r} cannot be read ({error.strerror or error}). "
            "Check its permissions."
        ) from None
    if file_size == 0:
        raise UserError(
            f"expected an audio file ({SUPPORTED}), but {str(path)!r} is empty (0 bytes). "
            "The recording or download probably failed: record or copy it again."
        )
    if not _soundfile_reads_mp3() and _looks_like_mp3(path, head):
        data, rate = _decode_with_ffmpeg(path)
    else:
        data, rate = _decode_with_soundfile(path, file_size)
    if data.shape[0] == 0:
        raise UserError(
            f"expected audio samples, but {str(path)!r} is a valid file with 0 frames (no audio at all). "
            "Pass a recording that contains speech."
        )
    try:
        rate = _check_rate(rate, f"sample rate in the header of {str(path)!r}")
    except UserError as error:
        raise _damaged(path, str(error)) from None
    if not np.isfinite(data).all():
        raise UserError(_non_finite_message(data, f"the samples of {str(path)!r}", rate))
    return _to_mono(data), rate


def load_audio_24k(path: str | os.PathLike) -> np.ndarray:
    """Decode an audio file to mono float32 at 24000 Hz."""
    samples, rate = load_audio(path)
    return resample(samples, rate, SAMPLE_RATE)


def _to_mono(frames_by_channels: np.ndarray) -> np.ndarray:
    """(frames, channels) -> (frames,), averaging channels (as VibeVoice does)."""
    if frames_by_channels.shape[1] == 1:
        return np.ascontiguousarray(frames_by_channels[:, 0], dtype=np.float32)
    return frames_by_channels.mean(axis=1, dtype=np.float64).astype(np.float32)


def _array_to_mono(audio) -> np.ndarray:
    """A 1-D array, or 2-D (frames, channels) / (channels, frames) with channels the shorter axis."""
    x = np.asarray(audio)
    if x.dtype.kind != "f":
        raise UserError(
            f"expected audio samples as a floating-point array (float32 or float64, values in [-1, 1]), found "
            f"dtype {x.dtype}. Convert first, e.g. x.astype(np.float32) / 32768 for 16-bit PCM."
        )
    if x.ndim == 1:
        frames = x[:, None]
    elif x.ndim == 2 and min(x.shape) <= MAX_CHANNELS:
        frames = x if x.shape[1] <= x.shape[0] else x.T
    else:
        raise UserError(
            f"expected a 1-D array (mono samples) or a 2-D array (frames, channels) with at most {MAX_CHANNELS} "
            f"channels, found shape {x.shape}. Pass one clip at a time; for a batch, call prepare once per clip."
        )
    if frames.shape[0] == 0 or frames.shape[1] == 0:
        raise UserError(f"expected audio samples, found an empty array (shape {x.shape}). Pass a non-empty clip.")
    frames = frames.astype(np.float32, copy=False)
    if not np.isfinite(frames).all():
        raise UserError(_non_finite_message(frames, "audio samples"))
    return _to_mono(frames)


def prepare(audio, sample_rate: int | None = None, front: FrontEnd = FrontEnd()) -> PreparedAudio:
    """A file path, or an array with its `sample_rate`, -> PreparedAudio for the encoders.

    Mono (channels averaged), resampled to `front.sample_rate` (polyphase), normalised to
    `front.target_dbfs` with the peak guard, zero-padded to a multiple of `front.hop_length`; by default
    the real model's 24 kHz, -25 dBFS and 3200, else what an artifact folder says (`FrontEnd.from_folder`).
    Raises UserError for bad or silent input.
    """
    if isinstance(audio, (str, os.PathLike)):
        if sample_rate is not None:
            raise UserError(
                f"expected no sample_rate with a file path (the file declares its own rate), found "
                f"sample_rate={sample_rate!r}. Leave it out, or pass the decoded array instead of the path."
            )
        samples, rate = load_audio(audio)
        what = repr(os.fspath(audio))
    else:
        rate = _check_rate(sample_rate)
        samples = _array_to_mono(audio)
        what = "the audio array"
    x = resample(samples, rate, front.sample_rate)
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    if rms < front.eps:
        level = "all zeros" if not np.any(x) else f"RMS level {20 * math.log10(rms):.0f} dBFS"
        raise UserError(
            f"expected speech, but {what} is silent ({level}, {len(x) / front.sample_rate:.2f} s): there is nothing to "
            "transcribe. Check the recording (muted microphone, wrong input device or channel)."
        )
    if front.normalize:
        x = normalize(x, front.target_dbfs, front.eps)
    n = len(x)
    return PreparedAudio(
        samples=pad_to_hop(x, front.hop_length),
        num_samples=n,
        num_audio_tokens=num_audio_tokens(n, front.hop_length),
        duration=duration_seconds(n, front.sample_rate),
        source_sample_rate=rate,
    )
