"""The original VibeVoice-ASR checkpoint layout (microsoft/VibeVoice-ASR) exports to the same graphs as the
transformers layout (microsoft/VibeVoice-ASR-HF): key table, config translation, tiny fixtures in both layouts."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from vibevoice_asr_web import checkpoint_layout, checkpoint_source, cli, inventory
from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.checkpoint_layout import name_of_original_key, original_key, read_config, to_transformers_config
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.fixtures.real_model import REAL_CONFIG

torch = pytest.importorskip("torch", reason="the tiny checkpoints need the export extra (torch)")

from safetensors.torch import load_file, save_file  # noqa: E402

from vibevoice_asr_web.checkpoint_weights import SafetensorsCheckpoint  # noqa: E402
from vibevoice_asr_web.export.command import export_artifacts  # noqa: E402
from vibevoice_asr_web.fixtures.original_layout import DECODER_STAND_IN  # noqa: E402
from vibevoice_asr_web.fixtures.tiny_checkpoint import make_tiny  # noqa: E402
from vibevoice_asr_web.progress import Progress  # noqa: E402

# Module paths in Microsoft's code (modeling_vibevoice_asr.py, modular_vibevoice_tokenizer.py): the stem is
# downsample_layers[0], stage i's blocks are stages[i], each conv is SConv1d -> NormConv1d -> nn.Conv1d, a
# block's mixer is Convlayer -> SConv1d -> ..., the connectors are SpeechConnector(fc1, norm, fc2).
KNOWN_PAIRS = {
    "model.acoustic_tokenizer_encoder.stem.conv.conv.weight": "model.acoustic_tokenizer.encoder.downsample_layers.0.0.conv.conv.weight",
    "model.semantic_tokenizer_encoder.stem.stage.1.mixer.conv.bias": "model.semantic_tokenizer.encoder.stages.0.1.mixer.conv.conv.conv.bias",
    "model.acoustic_tokenizer_encoder.stem.stage.0.ffn_gamma": "model.acoustic_tokenizer.encoder.stages.0.0.ffn_gamma",
    "model.acoustic_tokenizer_encoder.conv_layers.0.conv.conv.weight": "model.acoustic_tokenizer.encoder.downsample_layers.1.0.conv.conv.weight",
    "model.semantic_tokenizer_encoder.conv_layers.5.conv.conv.bias": "model.semantic_tokenizer.encoder.downsample_layers.6.0.conv.conv.bias",
    "model.acoustic_tokenizer_encoder.conv_layers.5.stage.7.mixer.conv.weight": "model.acoustic_tokenizer.encoder.stages.6.7.mixer.conv.conv.conv.weight",
    "model.semantic_tokenizer_encoder.conv_layers.2.stage.0.ffn.linear1.weight": "model.semantic_tokenizer.encoder.stages.3.0.ffn.linear1.weight",
    "model.acoustic_tokenizer_encoder.conv_layers.3.stage.2.norm.weight": "model.acoustic_tokenizer.encoder.stages.4.2.norm.weight",
    "model.semantic_tokenizer_encoder.head.conv.weight": "model.semantic_tokenizer.encoder.head.conv.conv.weight",
    "model.multi_modal_projector.acoustic_linear_1.weight": "model.acoustic_connector.fc1.weight",
    "model.multi_modal_projector.semantic_norm.weight": "model.semantic_connector.norm.weight",
    "model.multi_modal_projector.semantic_linear_2.bias": "model.semantic_connector.fc2.bias",
    "model.language_model.layers.27.self_attn.q_proj.bias": "model.language_model.layers.27.self_attn.q_proj.bias",
    "model.language_model.embed_tokens.weight": "model.language_model.embed_tokens.weight",
    "lm_head.weight": "lm_head.weight",
}

# The released 7B's config.json in the original fields (configuration_vibevoice.py's VibeVoiceASRConfig,
# the numbers of configs/qwen2.5_7b_32k.json).
_ORIGINAL_TOWER = {
    "causal": True, "channels": 1, "conv_bias": True, "conv_norm": "none", "corpus_normalize": 0.0, "disable_last_norm": True,
    "encoder_depths": "3-3-3-3-3-3-8", "encoder_n_filters": 32, "encoder_ratios": [8, 5, 5, 4, 2, 2], "layer_scale_init_value": 1e-06,
    "layernorm": "RMSNorm", "layernorm_elementwise_affine": True, "layernorm_eps": 1e-05, "mixer_layer": "depthwise_conv",
    "pad_mode": "constant", "weight_init_value": 0.01,
}
ORIGINAL_7B = {
    "architectures": ["VibeVoiceForASRTraining"],
    "model_type": "vibevoice",
    "acoustic_vae_dim": 64,
    "semantic_vae_dim": 128,
    "acoustic_tokenizer_config": {**_ORIGINAL_TOWER, "model_type": "vibepod_acoustic_tokenizer", "vae_dim": 64, "fix_std": 0.5,
                                  "std_dist_type": "gaussian", "decoder_depths": None, "decoder_n_filters": 32, "decoder_ratios": [8, 5, 5, 4, 2, 2]},
    "semantic_tokenizer_config": {**_ORIGINAL_TOWER, "model_type": "vibepod_semantic_tokenizer", "vae_dim": 128, "fix_std": 0, "std_dist_type": "none"},
    "decoder_config": {
        "model_type": "qwen2", "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28, "num_attention_heads": 28,
        "num_key_value_heads": 4, "vocab_size": 152064, "hidden_act": "silu", "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
        "max_position_embeddings": 65536, "max_window_layers": 28, "sliding_window": None, "use_sliding_window": False,
        "tie_word_embeddings": False, "attention_dropout": 0.0, "torch_dtype": "bfloat16", "transformers_version": "4.40.1",
    },
    "torch_dtype": "bfloat16",
}


def _export(checkpoint, out: Path, **kwargs) -> Path:
    return export_artifacts(str(checkpoint), out, progress=Progress(quiet=True), **kwargs)


def _graph_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((folder / "onnx").iterdir())}


def _without_chunk_size(config: dict) -> dict:
    return {k: v for k, v in config.items() if k != "acoustic_tokenizer_chunk_size"}


@pytest.fixture(scope="module")
def tiny_pair(tmp_path_factory) -> tuple[Path, Path]:
    """The default tiny checkpoint, seed 3, in the transformers and the original layout."""
    root = tmp_path_factory.mktemp("layouts")
    return make_tiny(root / "transformers", seed=3), make_tiny(root / "original", seed=3, layout="original")


@pytest.mark.parametrize("variant", ["default", "alt", "odd"])
def test_every_parameter_has_one_original_key_and_maps_back(variant):
    from vibevoice_asr_web.fixtures.tiny_checkpoint import build_tiny_config

    names = [p.name for p in inventory.parameters(build_tiny_config(variant).to_dict())]
    keys = [original_key(name) for name in names]
    assert len(set(keys)) == len(names)
    assert [name_of_original_key(key) for key in keys] == names


def test_the_table_gives_microsofts_module_paths():
    for name, key in KNOWN_PAIRS.items():
        assert original_key(name) == key
        assert name_of_original_key(key) == name


def test_the_vae_decoder_is_skipped_and_a_stray_key_is_refused():
    assert name_of_original_key("model.acoustic_tokenizer.decoder.stages.0.0.mixer.conv.conv.conv.weight") is None
    assert name_of_original_key("model.prediction_head.cond_proj.weight") is None
    with pytest.raises(UserError, match=r"holds model\.vision_tower\.x, which is no key of the original VibeVoice-ASR layout"):
        name_of_original_key("model.vision_tower.x")
    with pytest.raises(UserError, match="no key of the original"):  # the original's stages count from 0, the stem's own
        name_of_original_key("model.acoustic_tokenizer.encoder.norm.weight")


def test_the_released_original_config_becomes_the_transformers_one():
    translated = to_transformers_config(copy.deepcopy(ORIGINAL_7B), {})
    real = REAL_CONFIG
    for tower in ("acoustic_tokenizer_encoder_config", "semantic_tokenizer_encoder_config"):
        assert {k: translated[tower][k] for k in real[tower]} == real[tower]
    assert translated["text_config"]["rope_parameters"] == real["text_config"]["rope_parameters"]
    assert translated["model_type"] == "vibevoice_asr" and translated["architectures"] == real["architectures"]
    assert translated["dtype"] == "bfloat16"
    dims, want = contract.ModelDims.from_config(translated), contract.ModelDims.from_config(real)
    assert dims.conv_caches == want.conv_caches
    same = ("hidden_size", "num_layers", "num_attention_heads", "num_kv_heads", "head_dim", "vocab_size", "hop_length", "chunk_size",
            "audio_token_id", "audio_bos_token_id", "audio_eos_token_id", "max_positions")
    assert {f: getattr(dims, f) for f in same} == {f: getattr(want, f) for f in same}


def test_speech_token_ids_come_from_the_tokenizer():
    ids = {"audio_token_id": 7, "audio_bos_token_id": 5, "audio_eos_token_id": 6}
    translated = to_transformers_config(copy.deepcopy(ORIGINAL_7B), ids)
    assert {k: translated[k] for k in ids} == ids


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["acoustic_tokenizer_config"].update(layernorm="LN"), r"acoustic_tokenizer_config has layernorm 'LN'; .* only has 'RMSNorm'"),
    (lambda c: c["semantic_tokenizer_config"].update(disable_last_norm=False), r"semantic_tokenizer_config has disable_last_norm False"),
    (lambda c: c.pop("decoder_config"), r"malformed for the original VibeVoice-ASR layout \(missing key 'decoder_config'\)"),
    (lambda c: c["semantic_tokenizer_config"].pop("vae_dim"), r"missing key 'vae_dim'"),
])
def test_an_original_config_that_cannot_be_converted_says_why(change, message):
    config = copy.deepcopy(ORIGINAL_7B)
    change(config)
    with pytest.raises(UserError, match=message):
        to_transformers_config(config, {})


def test_a_config_of_neither_layout_names_both(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "qwen2"}))
    with pytest.raises(UserError, match=r"model_type 'qwen2'; expected 'vibevoice_asr' .*VibeVoice-ASR-HF.* or 'vibevoice' .*microsoft/VibeVoice-ASR\)"):
        read_config(tmp_path)


def test_both_tiny_layouts_hold_the_same_model(tiny_pair):
    transformers_dir, original_dir = tiny_pair
    original = json.loads((original_dir / "config.json").read_text())
    assert original["model_type"] == "vibevoice" and original["architectures"] == ["VibeVoiceForASRTraining"]
    assert "acoustic_tokenizer_encoder_config" not in original and original["acoustic_tokenizer_config"]["encoder_depths"] == "1-1-1-1-1-1-2"
    # The original code encodes in 60 s segments; the transformers tiny uses a few hops. Nothing else differs.
    translated, written = read_config(original_dir), json.loads((transformers_dir / "config.json").read_text())
    assert _without_chunk_size(translated) == _without_chunk_size(written)
    assert translated["acoustic_tokenizer_chunk_size"] == contract.ENCODER_CHUNK_SIZE != written["acoustic_tokenizer_chunk_size"]

    keys = set(load_file(str(original_dir / "model.safetensors")))
    assert DECODER_STAND_IN in keys and "model.acoustic_tokenizer.encoder.downsample_layers.0.0.conv.conv.weight" in keys
    a, b = SafetensorsCheckpoint(transformers_dir), SafetensorsCheckpoint(original_dir)
    assert (a.layout, b.layout) == ("transformers", "original")
    assert DECODER_STAND_IN not in b.entries and len(a.entries) == len(b.entries) == len(keys) - 1
    for name in (p.name for p in inventory.parameters(written)):
        assert torch.equal(torch.from_numpy(a.read(name)), torch.from_numpy(b.read(name))), name


def test_pytorch_loads_the_same_model_from_both_layouts(tiny_pair):
    from vibevoice_asr_web.checkpoint_model import load_model

    a, b = (load_model(folder) for folder in tiny_pair)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    assert a.generation_config.eos_token_id == b.generation_config.eos_token_id is not None


def test_original_layout_from_the_hub_exports_the_same_graphs(tiny_pair, tmp_path, monkeypatch, test_audio_dir):
    """Through the Hub path (snapshot_download mocked, as in test_export), validated against PyTorch."""
    import huggingface_hub

    transformers_dir, original_dir = tiny_pair
    snapshot = tmp_path / "models--microsoft--tiny-original" / "snapshots" / ("cd" * 20)
    shutil.copytree(original_dir, snapshot)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", lambda repo_id, revision=None, allow_patterns=None: str(snapshot))
    assert checkpoint_source.resolve("microsoft/tiny-original").path == snapshot

    original = _export("microsoft/tiny-original", tmp_path / "original", audio=[str(test_audio_dir / "numbers.flac")])
    reference = _export(transformers_dir, tmp_path / "transformers", validate=False)
    assert _graph_files(original) == _graph_files(reference)  # graphs and .onnx_data, byte for byte
    info = json.loads((original / "manifest.json").read_text())
    assert info["source"] == {"kind": "hub", "name": "microsoft/tiny-original", "revision": "cd" * 20}
    assert info["parity"]["fp32"]["passed"] and info["parity"]["fp32"]["greedy_tokens_equal"]
    exported = json.loads((original / "config.json").read_text())
    assert exported["model_type"] == "vibevoice_asr"
    assert _without_chunk_size(exported) == _without_chunk_size(json.loads((reference / "config.json").read_text()))


def test_other_shapes_in_the_original_layout_export_the_same_graphs(tmp_path, capsys):
    """The alt tiny (other widths, depths, heads, layers), made with the make-tiny command."""
    assert cli.main(["make-tiny", "--variant", "alt", "--seed", "7", "--layout", "original", "--output-dir", str(tmp_path / "alt_original")]) == 0
    assert "alt, original layout, seed 7" in capsys.readouterr().out
    transformers_dir = make_tiny(tmp_path / "alt", seed=7, variant="alt")
    original = _export(tmp_path / "alt_original", tmp_path / "original", validate=False)
    reference = _export(transformers_dir, tmp_path / "transformers", validate=False)
    assert _graph_files(original) == _graph_files(reference)
    dims = contract.ModelDims.from_config(json.loads((original / "config.json").read_text()))
    assert (dims.num_layers, dims.num_attention_heads, dims.hidden_size) == (3, 6, 96)


def _rewrite_weights(folder: Path, change) -> None:
    tensors = load_file(str(folder / "model.safetensors"))
    change(tensors)
    save_file(tensors, str(folder / "model.safetensors"))


def test_an_original_checkpoint_missing_a_tensor_names_it(tiny_pair, tmp_path, capsys):
    broken = shutil.copytree(tiny_pair[1], tmp_path / "broken")
    missing = "model.semantic_tokenizer.encoder.stages.6.1.ffn.linear2.weight"
    _rewrite_weights(broken, lambda tensors: tensors.pop(missing))
    assert cli.main(["export", "--checkpoint", str(broken), "--output-dir", str(tmp_path / "out"), "--no-validate"]) == 1
    err = capsys.readouterr().err
    assert f"(as {missing} in its original layout): is the download complete?" in err
    assert "model.semantic_tokenizer_encoder.conv_layers.5.stage.1.ffn.linear2.weight" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_an_original_checkpoint_with_a_stray_tensor_is_refused(tiny_pair, tmp_path, capsys):
    broken = shutil.copytree(tiny_pair[1], tmp_path / "stray")
    _rewrite_weights(broken, lambda tensors: tensors.update({"model.vision_tower.weight": torch.zeros(2)}))
    assert cli.main(["export", "--checkpoint", str(broken), "--output-dir", str(tmp_path / "out"), "--no-validate"]) == 1
    err = capsys.readouterr().err
    assert "holds model.vision_tower.weight, which is no key of the original VibeVoice-ASR layout" in err and "Traceback" not in err


def test_transformers_keys_under_an_original_config_are_refused(tiny_pair, tmp_path, capsys):
    mixed = shutil.copytree(tiny_pair[0], tmp_path / "mixed")
    shutil.copyfile(tiny_pair[1] / "config.json", mixed / "config.json")
    assert cli.main(["export", "--checkpoint", str(mixed), "--output-dir", str(tmp_path / "out"), "--no-validate"]) == 1
    assert "which is no key of the original VibeVoice-ASR layout" in capsys.readouterr().err


def test_layout_names_are_the_fixture_choices():
    assert checkpoint_layout.LAYOUTS == ("transformers", "original")
    with pytest.raises(UserError, match="unknown checkpoint layout 'gguf'; expected one of transformers, original"):
        make_tiny("/nonexistent/never-written", layout="gguf")
