"""The artifact layer: one check of a folder, and the description the web library bundles."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import onnx
import pytest

from vibevoice_asr_web.artifact import check, contract, description, manifest
from vibevoice_asr_web.errors import UserError


@pytest.fixture
def fp32_copy(fp32_artifacts, tmp_path):
    return shutil.copytree(fp32_artifacts, tmp_path / "fp32")


def test_a_built_folder_holds_to_the_contract(fp32_artifacts):
    check.check(fp32_artifacts)  # manifest verified, every aspect of every dtype the manifest names
    findings = check.check_graphs(fp32_artifacts, "fp32")
    assert [f.aspect for f in findings] == list(check.ASPECTS) and all(f.holds for f in findings)


def test_a_changed_byte_is_caught_by_the_manifest(fp32_copy):
    path = fp32_copy / contract.graph_path(contract.EMBED_TOKENS, "fp32")
    data = bytearray(path.read_bytes())
    data[-1] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="embed_tokens.onnx fails its sha256 check"):
        check.check(fp32_copy)


def test_a_renamed_input_and_a_miscounted_chunk_are_named(fp32_copy):
    path = fp32_copy / contract.graph_path(contract.DECODER, "fp32")
    model = onnx.load(str(path), load_external_data=False)
    model.graph.input[1].name = "mask"
    for node in model.graph.node:
        node.input[:] = ["mask" if name == contract.ATTENTION_MASK else name for name in node.input]
    onnx.save(model, str(path))
    config = json.loads((fp32_copy / contract.CONFIG).read_text())
    config["transformers.js_config"]["use_external_data_format"]["embed_tokens.onnx"] = 2
    (fp32_copy / contract.CONFIG).write_text(json.dumps(config))
    with pytest.raises(UserError) as raised:
        check.check(fp32_copy, verify=False)
    message = str(raised.value)
    assert "fp32 contract: decoder_model_merged: inputs differ: missing ['attention_mask'], unexpected ['mask']" in message
    assert "fp32 chunks: config.json announces 2 data chunk(s) for embed_tokens.onnx, the folder holds 1" in message


def test_an_unreadable_graph_is_one_finding(fp32_copy):
    (fp32_copy / contract.graph_path(contract.AUDIO_ENCODER, "fp32")).write_bytes(b"not a protobuf")
    [finding] = check.check_graphs(fp32_copy, "fp32")
    assert finding.aspect == "contract" and "onnx cannot read its graphs" in finding.problems[0]


def test_the_default_dtype_is_one_rule_everywhere():
    assert contract.default_dtype(["q4f16", "q4"]) == "q4"  # runs without shader-f16
    assert contract.default_dtype(["fp16", "fp32"]) == "fp32"
    assert contract.transformers_js_config(["q4f16"], {"b.onnx": 1, "a.onnx": 2}) == {
        "dtype": {graph: "q4f16" for graph in contract.GRAPH_NAMES},
        "use_external_data_format": {"a.onnx": 2, "b.onnx": 1},
    }


def test_the_description_is_the_contract(tmp_path):
    out = tmp_path / "artifact_description.json"
    subprocess.run([sys.executable, "-m", "vibevoice_asr_web", "describe-artifact", "--output", str(out)], check=True)
    described = json.loads(out.read_text())
    assert described == description.describe()
    assert described["graphs"] == list(contract.GRAPH_NAMES)
    assert {d: v["suffix"] for d, v in described["dtypes"].items()} == contract.DTYPE_SUFFIX
    assert sorted(d for d, v in described["dtypes"].items() if v["half_precision"]) == sorted(contract.HALF_PRECISION_DTYPES)
    assert sorted(d for d, v in described["dtypes"].items() if v["ternary"]) == sorted(contract.TERNARY_DTYPES)
    assert described["limits"] == {"gpu_buffer_bytes": contract.GPU_BUFFER_BYTES, "max_chunk_bytes": contract.MAX_CHUNK_BYTES,
                                   "max_ir_version": contract.MAX_IR_VERSION}
    assert described["front_end"]["hop_length"] == contract.HOP_LENGTH and described["files"]["manifest"] == manifest.MANIFEST
    assert described["generation"]["max_new_tokens"] == contract.DEFAULT_MAX_NEW_TOKENS
