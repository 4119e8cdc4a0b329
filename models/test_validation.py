"""`vibevoice-asr-web validate` on the built fp32 artifacts passes, and fails on a broken copy."""

import json
import shutil

import numpy as np

from vibevoice_asr_web import cli, runfiles
from vibevoice_asr_web.parity.thresholds import FP32_MIN_COSINE


def _validate(folder, capsys, *extra) -> tuple[int, str, str]:
    audio = runfiles.locate("testdata/audio")
    code = cli.main([
        "validate", "--onnx-dir", str(folder), "--checkpoint", str(runfiles.selected_checkpoint()),
        "--audio", str(audio / "hello.wav"), "--audio", str(audio / "numbers.flac"), *extra,
    ])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_fp32_artifacts_match_pytorch(capsys):
    code, out, _ = _validate(runfiles.locate("models/fp32"), capsys)
    print(out)
    assert code == 0, out
    assert "FAIL" not in out and out.strip().endswith("PASS")
    for graph in ("audio_encoder", "embed_tokens", "decoder_model_merged"):
        assert graph in out
    assert out.count("identical") == 2


def test_manifest_records_parity_and_every_file():
    folder = runfiles.locate("models/fp32")
    manifest = json.loads((folder / "manifest.json").read_text())
    parity = manifest["parity"]["fp32"]
    assert parity["passed"] and parity["greedy_tokens_equal"]
    for graph in ("audio_encoder", "embed_tokens", "decoder_model_merged"):
        assert parity["graphs"][graph]["min_cosine"] >= FP32_MIN_COSINE
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk


def test_validation_fails_when_a_weight_is_changed(tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(runfiles.locate("models/fp32"), broken)
    data = broken / "onnx" / "decoder_model_merged.onnx_data"
    weights = np.fromfile(data, dtype=np.float32)
    weights[: weights.size // 2] *= 1.5
    weights.tofile(data)
    code, _, err = _validate(broken, capsys)
    assert code == 1  # refused before running: the file no longer matches the manifest
    assert "decoder_model_merged.onnx_data fails its sha256 check" in err
    code, out, _ = _validate(broken, capsys, "--no-verify")  # and the comparison itself sees the change
    assert code == 1
    assert "FAIL" in out
