"""`quantize` on the tiny fp32 artifacts: complete folders that keep the contract, parity on record."""

from __future__ import annotations

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import helper

from vibevoice_asr_web import cli

from vibevoice_asr_web.artifact import contract, manifest
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.quantize.folder import parse_dtypes, quantize_folder
from vibevoice_asr_web.quantize.graph import check_graph
from vibevoice_asr_web.runtime.sessions import OnnxAsrModel

MIN_FP16_COSINE = 0.999  # DESIGN: fp16 vs fp32 on every graph
MIN_TOP1 = 0.95  # q4/q4f16 teacher-forced top-1 agreement with fp32 on the tiny checkpoint (its decoder is fitted
# to the test clips, so its logits are decisive; with random weights int4 kept only ~0.77 of the near-ties)


@pytest.fixture(scope="module")
def hello(test_audio_dir):
    return str(test_audio_dir / "hello.wav")


@pytest.fixture(scope="module")
def int4_dir(fp32_artifacts, tmp_path_factory, hello):
    return quantize_folder(fp32_artifacts, tmp_path_factory.mktemp("q") / "int4", "q4,q4f16", audio=[hello], progress=Progress(quiet=True))


@pytest.fixture(scope="module")
def fp16_dir(fp32_artifacts, tmp_path_factory, hello):
    return quantize_folder(fp32_artifacts, tmp_path_factory.mktemp("q") / "fp16", ["float16"], audio=[hello], progress=Progress(quiet=True))


def _variants(int4_dir, fp16_dir):
    return [(int4_dir, "q4"), (int4_dir, "q4f16"), (fp16_dir, "fp16")]


def _dims(value_info) -> list:
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in value_info.type.tensor_type.shape.dim]


def test_every_variant_keeps_the_contract(int4_dir, fp16_dir):
    dims = contract.ModelDims.from_config(json.loads((int4_dir / "config.json").read_text()))
    specs = contract.graph_specs(dims)
    for folder, dtype in _variants(int4_dir, fp16_dir):
        for graph, spec in specs.items():
            path = folder / "onnx" / contract.onnx_file_name(graph, dtype)
            model = onnx.load(str(path), load_external_data=False)
            assert model.ir_version <= 10
            check_graph(path)  # onnx.checker, with onnxruntime's ONNX-domain ops checked as custom ops
            for values, tensors in ((model.graph.input, spec.inputs), (model.graph.output, spec.outputs)):
                assert [v.name for v in values] == [t.name for t in tensors], (dtype, graph)
                for value, tensor in zip(values, tensors):
                    want = helper.np_dtype_to_tensor_dtype(np.dtype(tensor.element_type(dtype)))
                    assert value.type.tensor_type.elem_type == want, (dtype, graph, value.name)
                    assert _dims(value) == list(tensor.shape), (dtype, graph, value.name)
            ops = {(n.domain, n.op_type) for n in model.graph.node}
            if dtype in ("q4", "q4f16"):
                assert ("", "MatMul") not in ops or graph == contract.DECODER  # attention's MatMuls have no weight
                assert ("com.microsoft", "MatMulNBits") in ops or graph == contract.EMBED_TOKENS
                assert ("com.microsoft", "GatherBlockQuantized") in ops or graph != contract.EMBED_TOKENS
                if graph == contract.AUDIO_ENCODER:
                    conv_weights = [n.input[1] for n in model.graph.node if n.op_type == "Conv"]
                    types = {t.name: t.data_type for t in model.graph.initializer}
                    expected = onnx.TensorProto.FLOAT16 if dtype == "q4f16" else onnx.TensorProto.FLOAT
                    assert conv_weights and all(types[w] == expected for w in conv_weights)  # convs are not quantized


def test_folders_are_complete_artifacts(fp32_artifacts, int4_dir, fp16_dir):
    for folder, dtypes in ((int4_dir, ["q4", "q4f16"]), (fp16_dir, ["fp16"])):
        info = manifest.read(folder)
        on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"manifest.json"}
        assert set(info["files"]) == on_disk
        manifest.verify_files(folder, sorted(on_disk))
        assert info["dtypes"] == dtypes and (folder / info["quantized_from"]["path"]).resolve() == fp32_artifacts.resolve()
        assert info["source"] == manifest.read(fp32_artifacts)["source"]
        config = json.loads((folder / "config.json").read_text())["transformers.js_config"]
        assert config["dtype"] == {g: dtypes[0] for g in contract.GRAPH_NAMES}
        graphs = sorted(p.name for p in (folder / "onnx").glob("*.onnx"))
        assert graphs == sorted(contract.onnx_file_name(g, d) for g in contract.GRAPH_NAMES for d in dtypes)
        assert config["use_external_data_format"] == {g: len(list((folder / "onnx").glob(g + "_data*"))) for g in graphs}
        for name in ("tokenizer.json", "tokenizer_config.json", "generation_config.json", "preprocessor_config.json"):
            assert (folder / name).read_bytes() == (fp32_artifacts / name).read_bytes()
        for dtype in dtypes:
            model = OnnxAsrModel(folder, dtype, verify=True)
            assert model.embed(np.array([[1, 2, 3]])).dtype == np.dtype(contract.activation_type(dtype))


def test_variants_are_smaller_and_parity_is_on_record(fp32_artifacts, int4_dir, fp16_dir):
    fp32_bytes = sum(p.stat().st_size for p in (fp32_artifacts / "onnx").glob("decoder_model_merged.onnx_data*"))
    parity = {**manifest.read(int4_dir)["parity"], **manifest.read(fp16_dir)["parity"]}
    graphs = {**manifest.read(int4_dir)["graphs"], **manifest.read(fp16_dir)["graphs"]}
    print(json.dumps({d: {"top1": p["top1_agreement"], "graphs": p["graphs"]} for d, p in parity.items()}, indent=1))
    for graph in contract.GRAPH_NAMES:
        assert parity["fp16"]["graphs"][graph]["min_cosine"] >= MIN_FP16_COSINE
    assert parity["fp16"]["greedy_tokens_equal"] and parity["fp16"]["top1_agreement"] == 1.0
    for dtype in ("q4", "q4f16"):
        assert parity[dtype]["passed"] and parity[dtype]["top1_agreement"] >= MIN_TOP1
        assert parity[dtype]["top1_positions"] > 20
        nbits = graphs[dtype][contract.DECODER]["nbits"]
        assert nbits["matmuls_quantized"] == graphs[dtype][contract.DECODER]["matmul_weights"] == 15  # 7 per layer + lm_head
        assert graphs[dtype][contract.DECODER]["weight_bytes"] < fp32_bytes / 5
    table = (int4_dir / "parity.md").read_text()
    assert "| q4 | decoder_model_merged |" in table and "| q4f16 | audio_encoder |" in table and "top-1 agreement" in table
    assert "| fp16 | embed_tokens |" in (fp16_dir / "parity.md").read_text()


def test_validate_reports_each_variant_against_fp32(fp32_artifacts, int4_dir, hello, capsys):
    code = cli.main(["validate", "--onnx-dir", str(int4_dir), "--reference-dir", str(fp32_artifacts), "--audio", hello])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "q4 vs fp32" in out and "q4f16 vs fp32" in out and out.strip().endswith("PASS")
    # without --reference-dir: the folder it was quantized from, recorded in the manifest
    assert cli.main(["validate", "--onnx-dir", str(int4_dir), "--audio", hello]) == 0


def test_validate_fails_when_int4_bytes_are_packed_wrong(int4_dir, tmp_path, hello, capsys):
    """Nibbles swapped in lm_head's packed weight (what a wrong packing order would give): the gate catches it."""
    broken = tmp_path / "broken"
    shutil.copytree(int4_dir, broken)
    graph = onnx.load(str(broken / "onnx" / "decoder_model_merged_q4.onnx"), load_external_data=False)
    tensor = next(t for t in graph.graph.initializer if t.name == "lm_head.weight_Q4")
    fields = {e.key: e.value for e in tensor.external_data}
    path = broken / "onnx" / fields["location"]
    data = bytearray(path.read_bytes())
    start, end = int(fields["offset"]), int(fields["offset"]) + int(fields["length"])
    packed = np.frombuffer(bytes(data[start:end]), np.uint8)
    data[start:end] = ((packed >> 4) | (packed << 4)).astype(np.uint8).tobytes()
    path.write_bytes(bytes(data))
    assert cli.main(["validate", "--onnx-dir", str(broken), "--audio", hello]) == 1
    assert f"{fields['location']} fails its sha256 check" in capsys.readouterr().err  # refused before it is run
    code = cli.main(["validate", "--onnx-dir", str(broken), "--audio", hello, "--no-verify"])
    out = capsys.readouterr().out
    assert code == 1 and "q4: top-1 agreement" in out and "FAIL" in out


def test_a_variant_below_its_gate_keeps_the_work_marked_failed(fp32_artifacts, tmp_path, hello, nibbles_swapped):
    """A long quantization that misses its gate is kept, but its manifest says so and the command fails."""
    with pytest.raises(UserError, match=r"q4: top-1 agreement 0\.\d+ < 0\.95.*parity: failed"):
        quantize_folder(fp32_artifacts, tmp_path / "q4", "q4", audio=[hello], progress=Progress(quiet=True))
    info = manifest.verify(tmp_path / "q4")
    assert info["parity_status"] == "failed"
    assert info["parity"]["q4"]["passed"] is False and info["parity"]["q4"]["top1_agreement"] < 0.95


def test_dtype_names():
    assert parse_dtypes("q4,q4f16") == ["q4", "q4f16"]
    assert parse_dtypes(["int4", "float16", "q4"]) == ["q4", "fp16"]
    with pytest.raises(UserError, match="fp32 is what the quantizer reads"):
        parse_dtypes("fp32")
    with pytest.raises(UserError, match="unknown dtype 'q8'"):
        parse_dtypes("q4,q8")


def test_export_dtype_makes_fp32_in_a_temporary_folder_then_quantizes(fp32_artifacts, tiny_checkpoint, tmp_path, monkeypatch):
    """With validation and a model that fits in memory, the variants come from a validated fp32 folder."""
    from vibevoice_asr_web.export import command

    def fp32_export(source, config, folder, *args):
        shutil.copytree(fp32_artifacts, folder, dirs_exist_ok=True)  # stands in for the (slow) PyTorch export
        return {}

    monkeypatch.setattr(command, "write_fp32", fp32_export)
    out = tmp_path / "exported"
    assert cli.main(["export", "--checkpoint", str(tiny_checkpoint), "--output-dir", str(out), "--dtype", "int4", "--quiet"]) == 0
    assert sorted(p.name for p in (out / "onnx").glob("*.onnx")) == sorted(contract.onnx_file_name(g, "q4") for g in contract.GRAPH_NAMES)
    assert [p.name for p in tmp_path.iterdir()] == ["exported"]  # the scratch fp32 folder and the lock are gone
    assert manifest.read(out)["dtypes"] == ["q4"]
    assert manifest.read(out)["parity"]["q4"]["passed"]  # compared with the fp32 it came from
    assert manifest.read(out)["source"]["kind"] == "local"


def test_a_tensor_over_one_gpu_buffer_fails_the_variant_clearly(fp32_artifacts, tmp_path, monkeypatch):
    """The real model's fp16 embedding (1.02 GiB) cannot be a browser tensor: nothing is written."""
    from vibevoice_asr_web.quantize import graph

    monkeypatch.setattr(graph, "ONE_GIB", 100_000)  # the tiny model's lm_head is 80 KB in fp16, its encoder weights larger
    out = tmp_path / "fp16"
    with pytest.raises(UserError, match="more than one GPU buffer.*q4 or q4f16"):
        quantize_folder(fp32_artifacts, out, "fp16", validate=False, progress=Progress(quiet=True))
    assert not out.exists()
