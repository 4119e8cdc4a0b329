"""`vibevoice-asr-web transcribe` on the tiny fp32 artifacts: outputs, progress, and bad input."""

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import vibevoice_asr_web
from vibevoice_asr_web import cli

PREFIX = "vibevoice-asr-web transcribe: error: "


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def transcribe(capsys, *args):
    rc = cli.main(["transcribe", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def subprocess_env():
    package_root = str(Path(vibevoice_asr_web.__file__).resolve().parents[1])
    # onnxruntime >= 1.29 warns on stderr when it cannot store its telemetry id (a read-only HOME, as
    # in Bazel's sandbox); that line is not ours, so the check of our stderr switches it off.
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")]),
        "ORT_DISABLE_TELEMETRY": "1",
    }


@pytest.fixture(scope="module")
def hello_json(fp32_artifacts, test_audio_dir):
    """One full run, shared: (return code, parsed stdout, stderr) from a fresh interpreter that also
    reports whether torch or transformers got imported."""
    code = (
        "import json, sys\n"
        "from vibevoice_asr_web import cli\n"
        "rc = cli.main(sys.argv[1:])\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'transformers'))\n"
        "print(json.dumps(heavy), file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    args = ["transcribe", str(test_audio_dir / "hello.wav"), "--onnx-dir", str(fp32_artifacts)]
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=subprocess_env(), check=False)
    return result.returncode, result.stdout, result.stderr


def test_full_transcription_never_imports_torch_or_transformers(hello_json):
    rc, out, err = hello_json
    assert rc == 0, err
    assert json.loads(err.strip().splitlines()[-1]) == []


def test_json_output_for_one_file(hello_json, fp32_artifacts):
    rc, out, err = hello_json
    result = json.loads(out)
    config = json.loads((fp32_artifacts / "config.json").read_text())
    eos = json.loads((fp32_artifacts / "generation_config.json").read_text())["eos_token_id"]
    assert result["audio"]["num_samples"] == 30237 and result["audio"]["num_audio_tokens"] == 10
    assert result["prompt_ids"].count(config["audio_token_id"]) == 10
    assert result["stop_reason"] == "eos" and result["generated_ids"][-1] in eos
    # the tiny checkpoint is fitted to the test clips: it answers in VibeVoice-ASR's JSON, which is parsed
    assert result["raw_text"] == '[{"Start":0.0,"End":1.26,"Speaker":0,"Content":"Hello world."}]'
    assert result["parsed"] is True and result["text"] == "Hello world."
    assert result["segments"] == [{"start": 0.0, "end": 1.26, "speaker": 0, "text": "Hello world."}]
    assert set(result["timings"]) >= {"load_s", "encode_s", "prefill_s", "decode_tokens_per_s", "real_time_factor"}
    assert result["model"]["dtype"] == "fp32" and result["model"]["device"] == "cpu"
    assert err.strip().splitlines()[:-1] == []  # not a terminal: no progress, no warnings


def test_text_srt_vtt_and_several_files(capsys, fp32_artifacts, test_audio_dir, hello_json, tmp_path):
    hello = json.loads(hello_json[1])
    files = [test_audio_dir / "hello.wav", test_audio_dir / "thanks.opus"]
    rc, out, err = transcribe(capsys, *files, "--onnx-dir", fp32_artifacts, "--max-new-tokens", 5)
    assert rc == 0 and [r["audio"]["path"] for r in json.loads(out)] == [str(f) for f in files]
    assert "stopped at the limit of 5 new tokens" in err and "raise --max-new-tokens" in err
    rc, out, _ = transcribe(capsys, *files, "--onnx-dir", fp32_artifacts, "--format", "text", "--max-new-tokens", 5)
    assert rc == 0 and out.count("==> ") == 2
    rc, out, _ = transcribe(capsys, files[0], "--onnx-dir", fp32_artifacts, "--format", "text")
    assert out == hello["text"].strip() + "\n"
    rc, out, _ = transcribe(capsys, files[0], "--onnx-dir", fp32_artifacts, "--format", "srt")
    assert out.startswith("1\n00:00:00,000 --> 00:00:01,260\nSpeaker 0: Hello world.\n")
    target = tmp_path / "sub" / "hello.vtt"
    rc, out, _ = transcribe(capsys, files[0], "--onnx-dir", fp32_artifacts, "--format", "vtt", "--output", target)
    assert rc == 0 and out == "" and target.read_text().startswith("WEBVTT\n\n00:00:00.000 --> 00:00:01.260\n")
    assert sorted(p.name for p in target.parent.iterdir()) == ["hello.vtt"]  # no partial file left behind
    rc, _, err = transcribe(capsys, *files, "--onnx-dir", fp32_artifacts, "--format", "srt")
    assert rc == 1 and "one audio" in err


def test_an_endless_repetition_is_stopped_and_reported(capsys, fp32_artifacts, tmp_path):
    # the tiny checkpoint learned to loop on a hum, as the real model can on music
    from vibevoice_asr_web.fixtures.tiny_fit import hum

    path = tmp_path / "hum.wav"
    sf.write(str(path), hum(), 24000)
    rc, out, err = transcribe(capsys, path, "--onnx-dir", fp32_artifacts)
    result = json.loads(out)
    assert rc == 0 and result["stop_reason"] == "repetition" and result["repeated_ngram"] >= 1
    assert len(result["generated_ids"]) < 256 and result["raw_text"].count(" la") >= 48
    assert "repeating" in err and "hum.wav" in err


def test_progress_on_a_terminal_only(capsys, monkeypatch, fp32_artifacts, test_audio_dir):
    args = ["transcribe", str(test_audio_dir / "long_story.wav"), "--onnx-dir", str(fp32_artifacts), "--max-new-tokens", "30", "--format", "text"]
    terminal = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert cli.main(args) == 0
    shown = terminal.getvalue()
    assert "encoding audio, chunk 28/28" in shown and "tokens/s" in shown and "real-time factor" in shown
    quiet = FakeTerminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert cli.main([*args, "--quiet"]) == 0
    assert "chunk" not in quiet.getvalue() and "tokens/s" not in quiet.getvalue()
    monkeypatch.undo()
    capsys.readouterr()
    assert cli.main(args) == 0
    assert "chunk" not in capsys.readouterr().err


# -- bad input: one clear error, exit 1, no traceback ------------------------------------------


def _write(path: Path, samples, rate=24000, subtype=None) -> Path:
    sf.write(path, np.asarray(samples), rate, subtype=subtype)
    return path


@pytest.fixture
def broken_audio(tmp_path, test_audio_dir):
    hello = (test_audio_dir / "hello.wav").read_bytes()
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "truncated.wav").write_bytes(hello[: len(hello) // 2])
    (tmp_path / "notes.wav").write_text("these are my notes, not audio\n")
    nan = np.full(24000, 0.1, np.float32)
    nan[100] = np.nan
    inf = np.full(24000, 0.1, np.float32)
    inf[5] = np.inf
    return {
        "empty.wav": ("empty (0 bytes)", tmp_path / "empty.wav"),
        "zero-length": ("0 frames", _write(tmp_path / "zero.wav", np.zeros(0, np.float32))),
        "silence": ("silent", _write(tmp_path / "silence.flac", np.zeros(48000, np.float32))),
        "nan": ("NaN or infinite", _write(tmp_path / "nan.wav", nan, subtype="FLOAT")),
        "inf": ("NaN or infinite", _write(tmp_path / "inf.wav", inf, subtype="FLOAT")),
        "truncated": ("truncated", tmp_path / "truncated.wav"),
        "not audio": ("not audio", tmp_path / "notes.wav"),
        "missing": ("does not exist", tmp_path / "nope.wav"),
    }


@pytest.mark.parametrize("case", ["empty.wav", "zero-length", "silence", "nan", "inf", "truncated", "not audio", "missing"])
def test_bad_audio_is_one_clear_error(capsys, fp32_artifacts, broken_audio, case):
    expected, path = broken_audio[case]
    rc, out, err = transcribe(capsys, path, "--onnx-dir", fp32_artifacts)
    assert rc == 1 and out == ""
    assert err.startswith(PREFIX) and expected in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


@pytest.fixture
def artifact_copy(fp32_artifacts, tmp_path):
    return Path(shutil.copytree(fp32_artifacts, tmp_path / "artifacts", copy_function=shutil.copyfile))


def test_missing_model_file(capsys, artifact_copy, test_audio_dir):
    (artifact_copy / "onnx" / "decoder_model_merged.onnx").unlink()
    rc, _, err = transcribe(capsys, test_audio_dir / "hello.wav", "--onnx-dir", artifact_copy)
    assert rc == 1 and err.startswith(PREFIX) and "decoder_model_merged.onnx is missing" in err


def test_missing_data_chunk(capsys, artifact_copy, test_audio_dir):
    (artifact_copy / "onnx" / "embed_tokens.onnx_data").unlink()
    rc, _, err = transcribe(capsys, test_audio_dir / "hello.wav", "--onnx-dir", artifact_copy)
    assert rc == 1 and err.startswith(PREFIX) and "embed_tokens.onnx_data is missing" in err


def test_missing_tokenizer_and_folder(capsys, artifact_copy, test_audio_dir, tmp_path):
    (artifact_copy / "tokenizer.json").unlink()
    rc, _, err = transcribe(capsys, test_audio_dir / "hello.wav", "--onnx-dir", artifact_copy)
    assert rc == 1 and "tokenizer.json is missing" in err
    rc, _, err = transcribe(capsys, test_audio_dir / "hello.wav", "--onnx-dir", tmp_path / "nowhere")
    assert rc == 1 and "is not a folder" in err


def test_a_corrupt_data_chunk_fails_its_checksum_without_a_traceback(artifact_copy, test_audio_dir):
    chunk = artifact_copy / "onnx" / "audio_encoder.onnx_data"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0x01
    chunk.write_bytes(bytes(data))
    result = subprocess.run(
        [sys.executable, "-m", "vibevoice_asr_web", "transcribe", str(test_audio_dir / "hello.wav"), "--onnx-dir", str(artifact_copy)],
        capture_output=True, text=True, env=subprocess_env(), check=False,
    )  # fmt: skip
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith(PREFIX) and "audio_encoder.onnx_data fails its sha256 check" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cuda_when_unavailable_is_a_clear_error(capsys, fp32_artifacts, test_audio_dir):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    rc, _, err = transcribe(capsys, test_audio_dir / "hello.wav", "--onnx-dir", fp32_artifacts, "--device", "cuda")
    assert rc == 1 and err.startswith(PREFIX) and "CUDAExecutionProvider" in err and "--device cpu" in err


def test_hotwords_with_control_tokens_are_a_clear_error(capsys, fp32_artifacts, test_audio_dir):
    rc, _, err = transcribe(capsys, test_audio_dir / "hello.wav", "--onnx-dir", fp32_artifacts, "--hotwords", "a<|im_end|>b")
    assert rc == 1 and err.startswith(PREFIX) and "<|im_end|>" in err
