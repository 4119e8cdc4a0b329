"""fp32 export: the contract holds on disk, a second tiny config exports and validates too, and
checkpoint sources, aliases and interruptions behave."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime
import pytest

from vibevoice_asr_web import checkpoint_source, cli

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.export import command
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.fixtures.tiny_checkpoint import make_tiny

ONNX_TO_NUMPY = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.FLOAT16: "float16", onnx.TensorProto.INT64: "int64"}


def _graph_io(path):
    model = onnx.load(str(path), load_external_data=False)
    def describe(values):
        return [
            (v.name, ONNX_TO_NUMPY[v.type.tensor_type.elem_type],
             tuple(d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim))
            for v in values
        ]
    return model, describe(model.graph.input), describe(model.graph.output)


def assert_contract_holds(folder, dtype="fp32"):
    config = json.loads((folder / "config.json").read_text())
    dims = contract.ModelDims.from_config(config)
    for name, spec in contract.graph_specs(dims).items():
        model, inputs, outputs = _graph_io(folder / "onnx" / contract.onnx_file_name(name, dtype))
        assert model.ir_version <= 10
        assert inputs == [(t.name, t.element_type(dtype), t.shape) for t in spec.inputs]
        assert outputs == [(t.name, t.element_type(dtype), t.shape) for t in spec.outputs]
        for initializer in model.graph.initializer:  # weights live in the data chunks, the graph file stays small
            assert initializer.data_location == onnx.TensorProto.EXTERNAL or len(initializer.raw_data) <= 1024


def test_default_artifacts_hold_the_contract_and_transformers_js_layout(fp32_artifacts):
    assert_contract_holds(fp32_artifacts)
    config = json.loads((fp32_artifacts / "config.json").read_text())
    assert config["model_type"] == "vibevoice_asr"
    assert "ignore_index" not in config
    tjs = config["transformers.js_config"]
    assert tjs["dtype"] == {g: "fp32" for g in contract.GRAPH_NAMES}
    for graph in contract.GRAPH_NAMES:
        file = f"{graph}.onnx"
        chunks = sorted((fp32_artifacts / "onnx").glob(file + "_data*"))
        assert tjs["use_external_data_format"][file] == len(chunks) >= 1
    generation = json.loads((fp32_artifacts / "generation_config.json").read_text())
    tokenizer = json.loads((fp32_artifacts / "tokenizer.json").read_text())
    ids = {t["content"]: t["id"] for t in tokenizer["added_tokens"]}
    assert generation["eos_token_id"] == [ids["<|endoftext|>"], ids["<|im_end|>"]]
    assert config["audio_token_id"] == ids["<|box_start|>"]
    assert "chat_template" in json.loads((fp32_artifacts / "tokenizer_config.json").read_text())
    preprocessor = json.loads((fp32_artifacts / "preprocessor_config.json").read_text())
    assert preprocessor["sampling_rate"] == 24000 and preprocessor["hop_length"] == 3200
    assert preprocessor["encoder_chunk_size"] == config["acoustic_tokenizer_chunk_size"]


def test_manifest_checks_catch_a_truncated_chunk(fp32_artifacts, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(fp32_artifacts, copy)
    manifest.verify_files(copy, ["onnx/decoder_model_merged.onnx_data"])
    data = copy / "onnx" / "decoder_model_merged.onnx_data"
    data.write_bytes(data.read_bytes()[:-100])
    with pytest.raises(UserError, match="truncated"):
        manifest.verify_files(copy, ["onnx/decoder_model_merged.onnx_data"])


def test_second_tiny_config_exports_and_validates(tmp_path, test_audio_dir):
    """Other widths, layer and head counts, chunk size and seed: nothing is tuned to one shape."""
    checkpoint = make_tiny(tmp_path / "alt", seed=7, variant="alt")
    out = tmp_path / "alt_fp32"
    code = cli.main([
        "export", "--checkpoint", str(checkpoint), "--output_dir", str(out), "--dtype", "float32", "--quiet",
        "--audio", str(test_audio_dir / "numbers.flac"),
    ])
    assert code == 0
    assert_contract_holds(out)
    info = json.loads((out / "manifest.json").read_text())
    assert info["parity"]["fp32"]["passed"] and info["parity"]["fp32"]["greedy_tokens_equal"]
    assert info["source"]["kind"] == "local" and info["source"]["revision"].startswith("local-sha256:")
    dims = contract.ModelDims.from_config(json.loads((out / "config.json").read_text()))
    assert (dims.num_layers, dims.num_attention_heads, dims.num_kv_heads, dims.hidden_size) == (3, 6, 2, 96)


def test_weights_split_into_chunks_that_onnxruntime_loads(fp32_artifacts, tmp_path):
    import onnx_ir as ir

    from vibevoice_asr_web.export.write import save_graph

    # resolved: the data chunks, reached through Bazel's links, count as beside the graph
    model = ir.load((fp32_artifacts / "onnx" / "decoder_model_merged.onnx").resolve())
    chunks = save_graph(model, tmp_path / "decoder_model_merged.onnx", max_chunk_bytes=170_000)
    assert len(chunks.files) >= 3
    assert all((tmp_path / f).stat().st_size <= 170_000 for f in chunks.files)
    assert chunks.files[:2] == ["decoder_model_merged.onnx_data", "decoder_model_merged.onnx_data_1"]
    original = onnxruntime.InferenceSession(str(fp32_artifacts / "onnx" / "decoder_model_merged.onnx"))
    rechunked = onnxruntime.InferenceSession(str(tmp_path / "decoder_model_merged.onnx"))
    feeds = {i.name: np.zeros([1 if d == "batch_size" else (0 if isinstance(d, str) else d) for d in i.shape],
                              np.int64 if "int64" in i.type else np.float32) for i in original.get_inputs()}
    feeds["inputs_embeds"] = np.random.default_rng(0).standard_normal(feeds["inputs_embeds"].shape[:1] + (3,) + feeds["inputs_embeds"].shape[2:]).astype(np.float32)
    feeds["attention_mask"] = np.ones((1, 3), np.int64)
    feeds["position_ids"] = np.arange(3)[None]
    np.testing.assert_array_equal(original.run(["logits"], feeds)[0], rechunked.run(["logits"], feeds)[0])
    embed = ir.load((fp32_artifacts / "onnx" / "embed_tokens.onnx").resolve())
    with pytest.raises(UserError, match="more than one data chunk"):
        save_graph(embed, tmp_path / "e.onnx", max_chunk_bytes=10_000)
    oversize = save_graph(ir.load((fp32_artifacts / "onnx" / "embed_tokens.onnx").resolve()), tmp_path / "o.onnx",
                          max_chunk_bytes=10_000, allow_oversize=True)
    assert oversize.files == ["o.onnx_data"] and oversize.sizes[0] > 10_000  # a chunk of its own


def test_hub_id_resolves_through_huggingface_hub_with_its_revision(tiny_checkpoint, tmp_path, monkeypatch):
    import shutil

    import huggingface_hub

    snapshot = tmp_path / "models--someone--tiny" / "snapshots" / ("ab" * 20)
    shutil.copytree(tiny_checkpoint, snapshot)
    calls = []

    def fake_snapshot_download(repo_id, revision=None, allow_patterns=None):
        calls.append((repo_id, revision))
        return str(snapshot)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    source = checkpoint_source.resolve("someone/tiny", "main")
    assert calls == [("someone/tiny", "main")]
    assert source.describe() == {"kind": "hub", "name": "someone/tiny", "revision": "ab" * 20}


def test_hub_id_without_network_fails_fast_naming_the_local_alternative(tmp_path, capsys, monkeypatch):
    import time

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    code = cli.main(["export", "--checkpoint", "nobody/no-such-model", "--output-dir", str(tmp_path / "out")])
    assert time.monotonic() - started < 10
    assert code == 1
    err = capsys.readouterr().err
    assert "--checkpoint DIR" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("bad", ["does/not/exist/here", "not a hub id"])
def test_bad_checkpoint_arguments_are_explained(bad, capsys):
    assert cli.main(["export", "--checkpoint", bad, "--output-dir", "unused"]) == 1
    assert "neither an existing folder nor a Hub repo id" in capsys.readouterr().err


def test_interrupted_export_leaves_nothing_that_looks_complete(tiny_checkpoint, tmp_path, monkeypatch):
    out = tmp_path / "out"

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "export_fp32_graphs", explode)
    with pytest.raises(KeyboardInterrupt):
        command.export_artifacts(str(tiny_checkpoint), out, validate=False, progress=Progress(quiet=True))
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    command.export_artifacts(str(tiny_checkpoint), out, validate=False, progress=Progress(quiet=True))
    assert (out / "manifest.json").is_file()


def test_refuses_to_overwrite_without_asking(fp32_artifacts, tiny_checkpoint, capsys):
    assert cli.main(["export", "--checkpoint", str(tiny_checkpoint), "--output-dir", str(fp32_artifacts.parent)]) == 1
    assert "--overwrite" in capsys.readouterr().err
