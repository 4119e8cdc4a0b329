"""Tests for the deterministic tiny VibeVoice-ASR checkpoint (vibevoice_asr_web.fixtures.tiny_checkpoint)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np
import pytest

from vibevoice_asr_web.errors import UserError

torch = pytest.importorskip("torch", reason="the tiny checkpoint needs the export extra (torch)")
transformers = pytest.importorskip("transformers", reason="the tiny checkpoint needs the export extra (transformers)")
from safetensors.torch import load_file  # noqa: E402
from transformers import VibeVoiceAsrForConditionalGeneration, VibeVoiceAsrProcessor  # noqa: E402

from vibevoice_asr_web.fixtures import tokenizer_builder as tb  # noqa: E402
from vibevoice_asr_web.fixtures.tiny_checkpoint import (  # noqa: E402
    CHECKPOINT_FILES,
    DOWNSAMPLING_RATIOS,
    HOP_LENGTH,
    TINY_VARIANTS,
    from_checkpoint_key,
    make_tiny,
    tiny_checkpoint_summary,
)

SR = 24000


def _audio(num_samples: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(num_samples) / SR
    wave = 0.3 * np.sin(2 * np.pi * 220.0 * t) * np.sin(2 * np.pi * 1.3 * t) + 0.05 * rng.standard_normal(num_samples)
    return wave.astype(np.float32)


def _token_id_fields(obj, prefix=""):
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key.endswith("token_id"):
                yield prefix + key, value
            else:
                yield from _token_id_fields(value, prefix + key + ".")


def _read_all(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.iterdir())}


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread():
    # The tiny ops are far too small to gain from threads, and on a busy 2-core machine OpenMP spinning made
    # single calls many times slower; restore the caller's setting afterwards.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny") / "default", seed=0)


@pytest.fixture(scope="module")
def alt_dir(tmp_path_factory) -> Path:
    return make_tiny(tmp_path_factory.mktemp("tiny") / "alt", seed=0, variant="alt")


@pytest.fixture(scope="module")
def loaded(tiny_dir):
    model = VibeVoiceAsrForConditionalGeneration.from_pretrained(tiny_dir).eval()
    processor = VibeVoiceAsrProcessor.from_pretrained(tiny_dir)
    return model, processor


@pytest.fixture(scope="module")
def loaded_alt(alt_dir):
    model = VibeVoiceAsrForConditionalGeneration.from_pretrained(alt_dir).eval()
    processor = VibeVoiceAsrProcessor.from_pretrained(alt_dir)
    return model, processor


# --------------------------------------------------------------------------------------------- files


def test_files_written_and_canonical(tiny_dir):
    assert sorted(p.name for p in tiny_dir.iterdir()) == sorted(CHECKPOINT_FILES)
    for path in tiny_dir.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert text.endswith("}\n"), path.name
        assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n", path.name
    assert "transformers_version" not in (tiny_dir / "config.json").read_text()
    tok_cfg = json.loads((tiny_dir / "tokenizer_config.json").read_text())
    assert tok_cfg["tokenizer_class"] == "Qwen2Tokenizer"
    assert tok_cfg["chat_template"] == (tiny_dir / "chat_template.jinja").read_text() == tb.CHAT_TEMPLATE
    gen = json.loads((tiny_dir / "generation_config.json").read_text())
    assert gen["do_sample"] is False


def test_byte_identical_regeneration(tiny_dir, tmp_path):
    reference = _read_all(tiny_dir)
    again = _read_all(make_tiny(tmp_path / "again", seed=0))
    assert again.keys() == reference.keys()
    for name in reference:
        assert again[name] == reference[name], f"{name} differs between two runs"


def test_byte_identical_in_a_fresh_process(tiny_dir, tmp_path):
    # Tokenizer training runs in Rust with per-process hash seeds; a second interpreter must agree too.
    out = tmp_path / "subprocess"
    env = dict(os.environ, PYTHONHASHSEED="12345")
    pkg_root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = pkg_root + os.pathsep + env.get("PYTHONPATH", "")
    code = "import sys; from vibevoice_asr_web.fixtures.tiny_checkpoint import make_tiny; make_tiny(sys.argv[1], seed=0)"
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, env=env, timeout=120)
    assert _read_all(out) == _read_all(tiny_dir)


def test_different_seed_changes_every_weight_but_not_the_rest(tiny_dir, tmp_path):
    other = make_tiny(tmp_path / "seed1", seed=1)
    a, b = load_file(str(tiny_dir / "model.safetensors")), load_file(str(other / "model.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].shape == b[key].shape
        assert not torch.equal(a[key], b[key]), f"{key} does not depend on the seed"
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json"):
        assert (tiny_dir / name).read_bytes() == (other / name).read_bytes()


def test_refuses_non_empty_output_dir_and_overwrites_atomically(tmp_path):
    target = tmp_path / "ckpt"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    with pytest.raises(UserError, match="overwrite"):
        make_tiny(target)
    assert sorted(p.name for p in target.iterdir()) == ["stale.txt"]
    make_tiny(target, overwrite=True)
    assert sorted(p.name for p in target.iterdir()) == sorted(CHECKPOINT_FILES)
    empty = tmp_path / "empty"
    empty.mkdir()
    make_tiny(empty)  # an existing empty directory is fine
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt", "empty"]  # no temporary siblings left


def test_unknown_variant():
    with pytest.raises(ValueError, match="unknown tiny variant"):
        make_tiny("/nonexistent/never-created", variant="huge")


# --------------------------------------------------------------------------------------------- loading


def test_from_pretrained_gives_exactly_the_written_weights(tiny_dir, loaded, tmp_path):
    model, _ = loaded
    written = load_file(str(tiny_dir / "model.safetensors"))
    state = model.state_dict()
    assert {from_checkpoint_key(k) for k in written} == set(state)
    for key, tensor in written.items():
        assert tensor.dtype == torch.float32
        assert torch.equal(state[from_checkpoint_key(key)], tensor), key
    # The file uses the same key layout as transformers' own save_pretrained (the hub layout).
    model.save_pretrained(tmp_path / "resaved")
    resaved = load_file(str(tmp_path / "resaved" / "model.safetensors"))
    assert resaved.keys() == written.keys()
    for key in written:
        assert torch.equal(resaved[key], written[key]), key


def test_special_ids_point_at_the_tiny_tokenizer(tiny_dir, loaded):
    model, processor = loaded
    tok = processor.tokenizer
    assert type(tok).__name__ == "Qwen2Tokenizer"
    ids = {text: tok.convert_tokens_to_ids(text) for text, _ in tb.QWEN2_ADDED_TOKENS}
    bpe_size = len(tok) - len(tb.QWEN2_ADDED_TOKENS)
    assert list(ids.values()) == list(range(bpe_size, len(tok)))  # contiguous, in Qwen2.5 order
    assert 300 <= len(tok) <= 1100
    cfg, text_cfg, gen = model.config, model.config.text_config, model.generation_config
    assert cfg.audio_token_id == ids["<|box_start|>"] == processor.audio_token_id
    assert cfg.audio_bos_token_id == ids["<|object_ref_start|>"] == processor.audio_bos_token_id
    assert cfg.audio_eos_token_id == ids["<|object_ref_end|>"] == processor.audio_eos_token_id
    assert text_cfg.eos_token_id == text_cfg.bos_token_id == ids["<|endoftext|>"] == tok.eos_token_id
    assert text_cfg.pad_token_id == ids["<|image_pad|>"]
    assert gen.eos_token_id == ids["<|endoftext|>"]
    assert gen.pad_token_id == ids["<|image_pad|>"]
    assert gen.do_sample is False and gen.num_beams in (None, 1)  # greedy
    assert text_cfg.vocab_size % 64 == 0 and len(tok) <= text_cfg.vocab_size < len(tok) + 64
    # every *_token_id in the written configs lies inside this vocabulary (none of the real 1516xx ids)
    for name in ("config.json", "generation_config.json"):
        for key, value in _token_id_fields(json.loads((tiny_dir / name).read_text())):
            assert value is None or 0 <= value < len(tok), (name, key, value)
    # transformers' rebuilt Qwen2 pipeline tokenises exactly like the raw tokenizer.json
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(tiny_dir / "tokenizer.json"))
    sample = 'Hi, it\'s 12.50 s!\n[{"Start":0.0,"End":1.5,"Speaker":0,"Content":"é ü"}]<|im_end|>\n  \t x'
    assert tok.encode(sample) == raw.encode(sample).ids
    assert tok.decode(tok.encode(sample)) == sample


@pytest.mark.parametrize("num_samples", [60000, 16000, 17234, 3200, 1])
def test_transcription_prompt(loaded, num_samples):
    _, processor = loaded
    inputs = processor.apply_transcription_request(_audio(num_samples))
    ids = inputs["input_ids"][0].tolist()
    n_tok = math.ceil(num_samples / HOP_LENGTH)
    text = processor.tokenizer.decode(ids, skip_special_tokens=False)
    assert text == tb.expected_prompt(n_tok, num_samples / SR)
    assert tb.SYSTEM_PROMPT in text and "please transcribe it with these keys" in text
    assert not text.rstrip("\n").endswith("assistant")  # the model writes the assistant header itself
    bos = ids.index(processor.audio_bos_token_id)
    eos = ids.index(processor.audio_eos_token_id)
    assert ids[bos + 1 : eos] == [processor.audio_token_id] * n_tok
    assert ids.count(processor.audio_token_id) == n_tok
    assert tuple(inputs["input_values"].shape) == (1, 1, n_tok * HOP_LENGTH)
    assert int(inputs["padding_mask"].sum()) == num_samples


def test_transcription_prompt_with_context(loaded):
    _, processor = loaded
    context = 'About "VibeVoice", Dr. Smith & Co.\nHotwords: Qwen, 7.5 Hz'
    num_samples = 60000  # 2.5 s
    inputs = processor.apply_transcription_request(_audio(num_samples), prompt=context)
    ids = inputs["input_ids"][0].tolist()
    text = processor.tokenizer.decode(ids, skip_special_tokens=False)
    assert text == tb.expected_prompt(19, 2.5, context)
    assert "This is a 2.50 seconds audio, with extra info: " + context + "\n\nPlease transcribe" in text
    assert ids.count(processor.audio_token_id) == 19
    # the untokenised path renders the template with the raw placeholders
    raw = processor.apply_transcription_request(_audio(num_samples), prompt=context, tokenize=False)
    raw = raw[0] if isinstance(raw, list) else raw
    assert "<|object_ref_start|><|box_start|><|object_ref_end|>" in raw and tb.AUDIO_DURATION_PLACEHOLDER in raw


# --------------------------------------------------------------------------------------------- model


def test_generate_is_deterministic_and_crosses_encoder_chunks(loaded):
    model, processor = loaded
    num_samples = 45000  # 15 frames; the chunk is 4 frames, so 4 encoder chunks
    assert model.config.acoustic_tokenizer_chunk_size == TINY_VARIANTS["default"]["chunk_frames"] * HOP_LENGTH
    inputs = processor.apply_transcription_request(_audio(num_samples, seed=3))
    assert inputs["input_values"].shape[-1] > 3 * model.config.acoustic_tokenizer_chunk_size
    prompt_len = inputs["input_ids"].shape[1]
    with torch.no_grad():
        out1 = model.generate(**inputs, sample=False, max_new_tokens=12)
        out2 = model.generate(**inputs, sample=False, max_new_tokens=12)
    assert torch.equal(out1, out2)
    new = out1[0, prompt_len:].tolist()
    assert len(new) >= 1
    assert all(0 <= t < len(processor.tokenizer) for t in new)
    assert isinstance(processor.decode(out1[0, prompt_len:]), str)


def test_sample_flag_controls_acoustic_noise(loaded):
    model, processor = loaded
    inputs = processor.apply_transcription_request(_audio(30000))
    with torch.no_grad():
        feats = model.get_audio_features(inputs["input_values"], inputs["padding_mask"], sample=False).pooler_output
        again = model.get_audio_features(inputs["input_values"], inputs["padding_mask"], sample=False).pooler_output
        torch.manual_seed(0)
        noisy = model.get_audio_features(inputs["input_values"], inputs["padding_mask"], sample=True).pooler_output
    assert feats.shape == (math.ceil(30000 / HOP_LENGTH), model.config.text_config.hidden_size)
    assert torch.equal(feats, again)
    assert not torch.allclose(feats, noisy)


def test_chunked_encoding_matches_single_pass(loaded):
    model, processor = loaded
    inputs = processor.apply_transcription_request(_audio(40000, seed=5))
    with torch.no_grad():
        chunked = model.get_audio_features(inputs["input_values"], sample=False).last_hidden_state
        single = model.model.acoustic_tokenizer_encoder(inputs["input_values"]).latents
    assert chunked.shape == single.shape
    torch.testing.assert_close(chunked, single, rtol=1e-4, atol=1e-4)


def test_activations_are_healthy(loaded):
    model, processor = loaded
    inputs = processor.apply_transcription_request(_audio(40000, seed=1))
    with torch.no_grad():
        acoustic = model.model.acoustic_tokenizer_encoder(inputs["input_values"]).latents
        semantic = model.model.semantic_tokenizer_encoder(inputs["input_values"]).latents
        out = model(**inputs, sample=False)
    for name, t in [("acoustic", acoustic), ("semantic", semantic), ("audio embeds", out.audio_hidden_states)]:
        assert torch.isfinite(t).all(), name
        assert 0.3 < t.std().item() < 30, (name, t.std().item())
        # frames differ from each other (the encoders do not collapse to a constant)
        assert t.reshape(-1, t.shape[-1]).std(dim=0).mean().item() > 0.05, name
    logits = out.logits[0]
    assert torch.isfinite(logits).all()
    assert 0.5 < logits.std().item() < 20
    # different audio gives different logits at the last position
    other = processor.apply_transcription_request(_audio(40000, seed=2))
    with torch.no_grad():
        other_logits = model(**other, sample=False).logits[0]
    assert (logits[-1] - other_logits[-1]).abs().max().item() > 1e-2


def test_every_weight_tensor_matters(loaded):
    model, processor = loaded
    inputs = processor.apply_transcription_request(_audio(30000, seed=4))  # 10 frames, 3 encoder chunks
    with torch.no_grad():
        base = model(**inputs, sample=False).logits
        dead = []
        for name, param in model.named_parameters():
            saved = param.detach().clone()
            gen = torch.Generator().manual_seed(0)
            param.add_(0.2 * torch.randn(param.shape, generator=gen) * (saved.abs().mean() + 1e-3))
            changed = (model(**inputs, sample=False).logits - base).abs().max().item()
            param.copy_(saved)
            if not changed > 1e-5:
                dead.append((name, changed))
        assert torch.equal(model(**inputs, sample=False).logits, base)
    assert not dead, f"weights without effect on the logits: {dead}"


REQUIRED_MODULE_TYPES = {
    "VibeVoiceAsrModel",
    "VibeVoiceAcousticTokenizerEncoderModel",
    "VibeVoiceAcousticTokenizerEncoderStem",
    "VibeVoiceAcousticTokenizerEncoderLayer",
    "VibeVoiceAcousticTokenizerConvNext1dLayer",
    "VibeVoiceAcousticTokenizerCausalConv1d",
    "VibeVoiceAcousticTokenizerRMSNorm",
    "VibeVoiceAcousticTokenizerFeedForward",
    "VibeVoiceAsrMultiModalProjector",
    "VibeVoiceAsrRMSNorm",
    "Qwen2Model",
    "Qwen2DecoderLayer",
    "Qwen2Attention",
    "Qwen2MLP",
    "Qwen2RMSNorm",
    "Qwen2RotaryEmbedding",
    "Conv1d",
    "Linear",
    "Embedding",
    "GELUActivation",
    "SiLUActivation",
}


def _check_architecture(model, variant):
    spec = TINY_VARIANTS[variant]
    names = {type(m).__name__ for m in model.modules()}
    missing = REQUIRED_MODULE_TYPES - names
    assert not missing, f"missing module types: {sorted(missing)}"
    for tower, key in [("acoustic_tokenizer_encoder", "acoustic"), ("semantic_tokenizer_encoder", "semantic")]:
        enc = getattr(model.model, tower)
        assert len(enc.conv_layers) == 6
        strides = [layer.conv.conv.stride[0] for layer in enc.conv_layers]
        kernels = [layer.conv.conv.kernel_size[0] for layer in enc.conv_layers]
        assert strides == list(DOWNSAMPLING_RATIOS) and kernels == [2 * s for s in DOWNSAMPLING_RATIOS]
        assert math.prod(strides) == HOP_LENGTH
        depths = [len(enc.stem.stage)] + [len(layer.stage) for layer in enc.conv_layers]
        assert depths == spec[key]["depths"] and all(d >= 1 for d in depths)
        nf = spec[key]["num_filters"]
        assert enc.stem.conv.conv.out_channels == nf
        assert [layer.conv.conv.out_channels for layer in enc.conv_layers] == [nf * 2**i for i in range(1, 7)]
        assert enc.head.conv.out_channels == spec[key]["hidden_size"]
        for block in enc.modules():
            if type(block).__name__ == "VibeVoiceAcousticTokenizerConvNext1dLayer":
                conv = block.mixer.conv
                assert conv.groups == conv.in_channels == conv.out_channels and conv.kernel_size == (7,)
                assert block.gamma.abs().min() >= 0.4 and block.ffn_gamma.abs().min() >= 0.4  # not the 1e-6 init
    proj = model.model.multi_modal_projector
    assert proj.acoustic_linear_1.in_features == spec["acoustic"]["hidden_size"]
    assert proj.semantic_linear_1.in_features == spec["semantic"]["hidden_size"]
    text = spec["text"]
    lm = model.model.language_model
    assert len(lm.layers) == text["num_hidden_layers"]
    attn = lm.layers[0].self_attn
    head_dim = text["hidden_size"] // text["num_attention_heads"]
    assert attn.q_proj.out_features == text["num_attention_heads"] * head_dim
    assert attn.k_proj.out_features == attn.v_proj.out_features == text["num_key_value_heads"] * head_dim
    assert text["num_key_value_heads"] < text["num_attention_heads"]  # grouped-query attention
    assert attn.q_proj.bias is not None and attn.k_proj.bias is not None and attn.v_proj.bias is not None
    assert attn.o_proj.bias is None
    cfg = model.config.text_config
    assert cfg.tie_word_embeddings is False
    assert cfg.rope_parameters["rope_theta"] == 1e6
    assert model.lm_head.weight.data_ptr() != lm.embed_tokens.weight.data_ptr()
    assert not torch.equal(model.lm_head.weight, lm.embed_tokens.weight)


@pytest.mark.parametrize("variant", ["default", "alt"])
def test_every_module_type_present(variant, loaded, loaded_alt):
    model, _ = loaded if variant == "default" else loaded_alt
    _check_architecture(model, variant)


def test_alt_variant_differs_loads_and_runs(tiny_dir, alt_dir, loaded, loaded_alt):
    model, _ = loaded
    alt_model, alt_processor = loaded_alt
    a, b = model.config, alt_model.config
    assert a.text_config.hidden_size != b.text_config.hidden_size
    assert a.text_config.num_hidden_layers != b.text_config.num_hidden_layers
    assert a.text_config.num_attention_heads != b.text_config.num_attention_heads
    assert (a.text_config.num_attention_heads // a.text_config.num_key_value_heads) != (
        b.text_config.num_attention_heads // b.text_config.num_key_value_heads
    )
    assert a.acoustic_tokenizer_encoder_config.hidden_size != b.acoustic_tokenizer_encoder_config.hidden_size
    assert a.acoustic_tokenizer_encoder_config.num_filters != b.acoustic_tokenizer_encoder_config.num_filters
    assert a.acoustic_tokenizer_chunk_size != b.acoustic_tokenizer_chunk_size
    assert a.text_config.vocab_size != b.text_config.vocab_size
    written = load_file(str(alt_dir / "model.safetensors"))
    state = alt_model.state_dict()
    assert {from_checkpoint_key(k) for k in written} == set(state)
    for key, tensor in written.items():
        assert torch.equal(state[from_checkpoint_key(key)], tensor), key
    num_samples = 40000  # 13 frames, chunk 3 frames
    inputs = alt_processor.apply_transcription_request(_audio(num_samples), prompt="alt context")
    text = alt_processor.tokenizer.decode(inputs["input_ids"][0].tolist(), skip_special_tokens=False)
    assert text == tb.expected_prompt(13, num_samples / SR, "alt context")
    assert b.audio_token_id == alt_processor.audio_token_id
    with torch.no_grad():
        out = alt_model.generate(**inputs, sample=False, max_new_tokens=6)
        out2 = alt_model.generate(**inputs, sample=False, max_new_tokens=6)
    assert torch.equal(out, out2) and out.shape[1] > inputs["input_ids"].shape[1]


def test_summary(tiny_dir):
    summary = tiny_checkpoint_summary(tiny_dir)
    written = load_file(str(tiny_dir / "model.safetensors"))
    assert summary["total"] == sum(t.numel() for t in written.values())
    assert summary["num_tensors"] == len(written)
    assert all(count > 0 for count in summary["params"].values()), summary
    assert summary["params"]["lm_head"] == summary["params"]["embed_tokens"]  # same shape, untied


# -- the embedded checkpoint: fitted to the test clips -------------------------------------------


def test_fitting_reproduces_the_embedded_checkpoint_byte_for_byte(tiny_checkpoint, tiny_dir, test_audio_dir, tmp_path):
    fitted = make_tiny(tmp_path / "fitted", seed=0, fit_audio=test_audio_dir)
    assert _read_all(fitted) == _read_all(tiny_checkpoint)  # built in another process (Bazel's action)
    info = json.loads((fitted / "tiny_checkpoint.json").read_text())
    assert info["fitted"] == {"clips": [*sorted(json.loads((test_audio_dir / "transcripts.json").read_text())), "hum"], "steps": 200}
    # only the decoder and lm_head learn: the audio encoders and the projector keep their random weights
    random_weights, fitted_weights = load_file(str(tiny_dir / "model.safetensors")), load_file(str(fitted / "model.safetensors"))
    changed = {key for key in random_weights if not torch.equal(random_weights[key], fitted_weights[key])}
    assert changed and all(key.startswith("language_model.") for key in changed)
    assert any(key.startswith("language_model.lm_head.") for key in changed)


def test_the_embedded_checkpoint_transcribes_every_test_clip_in_pytorch(tiny_checkpoint, test_audio_dir):
    from vibevoice_asr_web import audio
    from vibevoice_asr_web.fixtures.tiny_fit import transcript_answer

    model = VibeVoiceAsrForConditionalGeneration.from_pretrained(tiny_checkpoint).eval()
    processor = VibeVoiceAsrProcessor.from_pretrained(tiny_checkpoint)
    for name, text in json.loads((test_audio_dir / "transcripts.json").read_text()).items():
        samples = audio.load_audio_24k(test_audio_dir / name)
        inputs = processor.apply_transcription_request(audio=samples)
        with torch.no_grad():
            out = model.generate(**inputs, sample=False, do_sample=False, max_new_tokens=160)
        answer = processor.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=False)
        assert answer == transcript_answer(text, len(samples) / SR), name  # ends with <|im_end|>\n<|endoftext|>
        assert processor.decode(out[0, inputs["input_ids"].shape[1] :], return_format="transcription_only") == text


def test_fit_audio_must_name_clips_with_transcripts(tmp_path):
    clips = tmp_path / "clips"
    clips.mkdir()
    with pytest.raises(UserError, match="transcripts.json not found: --fit-audio expects a folder of clips"):
        make_tiny(tmp_path / "out", fit_audio=clips)
    (clips / "transcripts.json").write_text("[]")
    with pytest.raises(UserError, match="expected a non-empty JSON object of file name -> text"):
        make_tiny(tmp_path / "out", fit_audio=clips / "transcripts.json")
    assert not (tmp_path / "out").exists()
    with pytest.raises(UserError, match="lies inside the --fit-audio"):
        make_tiny(clips / "out", fit_audio=clips)
