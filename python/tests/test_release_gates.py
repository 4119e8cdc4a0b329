"""The release gates one by one (each made to fail by a folder built to break it), the browser
gate's reading of the suite, the model card, and a release of two variants staged together."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.release import browser, card, command, gates
from vibevoice_asr_web.release.state import State, file_sha256, locked

QUIET = Progress(quiet=True)


# -- folders built to pass or fail ----------------------------------------------------------------

def variant_from_fp32(fp32_dir: Path, out: Path, dtype: str) -> Path:
    """A folder holding the fp32 graphs under another dtype's names (as `quantize` lays it out).

    Its numbers equal fp32's, so it passes parity as q4; as fp16 it breaks the contract (fp16
    graphs take float16 inputs)."""
    import onnx

    out.mkdir(parents=True)
    for path in fp32_dir.iterdir():
        if path.is_file() and path.name not in (manifest.MANIFEST, "config.json"):
            shutil.copyfile(path, out / path.name)
    (out / "onnx").mkdir()
    info = manifest.read(fp32_dir)
    graphs = {}
    for graph, summary in info["graphs"]["fp32"].items():
        model = onnx.load(str(fp32_dir / summary["file"]), load_external_data=False)
        renamed = {}
        for name in summary["data_files"]:
            new = Path(name).name.replace(f"{graph}.onnx", contract.onnx_file_name(graph, dtype))
            renamed[Path(name).name] = new
            shutil.copyfile(fp32_dir / name, out / "onnx" / new)
        for tensor in model.graph.initializer:
            for entry in tensor.external_data:
                if entry.key == "location":
                    entry.value = renamed[entry.value]
        onnx.save(model, str(out / "onnx" / contract.onnx_file_name(graph, dtype)))
        graphs[graph] = {**summary, "file": f"onnx/{contract.onnx_file_name(graph, dtype)}", "data_files": [f"onnx/{n}" for n in renamed.values()]}
    config = json.loads((fp32_dir / "config.json").read_text())
    config["transformers.js_config"] = {
        "dtype": {g: dtype for g in contract.GRAPH_NAMES},
        "use_external_data_format": {Path(s["file"]).name: len(s["data_files"]) for s in graphs.values()},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    manifest.write(out, source=info["source"], dtypes=[dtype], graphs={dtype: graphs}, parity={})
    return out


def synthetic_folder(folder: Path, dtype: str, tensor_bytes: int, chunk_bytes: int | None = None, announce: int | None = None) -> Path:
    """Three tiny graphs whose first initializer claims `tensor_bytes` of external data."""
    import onnx
    from onnx import TensorProto, helper

    onnx_dir = folder / "onnx"
    onnx_dir.mkdir(parents=True, exist_ok=True)
    announced = {}
    for graph in contract.GRAPH_NAMES:
        name = contract.onnx_file_name(graph, dtype)
        tensor = TensorProto(name="w", data_type=TensorProto.UINT8, dims=[tensor_bytes])
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", f"{name}_data"), ("offset", "0"), ("length", str(tensor_bytes))):
            entry = tensor.external_data.add()
            entry.key, entry.value = key, value
        node = helper.make_node("Identity", ["w"], ["y"])
        model = helper.make_model(helper.make_graph([node], graph, [], [helper.make_tensor_value_info("y", TensorProto.UINT8, [tensor_bytes])], [tensor]))
        model.ir_version = 10
        onnx.save(model, str(onnx_dir / name))
        with open(onnx_dir / f"{name}_data", "wb") as f:
            f.truncate(chunk_bytes if chunk_bytes is not None else tensor_bytes)  # sparse: no disk used
        announced[name] = 1 if announce is None else announce
    (folder / "config.json").write_text(json.dumps({"transformers.js_config": {"use_external_data_format": announced}}))
    return folder


# -- buffers and chunks ---------------------------------------------------------------------------

def test_buffers_gate_fails_a_browser_variant_with_a_tensor_over_1_gib(tmp_path):
    over = (1 << 30) + 64
    for dtype in ("q4", "fp32"):
        synthetic_folder(tmp_path / dtype, dtype, over)
    [q4] = gates.check_buffers(["q4"], gates.Graphs(tmp_path / "q4"))
    [fp32] = gates.check_buffers(["fp32"], gates.Graphs(tmp_path / "fp32"))
    assert q4.result == gates.FAIL and "1.07 GB > 1 GiB" in q4.detail
    assert fp32.result == gates.PASS and "over 1 GiB" in fp32.detail
    synthetic_folder(tmp_path / "small", "q4f16", 1 << 30)
    assert gates.check_buffers(["q4f16"], gates.Graphs(tmp_path / "small"))[0].result == gates.PASS


def test_chunks_gate_fails_a_chunk_over_2_gb_except_in_fp32(tmp_path):
    big = contract.MAX_CHUNK_BYTES + 1
    for dtype in ("q4", "fp32"):
        synthetic_folder(tmp_path / dtype, dtype, 1024, chunk_bytes=big)
    [q4] = gates.check_chunks(tmp_path / "q4", ["q4"], gates.Graphs(tmp_path / "q4"))
    [fp32] = gates.check_chunks(tmp_path / "fp32", ["fp32"], gates.Graphs(tmp_path / "fp32"))
    assert q4.result == gates.FAIL and "audio_encoder_q4.onnx_data is 2.00 GB > 2 GB" in q4.detail
    assert fp32.result == gates.PASS and "exempt" in fp32.detail


def test_chunks_gate_checks_the_naming_and_what_config_json_announces(tmp_path):
    folder = synthetic_folder(tmp_path / "a", "q4", 1024, announce=2)
    (folder / "onnx" / "embed_tokens_q4.onnx_data_2").write_bytes(b"x")  # _data_1 missing: never fetched
    [row] = gates.check_chunks(folder, ["q4"], gates.Graphs(folder))
    assert row.result == gates.FAIL
    assert "config.json announces 2 data chunk(s) for audio_encoder_q4.onnx, the folder holds 1" in row.detail
    assert "embed_tokens_q4.onnx_data_2: not in the X.onnx_data, X.onnx_data_1" in row.detail
    ok = synthetic_folder(tmp_path / "b", "q4", 1024)
    assert gates.check_chunks(ok, ["q4"], gates.Graphs(ok))[0].result == gates.PASS


# -- files and contract on real artifacts ---------------------------------------------------------

@pytest.fixture(scope="module")
def fp32_copy(fp32_artifacts, tmp_path_factory):
    return Path(shutil.copytree(fp32_artifacts, tmp_path_factory.mktemp("fp32") / "fp32"))


def test_files_gate_fails_an_unlisted_file_and_a_missing_graph(fp32_copy, tmp_path):
    folder = Path(shutil.copytree(fp32_copy, tmp_path / "f"))
    (folder / "notes.txt").write_text("not in the manifest")
    info = manifest.read(folder)
    del info["files"]["onnx/embed_tokens.onnx"]
    (folder / manifest.MANIFEST).write_text(json.dumps(info))
    rows = {r.variant: r for r in gates.check_files(folder, ["fp32"])}
    assert rows["shared"].result == gates.FAIL and "notes.txt is not in the manifest" in rows["shared"].detail
    assert rows["fp32"].result == gates.FAIL and "onnx/embed_tokens.onnx is not in the manifest" in rows["fp32"].detail


def test_contract_gate_passes_the_export_and_fails_a_renamed_input(fp32_copy, tmp_path):
    import onnx

    assert gates.check_contract(fp32_copy, ["fp32"], gates.Graphs(fp32_copy))[0].result == gates.PASS
    folder = Path(shutil.copytree(fp32_copy, tmp_path / "c"))
    path = folder / "onnx" / "decoder_model_merged.onnx"
    model = onnx.load(str(path), load_external_data=False)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    model.ir_version = 11
    onnx.save(model, str(path))
    [row] = gates.check_contract(folder, ["fp32"], gates.Graphs(folder))
    assert row.result == gates.FAIL
    assert "the batch dim is 'batch'" in row.detail and "ir_version 11 > 10" in row.detail


# -- two variants in one release ------------------------------------------------------------------

def test_a_release_of_fp32_and_q4_is_staged_checked_and_described(fp32_copy, tiny_checkpoint, test_audio_dir, tmp_path, capsys):
    q4 = variant_from_fp32(fp32_copy, tmp_path / "q4", "q4")
    args = [
        "--repo-id", "someone/vv", "--checkpoint", str(tiny_checkpoint), "--fp32-dir", str(fp32_copy), "--variants-dir", str(q4),
        "--dtypes", "q4,fp32", "--work-dir", str(tmp_path / "work"), "--audio", str(Path(test_audio_dir) / "hello.wav"),
        "--no-browser", "--dry-run", "--base-model", "microsoft/VibeVoice-ASR-HF@abc123",
    ]
    assert command.main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    folder = tmp_path / "work" / "release"
    info = manifest.read(folder)
    assert info["dtypes"] == ["fp32", "q4"]
    config = json.loads((folder / "config.json").read_text())
    assert config["transformers.js_config"]["dtype"] == {g: "q4" for g in contract.GRAPH_NAMES}
    assert set(config["transformers.js_config"]["use_external_data_format"]) == {
        contract.onnx_file_name(g, d) for g in contract.GRAPH_NAMES for d in ("fp32", "q4")
    }
    rows = [line.split()[:3] for line in out.splitlines() if line.split()[:1] in (["contract"], ["parity"], ["chunks"])]
    assert sorted(rows) == sorted([[g, d, "pass"] for g in ("contract", "parity", "chunks") for d in ("fp32", "q4")])
    assert info["parity"]["q4"]["top1_agreement"] == 1.0
    text = (folder / "README.md").read_text()
    meta = card.front_matter(text)
    assert meta["base_model"] == "microsoft/VibeVoice-ASR-HF" and meta["base_model_relation"] == "quantized"
    assert meta["library_name"] == "transformers.js" and meta["pipeline_tag"] == "automatic-speech-recognition"
    assert "| revision | `abc123` |" in text
    q4_row = next(line for line in text.splitlines() if line.startswith("| q4 |"))
    assert "any WebGPU adapter" in q4_row and "top-1 agreement 1.0000" in q4_row
    assert "dtype: 'q4'" in text


def test_a_variant_that_breaks_the_contract_is_refused(fp32_copy, tiny_checkpoint, tmp_path, capsys):
    fp16 = variant_from_fp32(fp32_copy, tmp_path / "fp16", "fp16")  # float32 inputs where fp16 needs float16
    args = [
        "--repo-id", "someone/vv", "--checkpoint", str(tiny_checkpoint), "--fp32-dir", str(fp32_copy), "--variants-dir", str(fp16),
        "--dtypes", "fp16", "--work-dir", str(tmp_path / "work"), "--no-browser", "--dry-run",
    ]
    assert command.main(args) == 1
    out, err = capsys.readouterr()
    row = next(line for line in out.splitlines() if line.startswith("contract"))
    assert "FAIL" in row and "audio_values has element type 1, expected float16" in row
    assert "refusing to publish" in err and "contract/fp16" in err
    assert "parity    fp16     skip" in out


def test_a_reused_folder_from_another_checkpoint_is_refused(fp32_copy, tiny_checkpoint, tmp_path, capsys):
    other = Path(shutil.copytree(fp32_copy, tmp_path / "other"))
    info = manifest.read(other)
    info["source"] = {"kind": "hub", "name": "someone/else", "revision": "0" * 40}
    (other / manifest.MANIFEST).write_text(json.dumps(info))
    args = ["--repo-id", "a/b", "--checkpoint", str(tiny_checkpoint), "--fp32-dir", str(other), "--work-dir", str(tmp_path / "w"), "--dry-run"]
    assert command.main(args) == 1
    err = capsys.readouterr().err
    assert "--fp32-dir" in err and "was made from someone/else" in err and "pass the matching --checkpoint" in err


# -- browser gate ---------------------------------------------------------------------------------

JUNIT_SWIFTSHADER = textwrap.dedent("""\
    <?xml version="1.0" encoding="utf-8"?>
    <testsuites><testsuite name="pytest" tests="5">
      <testcase classname="test_webgpu" name="test_chromium_offers_a_webgpu_adapter" time="1.0"/>
      <testcase classname="test_webgpu" name="test_transcribe[q4-hello.wav]" time="9.0"/>
      <testcase classname="test_webgpu" name="test_transcribe[fp32-hello.wav]" time="9.0">
        <failure message="AssertionError: token ids differ at 3">trace</failure>
      </testcase>
      <testcase classname="test_webgpu" name="test_transcribe[q4f16-hello.wav]" time="0.0">
        <skipped type="pytest.skip" message="the adapter has no shader-f16 (SwiftShader)">skip</skipped>
      </testcase>
      <testcase classname="test_webgpu" name="test_transcribe[fp16-hello.wav]" time="0.0">
        <skipped type="pytest.skip" message="the adapter has no shader-f16 (SwiftShader)">skip</skipped>
      </testcase>
    </testsuite></testsuites>
    """)
# //e2e:webgpu_f16 on lavapipe: q4f16 passes there; its expected failure names no variant.
JUNIT_LAVAPIPE = textwrap.dedent("""\
    <?xml version="1.0" encoding="utf-8"?>
    <testsuites><testsuite name="pytest" tests="3">
      <testcase classname="test_f16" name="test_dawn_equals_onnxruntime[a1-q4f16-hello.wav]" time="30.0"/>
      <testcase classname="test_f16" name="test_dawn_equals_onnxruntime[a1-q4-hello.wav]" time="30.0"/>
      <testcase classname="test_f16" name="test_flash_attention_prefill" time="9.0">
        <skipped type="pytest.xfail" message="onnxruntime-web's FlashAttention program is miscompiled">xfail</skipped>
      </testcase>
    </testsuite></testsuites>
    """)


def _cases(tmp_path) -> list:
    cases = []
    for suite, junit in zip(browser.SUITES, (JUNIT_SWIFTSHADER, JUNIT_LAVAPIPE)):
        path = tmp_path / f"{suite.test_xml.parent.name}.xml"
        path.write_text(junit)
        cases += browser.parse_junit(path, suite.adapter)
    return cases


def test_browser_verdict_per_variant_and_adapter_from_both_suites(tmp_path):
    rows = {r.variant: r for r in browser.verdict(browser.SuiteRun(3, _cases(tmp_path)), ["fp32", "fp16", "q4", "q4f16"], tmp_path / "log")}
    # test_transcribe[q4-...] does not count for q4f16, nor q4f16's for q4
    assert rows["q4"].result == gates.PASS and browser.passed_on(rows["q4"].detail) == ["SwiftShader in Chromium", "lavapipe in Node on Dawn"]
    assert rows["q4f16"].result == gates.PASS and browser.passed_on(rows["q4f16"].detail) == ["lavapipe in Node on Dawn"]
    assert "SwiftShader in Chromium: skipped: the adapter has no shader-f16" in rows["q4f16"].detail
    assert rows["fp32"].result == gates.FAIL and "SwiftShader in Chromium: 1 failed" in rows["fp32"].detail
    assert "token ids differ at 3" in rows["fp32"].detail and browser.passed_on(rows["fp32"].detail) == []
    assert rows["fp16"].result == gates.SKIP and "shader-f16" in rows["fp16"].detail
    assert "all" not in rows


def test_browser_gate_fails_when_the_suite_proves_nothing(tmp_path):
    only_diagnostics = [browser.TestCase("test_chromium_offers_a_webgpu_adapter", "passed", adapter="SwiftShader in Chromium")]
    rows = browser.verdict(browser.SuiteRun(0, only_diagnostics), ["fp32", "q4"], tmp_path / "log")
    assert [r.result for r in rows] == [gates.SKIP, gates.SKIP, gates.FAIL]
    assert "ran no test on these artifacts" in rows[-1].detail
    crashed = browser.verdict(browser.SuiteRun(1, [], "ERROR: build failed"), ["q4"], tmp_path / "log")
    assert crashed[-1].result == gates.FAIL and "exited with 1" in crashed[-1].detail


def test_browser_gate_runs_both_suites_on_the_release_folder(tmp_path, monkeypatch):
    seen = {}

    def runner(folders, log_path, progress):
        seen["folders"] = folders
        return browser.SuiteRun(0, [browser.TestCase("test_transcribe[q4]", "passed", adapter="SwiftShader in Chromium")])

    rows = browser.gate([tmp_path], ["q4"], True, tmp_path / "browser.log", QUIET, runner=runner)
    assert seen["folders"] == [tmp_path] and [r.result for r in rows] == [gates.PASS]
    assert {r.result for r in browser.gate([tmp_path], ["q4"], False, tmp_path / "l", QUIET)} == {gates.SKIP}
    command_line = browser.bazel_command(Path("/ws"), [tmp_path])
    assert command_line[1:4] == ["test", "//e2e:webgpu", "//e2e:webgpu_f16"]
    assert [str(s.test_xml) for s in browser.SUITES] == ["bazel-testlogs/e2e/webgpu/test.xml", "bazel-testlogs/e2e/webgpu_f16/test.xml"]
    assert f"--test_env=VIBEVOICE_E2E_ARTIFACTS={tmp_path}" in command_line and "--nocache_test_results" in command_line
    monkeypatch.setenv("TEST_SRCDIR", "/somewhere")
    monkeypatch.delenv("BUILD_WORKSPACE_DIRECTORY", raising=False)
    [row] = browser.gate([tmp_path], ["q4"], True, tmp_path / "l", QUIET)
    assert row.result == gates.FAIL and "inside a Bazel test" in row.detail and "--no-browser" in row.detail


# -- card -----------------------------------------------------------------------------------------

def test_license_comes_from_the_front_matter_a_license_file_or_is_unknown(tmp_path):
    hub = tmp_path / "hub"
    hub.mkdir()
    (hub / "README.md").write_text("---\nlicense: mit\ntags: [asr]\n---\n# VibeVoice-ASR\n")
    assert card.source_license(hub) == card.License("mit", "MIT", "README.md front matter")
    apache = tmp_path / "apache"
    apache.mkdir()
    (apache / "README.md").write_text("# no front matter\n")
    (apache / "LICENSE").write_text("                                 Apache License\n                           Version 2.0, January 2004\n")
    assert card.source_license(apache).hub_id == "apache-2.0"
    other = tmp_path / "other"
    other.mkdir()
    (other / "README.md").write_text("---\nlicense: other\nlicense_name: research-only\n---\n")
    assert card.source_license(other).hub_id == "other" and "research-only" in card.source_license(other).text
    assert card.source_license(tmp_path) == card.License("unknown", "unknown — check the source", "none found")


def test_base_model_is_the_hub_source_or_the_given_id():
    assert card.base_model({"kind": "hub", "name": "microsoft/VibeVoice-ASR-HF", "revision": "abc"}, None) == ("microsoft/VibeVoice-ASR-HF", "abc")
    assert card.base_model({"kind": "local", "name": "tiny_checkpoint", "revision": "local-sha256:1"}, None) == (None, None)
    assert card.base_model({"name": "x"}, "o/n@v1") == ("o/n", "v1")


# -- arguments and state --------------------------------------------------------------------------

def test_dtypes_are_parsed_with_aliases_in_contract_order():
    assert command.parse_dtypes("q4f16, int4,float32,q4") == ["fp32", "q4", "q4f16"]
    with pytest.raises(UserError, match="unknown dtype 'q8'"):
        command.parse_dtypes("q8")


def test_bad_repo_ids_are_refused(capsys):
    assert command.main(["--repo-id", "not-a-repo-id", "--dry-run"]) == 1
    assert "expected a Hub model repo id, OWNER/NAME" in capsys.readouterr().err


def test_state_steps_rerun_when_their_output_changed_and_one_release_at_a_time(tmp_path):
    out = tmp_path / "built"
    out.mkdir()
    (out / manifest.MANIFEST).write_text("{}")
    with locked(tmp_path) as state:
        state.put("fp32", {"key": "k", "manifest_sha256": file_sha256(out / manifest.MANIFEST)})
        assert State(tmp_path).unchanged("fp32", "k", out / manifest.MANIFEST)
        assert not state.unchanged("fp32", "other key", out / manifest.MANIFEST)
        (out / manifest.MANIFEST).write_text('{"changed": true}')
        assert not state.unchanged("fp32", "k", out / manifest.MANIFEST)
        with pytest.raises(UserError, match="another release is running"):
            with locked(tmp_path):
                pass
    assert os.path.exists(tmp_path / "state.json")


# -- the quantizer's own variants -----------------------------------------------------------------

def test_q4_from_the_quantizer_is_gated_on_top1_agreement(fp32_copy, tiny_checkpoint, test_audio_dir, nibbles_swapped, tmp_path, capsys):
    """The work folder builds q4 with `quantize` (here one that packs int4 wrongly); the default gate refuses it,
    and a rerun with another gate reuses the build and the stage and runs parity again."""
    args = [
        "--repo-id", "someone/vv", "--checkpoint", str(tiny_checkpoint), "--fp32-dir", str(fp32_copy), "--dtypes", "q4",
        "--work-dir", str(tmp_path / "work"), "--audio", str(Path(test_audio_dir) / "hello.wav"), "--no-browser", "--dry-run",
    ]
    assert command.main(args) == 1
    out, err = capsys.readouterr()
    row = next(line for line in out.splitlines() if line.startswith("parity"))
    assert "FAIL" in row and "(gate 0.95)" in row and "refusing to publish" in err
    assert (tmp_path / "work" / "build" / "variants" / "onnx" / "decoder_model_merged_q4.onnx").is_file()

    assert command.main([*args, "--min-top1", "0"]) == 0
    out, err = capsys.readouterr()
    assert "already quantized" in err and "already staged" in err
    info = manifest.read(tmp_path / "work" / "release")
    assert info["dtypes"] == ["q4"] and info["release"]["thresholds"]["min_top1"] == 0.0
    assert info["parity"]["q4"]["top1_agreement"] < 0.5
    assert info["graphs"]["q4"]["decoder_model_merged"]["nbits"]["matmuls_quantized"] > 0
    assert "top-1 agreement ≥ 0.0" in (tmp_path / "work" / "release" / "README.md").read_text()
