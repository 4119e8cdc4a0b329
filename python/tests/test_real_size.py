"""The real-size path on small inputs: the config-only size report, synthetic bf16 checkpoints,
and weights streamed from safetensors into the export in slabs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vibevoice_asr_web import cli, inventory, size_report
from vibevoice_asr_web.checkpoint_weights import SafetensorsCheckpoint
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.export import weights, write
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.fixtures.real_model import real_config
from vibevoice_asr_web.fixtures.synthetic_checkpoint import make_synthetic, to_bfloat16


def test_size_report_counts_the_real_model_exactly():
    params = inventory.parameters(real_config())
    assert sum(p.numel for p in params) == 8_330_325_888  # acoustic + semantic encoders, connectors, Qwen2, lm_head
    sizes = size_report.variant_sizes(real_config())
    assert sizes["fp32"].total == 4 * 8_330_325_888
    assert sizes["fp16"].total == 2 * 8_330_325_888
    for dtype in ("fp32", "fp16"):  # the embedding table and lm_head (152064 x 3584) exceed one 1 GiB GPU buffer
        assert sizes[dtype].largest[1] > size_report.GIB
    for dtype in ("q4", "q4f16"):
        assert sizes[dtype].largest[1] < size_report.GIB
        assert sizes[dtype].total < sizes["fp16"].total / 2.5
    assert sizes["q4f16"].kv_bytes_per_token == 2 * 28 * 4 * 128 * 2  # 56 KiB per token
    assert sizes["q4"].memory_for(60) > sizes["q4"].memory_for(1) > sizes["q4"].total


def test_size_report_command_prints_every_variant(capsys):
    assert cli.main(["size-report"]) == 0
    out = capsys.readouterr().out
    for dtype in ("fp32", "fp16", "q4", "q4f16"):
        assert f"| {dtype} |" in out
    assert "33.32 GB" in out and "16.66 GB" in out


def _connectors_q4f16(hidden: int) -> int:
    """Both towers' Linear(latent -> H) -> RMSNorm -> Linear(H -> H) in q4f16, by hand: a Linear [N, K] is
    N * ceil(K / 32) blocks of 16 packed bytes + a 2-byte scale; biases and norms are fp16."""
    linear_1 = sum(hidden * -(-latent // 32) * 18 for latent in (64, 128))
    linear_2 = 2 * hidden * (hidden // 32) * 18
    return linear_1 + linear_2 + 2 * 3 * hidden * 2  # two biases and a norm per tower


def test_bitnet_size_report_is_the_writers_bytes_by_hand():
    from vibevoice_asr_web.fixtures.real_model import bitnet_config

    params = {p.name: p for p in inventory.parameters(bitnet_config())}
    lm = sum(p.numel for name, p in params.items() if name.startswith(("model.language_model.", "lm_head.")))
    assert lm == 1_777_088_000  # the parameter count of Microsoft's LM GGUF on the Hub
    gate = params["model.language_model.layers.0.mlp.gate_proj.weight"]  # [8960, 1536]
    # 2-bit MatMulNBits: N x ceil(K / 32) x (32 * 2 / 8) packed bytes + N x ceil(K / 32) fp16 scales, no zero points
    assert size_report.tensor_outputs(gate, "q2f16") == (8960 * 48 * 8, 8960 * 48 * 2)
    assert size_report.tensor_outputs(gate, "q4f16") == (8960 * 48 * 16, 8960 * 48 * 2)
    lm_head = params["lm_head.weight"]  # not a ternary projection: q4 in q2
    assert size_report.tensor_outputs(lm_head, "q2f16") == size_report.tensor_outputs(lm_head, "q4f16")

    sizes = size_report.variant_sizes(bitnet_config(), ("q4f16", "q2f16"))
    q2f16 = sizes["q2f16"].graph_bytes
    projections = 2 * 1536 * 1536 + 2 * 256 * 1536 + 3 * 8960 * 1536  # q, o; k, v; gate, up, down
    per_layer = projections * 10 // 32 + (1536 + 2 * 256 + 2 * 1536) * 2  # 2.5 bits a weight; biases and norms in fp16
    vocab_table = 151936 * 1536 * 18 // 32  # embed_tokens or lm_head in 4 bits with fp16 scales
    assert q2f16["decoder_model_merged"] == 28 * per_layer + 1536 * 2 + vocab_table == 540_998_656
    assert q2f16["embed_tokens"] == vocab_table == 131_272_704
    seven_b = size_report.variant_sizes(real_config(), ("q4f16",))["q4f16"].graph_bytes["audio_encoder"]
    assert q2f16["audio_encoder"] == seven_b - _connectors_q4f16(3584) + _connectors_q4f16(1536)  # the same encoders
    assert sizes["q2f16"].total < 1.3e9 and sizes["q2f16"].largest[1] < size_report.GIB
    assert sizes["q2f16"].total < sizes["q4f16"].total - 300e6


def test_size_report_prints_bitnet_next_to_the_7b(capsys):
    assert cli.main(["size-report", "--model", "bitnet"]) == 0
    out = capsys.readouterr().out
    bitnet, seven_b = out.split("VibeVoice-ASR (7B decoder)")
    for dtype in ("fp16", "q4f16", "q2", "q2f16"):
        assert f"| {dtype} |" in bitnet
    assert "| q2f16 |" not in seven_b and "**4.81 GB**" in seven_b
    assert "Browser variant q2f16: 1.18 GB against the 1.3 GB goal" in out and ": met." in out


def test_bfloat16_rounds_to_nearest_even():
    x = np.array([1.0, 1.00390625, 1.01171875, -2.5, 3.1415927], np.float32)
    import torch

    expected = torch.from_numpy(x).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
    np.testing.assert_array_equal(to_bfloat16(x), expected)


@pytest.fixture(scope="module")
def synthetic_checkpoint(tiny_checkpoint, tmp_path_factory):
    """A synthetic bf16 checkpoint of the tiny configuration, in several shards."""
    config = json.loads((tiny_checkpoint / "config.json").read_text())
    return make_synthetic(tmp_path_factory.mktemp("synthetic") / "ckpt", num_layers=3, shard_bytes=2_000_000,
                          config=config, progress=Progress(quiet=True))


def test_synthetic_checkpoint_is_sharded_bf16_that_transformers_loads(synthetic_checkpoint):
    import torch
    from transformers import VibeVoiceAsrForConditionalGeneration

    shards = sorted(synthetic_checkpoint.glob("*.safetensors"))
    assert len(shards) >= 2
    index = json.loads((synthetic_checkpoint / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"].values()) == {p.name for p in shards}
    model = VibeVoiceAsrForConditionalGeneration.from_pretrained(synthetic_checkpoint, dtype=torch.bfloat16)
    assert model.config.text_config.num_hidden_layers == 3
    reader = SafetensorsCheckpoint(synthetic_checkpoint)
    for name, tensor in model.state_dict().items():
        np.testing.assert_array_equal(reader.read(name), tensor.float().numpy(), err_msg=name)


def test_export_streams_bf16_weights_and_matches_pytorch(synthetic_checkpoint, tmp_path, test_audio_dir, monkeypatch):
    monkeypatch.setattr(write, "SLAB_BYTES", 4096)  # many slabs per tensor, transposed ones included
    code = cli.main(["export", "--checkpoint", str(synthetic_checkpoint), "--output-dir", str(tmp_path / "out"),
                     "--quiet", "--audio", str(test_audio_dir / "hello.wav")])
    assert code == 0
    parity = json.loads((tmp_path / "out" / "manifest.json").read_text())["parity"]["fp32"]
    assert parity["passed"] and parity["greedy_tokens_equal"]


def test_streamed_transposed_weight_equals_numpy(synthetic_checkpoint, tmp_path, monkeypatch):
    """A bf16 [out, in] weight streamed as fp32 [in, out] through the shared writer, in many slabs."""
    import onnx_ir as ir

    from vibevoice_asr_web.onnx_io import DataChunks
    from vibevoice_asr_web.quantize.transforms import Context
    from vibevoice_asr_web.tensor_reader import BufferRing, SlabReader

    reader = SafetensorsCheckpoint(synthetic_checkpoint)
    name = "lm_head.weight"
    tensor = weights.CheckpointTensor(reader.source(name, transposed=True), metadata_props={})
    assert tuple(tensor.shape) == tuple(reversed(reader.entry(name).shape))
    small = ir.Value(name="small", const_value=ir.Tensor(np.arange(300, dtype=np.float32)))  # > the inline limit
    value = ir.Value(name=name, const_value=tensor)
    chunks = DataChunks(tmp_path, "w.onnx")
    with SlabReader() as slabs:
        context = Context(slabs, BufferRing(1000))
        assert write.write_initializer(small, chunks, context) and write.write_initializer(value, chunks, context)
    chunks.close()
    offset = value.const_value.offset
    assert offset > 1200 and offset % 64 == 0  # after the first tensor, aligned
    written = np.fromfile(tmp_path / "w.onnx_data", np.float32, offset=offset).reshape(tuple(tensor.shape))
    np.testing.assert_array_equal(written, reader.read(name).T)
    np.testing.assert_array_equal(np.fromfile(tmp_path / "w.onnx_data", np.float32, count=300), np.arange(300))


def test_truncated_safetensors_is_reported(synthetic_checkpoint, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(synthetic_checkpoint, copy)
    shard = sorted(copy.glob("*.safetensors"))[-1]
    shard.write_bytes(shard.read_bytes()[:-10])
    with pytest.raises(UserError, match="truncated"):
        SafetensorsCheckpoint(copy)


def test_int4_straight_from_the_bf16_checkpoint_equals_going_through_fp32(synthetic_checkpoint, tmp_path):
    """export --dtype q4,q4f16 without room for fp32 reads the bf16 weights in place: same bytes."""
    import filecmp

    from vibevoice_asr_web.export.command import export_artifacts
    from vibevoice_asr_web.quantize.folder import quantize_folder

    quiet = Progress(quiet=True)
    fp32 = export_artifacts(str(synthetic_checkpoint), tmp_path / "fp32", validate=False, progress=quiet)
    through_fp32 = quantize_folder(fp32, tmp_path / "via_fp32", "q4,q4f16", validate=False, progress=quiet)
    direct = export_artifacts(str(synthetic_checkpoint), tmp_path / "direct", "q4,q4f16", validate=False, progress=quiet)
    assert not (tmp_path / "direct" / "onnx" / "decoder_model_merged.onnx").exists()  # no fp32 graph in the output
    data = sorted(p.name for p in (through_fp32 / "onnx").glob("*.onnx_data*"))
    assert data and data == sorted(p.name for p in (direct / "onnx").glob("*.onnx_data*"))
    for name in data:
        assert filecmp.cmp(through_fp32 / "onnx" / name, direct / "onnx" / name, shallow=False), name
    info = json.loads((direct / "manifest.json").read_text())
    assert info["source"]["kind"] == "local" and info["dtypes"] == ["q4", "q4f16"]
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # the temporary view is gone
