"""`vibevoice-asr-web reference`: the file the browser tests compare with."""

import json

import numpy as np
import pytest

from vibevoice_asr_web import audio, cli

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.runtime.pipeline import Transcriber
from vibevoice_asr_web.runtime.reference import top_logits
from vibevoice_asr_web.runtime.sessions import variants_present

AUDIO = ("hello.wav", "long_story.wav")
HOTWORDS = "Robot, lighthouse\nharbor"


@pytest.fixture(scope="module")
def reference(fp32_artifacts, test_audio_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    args = ["reference", "--onnx-dir", str(fp32_artifacts), "--audio", *(str(test_audio_dir / a) for a in AUDIO),
            "--hotwords", HOTWORDS, "--max-new-tokens", "24", "--quiet"]  # fmt: skip
    assert cli.main([*args, "--output", str(folder / "a.json")]) == 0
    assert cli.main([*args, "--output", str(folder / "b.json")]) == 0
    return (folder / "a.json").read_text(), (folder / "b.json").read_text()


def test_reference_is_deterministic_with_sorted_keys(reference):
    first, second = reference
    assert first == second
    assert first == json.dumps(json.loads(first), indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def test_reference_records_graphs_audio_and_settings(reference, fp32_artifacts, test_audio_dir):
    report = json.loads(reference[0])
    files = manifest.read(fp32_artifacts)["files"]
    assert list(report["variants"]) == ["fp32"]
    fp32 = report["variants"]["fp32"]
    assert fp32["graphs"] == {name: files[name]["sha256"] for name in files if name.startswith("onnx/")}
    assert fp32["eos_token_ids"] == json.loads((fp32_artifacts / "generation_config.json").read_text())["eos_token_id"]
    assert fp32["max_new_tokens"] == 24 and report["hotwords"] == HOTWORDS
    for entry, name in zip(report["audio"], AUDIO):
        clip = audio.prepare(test_audio_dir / name)
        assert entry["name"] == name and entry["sha256"] == manifest.sha256_file(test_audio_dir / name)
        assert (entry["num_samples"], entry["num_audio_tokens"]) == (clip.num_samples, clip.num_audio_tokens)


def test_reference_results_match_the_runtime(reference, fp32_artifacts, test_audio_dir):
    results = json.loads(reference[0])["variants"]["fp32"]["results"]
    transcriber = Transcriber(fp32_artifacts)
    for entry, name in zip(results, AUDIO):
        r = transcriber.transcribe(audio.prepare(test_audio_dir / name), hotwords=HOTWORDS, max_new_tokens=24)
        assert entry["audio"] == name
        assert (entry["prompt_ids"], entry["generated_ids"], entry["stop_reason"]) == (r.prompt_ids, r.generation.token_ids, r.generation.stop_reason)
        assert entry["text"] == r.transcript.text and entry["parsed"] is False
        top = entry["first_step_top_logits"]
        assert len(top["ids"]) == len(top["values"]) == 10
        assert top["ids"][0] == entry["generated_ids"][0]  # the first step's argmax is the first token
        assert top["values"] == sorted(top["values"], reverse=True)
        np.testing.assert_allclose(top["values"], r.generation.first_logits[top["ids"]], rtol=0, atol=0)


def test_top_logits_breaks_ties_by_id():
    assert top_logits(np.array([1.0, 3.0, 3.0, -1.0, 2.0], np.float32), k=4) == {"ids": [1, 2, 4, 0], "values": [3.0, 3.0, 2.0, 1.0]}


def test_variants_present_detects_complete_graph_sets(tmp_path):
    (tmp_path / "onnx").mkdir()
    for dtype in ("fp32", "q4f16"):
        for graph in contract.GRAPH_NAMES:
            (tmp_path / "onnx" / contract.onnx_file_name(graph, dtype)).touch()
    (tmp_path / "onnx" / contract.onnx_file_name(contract.DECODER, "fp16")).touch()  # incomplete: not a variant
    assert variants_present(tmp_path) == ["fp32", "q4f16"]
    assert variants_present(tmp_path / "nowhere") == []


def test_a_folder_without_graphs_is_a_clear_error(capsys, tmp_path, test_audio_dir):
    (tmp_path / "empty").mkdir()
    rc = cli.main(["reference", "--onnx-dir", str(tmp_path / "empty"), "--audio", str(test_audio_dir / "hello.wav"), "--output", str(tmp_path / "r.json")])
    assert rc == 1 and "holds no complete set of graphs" in capsys.readouterr().err
    assert not (tmp_path / "r.json").exists()
