"""Deterministic tiny VibeVoice-ASR checkpoints in Hugging Face format, for tests.

``make_tiny(output_dir, seed=0, variant="default")`` writes a directory that transformers 5.23 loads with
``VibeVoiceAsrForConditionalGeneration.from_pretrained(dir)`` and ``VibeVoiceAsrProcessor.from_pretrained(dir)``
without network access. It keeps every module type of the real model at tiny widths:

* two causal ConvNeXt-1D tokenizer encoders (acoustic, semantic) with a stem conv, all seven stages, the six
  strided downsample convs at the real strides [2, 2, 4, 5, 5, 8] (kernel 2*stride, hop 3200) and a head conv;
* both connectors (Linear -> RMSNorm -> Linear), summed;
* a Qwen2 decoder with grouped-query attention, q/k/v biases, RoPE theta 1e6 and an untied lm_head;
* an encoder chunk size of a few hops, so a few seconds of audio already crosses encoder chunks;
* a small Qwen2-style byte-level BPE tokenizer (see ``tokenizer_builder``) holding the real added tokens, with
  every special id in the config files pointing at that tokenizer's ids.

Weights are drawn per tensor from a generator seeded by (seed, tensor name) at scales where every block matters
(layer-scale gammas in [0.5, 1], norm weights 1 +- noise, weights N(0, 1/fan_in)), instead of the 1e-6
layer-scale init, which would make every ConvNeXt block an identity. With ``fit_audio`` the decoder is then fitted
to transcribe those clips (``tiny_fit``): the embedded checkpoint is made that way from testdata/audio. All files
are byte-identical for the same seed, variant and clips.

Deterministic generation: ``model.generate(**inputs, sample=False)`` (``sample`` is a forward argument of
``VibeVoiceAsrForConditionalGeneration``; the default ``True`` adds vae_std-scaled Gaussian noise to the acoustic
latents).

torch and transformers are imported lazily, so importing this module (e.g. for ``TINY_VARIANTS``) needs neither.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
from pathlib import Path
from typing import Any

from . import tokenizer_builder as tb
from .atomic import atomic_directory, check_apart, check_output_dir
from .contract import DOWNSAMPLING_RATIOS, HOP_LENGTH, SAMPLE_RATE
from .inventory import from_checkpoint_key, to_checkpoint_key  # noqa: F401 (re-exported for tests)
from .errors import UserError
from .progress import Progress

FORMAT_VERSION = 1

WEIGHTS_NAME = "model.safetensors"
CHECKPOINT_FILES = (
    "chat_template.jinja",
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "preprocessor_config.json",
    "processor_config.json",
    "tiny_checkpoint.json",
    "tokenizer.json",
    "tokenizer_config.json",
)

# Named tiny configurations. Encoder fields use the transformers names of VibeVoiceAcousticTokenizerEncoderConfig
# (hidden_size = latent dim, num_filters = stage-0 channels, doubled after each downsample, depths = blocks per
# stage for the 7 stages); text fields are Qwen2Config fields.
TINY_VARIANTS: dict[str, dict[str, Any]] = {
    "default": {
        "bpe_vocab_size": 600,  # learned BPE tokens (256 byte symbols included); 22 added tokens follow
        "vocab_multiple": 64,  # text vocab_size = tokenizer size rounded up (the real one: 151665 -> 152064)
        "chunk_frames": 4,  # acoustic_tokenizer_chunk_size = 4 * 3200 samples
        "acoustic": {"hidden_size": 8, "num_filters": 4, "depths": [1, 1, 1, 1, 1, 1, 2]},
        "semantic": {"hidden_size": 16, "num_filters": 4, "depths": [1, 1, 1, 1, 1, 1, 2]},
        "text": {
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
        },
        "max_new_tokens": 256,
    },
    "alt": {
        "bpe_vocab_size": 800,
        "vocab_multiple": 128,
        "chunk_frames": 3,
        "acoustic": {"hidden_size": 12, "num_filters": 6, "depths": [2, 1, 1, 1, 1, 1, 2]},
        "semantic": {"hidden_size": 20, "num_filters": 5, "depths": [1, 2, 1, 1, 1, 2, 1]},
        "text": {
            "hidden_size": 96,
            "intermediate_size": 224,
            "num_hidden_layers": 3,
            "num_attention_heads": 6,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
        },
        "max_new_tokens": 256,
    },
    # Widths that are not multiples of 4 (3 and 7 filters), an odd chunk of 5 hops, one KV head of
    # size 32, and lm_head tied to the embedding: shapes the other two never show the browser.
    "odd": {
        "bpe_vocab_size": 700,
        "vocab_multiple": 32,
        "chunk_frames": 5,
        "acoustic": {"hidden_size": 6, "num_filters": 3, "depths": [1, 1, 2, 1, 1, 1, 1]},
        "semantic": {"hidden_size": 10, "num_filters": 7, "depths": [2, 1, 1, 1, 1, 1, 1]},
        "text": {
            "hidden_size": 64,
            "intermediate_size": 96,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "max_position_embeddings": 4096,
            "tie_word_embeddings": True,
        },
        "max_new_tokens": 256,
    },
}

# Fixed across variants: the real model's values.
_ENCODER_COMMON = {
    "channels": 1,
    "kernel_size": 7,
    "ffn_expansion": 4,
    "hidden_act": "gelu",
    "rms_norm_eps": 1e-5,
    "layer_scale_init_value": 1e-6,  # only used by random init; make_tiny overwrites the gammas
    "downsampling_ratios": list(DOWNSAMPLING_RATIOS),
}
_TEXT_COMMON = {
    "hidden_act": "silu",
    "rms_norm_eps": 1e-6,
    "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
    "tie_word_embeddings": False,
    "use_sliding_window": False,
    "sliding_window": None,
    "attention_dropout": 0.0,
}

# Scales of the deterministic init.
_GAMMA_RANGE = (0.5, 1.0)
_NORM_NOISE = 0.1
_BIAS_STD = 0.1
_EMBED_STD = 1.0
_LM_HEAD_GAIN = 2.0  # logits std ~2, so greedy decoding is decisive


def _round_up(value: int, multiple: int) -> int:
    return ((value + multiple - 1) // multiple) * multiple


def _variant(variant: str) -> dict[str, Any]:
    if variant not in TINY_VARIANTS:
        raise ValueError(f"unknown tiny variant {variant!r}; known: {sorted(TINY_VARIANTS)}")
    return TINY_VARIANTS[variant]


def _json_text(obj: Any) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def build_tiny_tokenizer(variant: str = "default"):
    """The variant's `tokenizers.Tokenizer` (deterministic; independent of the seed)."""
    return tb.build_tokenizer(_variant(variant)["bpe_vocab_size"])


def build_tiny_config(variant: str = "default", tokenizer=None):
    """A `VibeVoiceAsrConfig` for the variant, with special ids taken from the variant's tokenizer."""
    from transformers import Qwen2Config, VibeVoiceAcousticTokenizerEncoderConfig, VibeVoiceAsrConfig

    spec = _variant(variant)
    if tokenizer is None:
        tokenizer = build_tiny_tokenizer(variant)
    ids = tb.special_token_ids(tokenizer)
    vocab_size = _round_up(tokenizer.get_vocab_size(), spec["vocab_multiple"])
    acoustic = VibeVoiceAcousticTokenizerEncoderConfig(**_ENCODER_COMMON, **spec["acoustic"], vae_std=0.625)
    # The semantic tower has no noise in the real model; the HF config class still carries vae_std (unused).
    semantic = VibeVoiceAcousticTokenizerEncoderConfig(**_ENCODER_COMMON, **spec["semantic"], vae_std=0.625)
    for enc in (acoustic, semantic):
        if enc.hop_length != HOP_LENGTH:
            raise AssertionError(f"hop length {enc.hop_length} != {HOP_LENGTH}")
    text = Qwen2Config(
        vocab_size=vocab_size,
        **{**copy.deepcopy(_TEXT_COMMON), **spec["text"]},
        max_window_layers=spec["text"]["num_hidden_layers"],
        bos_token_id=ids[tb.EOS_TOKEN],
        eos_token_id=ids[tb.EOS_TOKEN],
        pad_token_id=ids[tb.PAD_TOKEN],
    )
    return VibeVoiceAsrConfig(
        acoustic_tokenizer_encoder_config=acoustic,
        semantic_tokenizer_encoder_config=semantic,
        text_config=text,
        audio_token_id=ids[tb.AUDIO_TOKEN],
        audio_bos_token_id=ids[tb.AUDIO_BOS_TOKEN],
        audio_eos_token_id=ids[tb.AUDIO_EOS_TOKEN],
        acoustic_tokenizer_chunk_size=spec["chunk_frames"] * HOP_LENGTH,
    )


def _tensor_seed(seed: int, name: str) -> int:
    digest = hashlib.sha256(f"vibevoice-asr-tiny/{seed}/{name}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _init_tensor(name: str, shape: tuple[int, ...], seed: int, text_hidden: int, tokenizer_size: int):
    import torch

    gen = torch.Generator(device="cpu").manual_seed(_tensor_seed(seed, name))

    def normal(std: float):
        return torch.randn(shape, generator=gen, dtype=torch.float32) * std

    leaf = name.rsplit(".", 1)[-1]
    if leaf in ("gamma", "ffn_gamma"):
        lo, hi = _GAMMA_RANGE
        return lo + (hi - lo) * torch.rand(shape, generator=gen, dtype=torch.float32)
    if name.endswith("norm.weight"):  # every RMSNorm: encoder norm/ffn_norm, connector norms, Qwen2 norms
        return 1.0 + normal(_NORM_NOISE)
    if leaf == "bias":
        return normal(_BIAS_STD)
    if name.endswith("embed_tokens.weight"):
        return normal(_EMBED_STD)
    if name == "lm_head.weight":
        weight = normal(_LM_HEAD_GAIN / math.sqrt(text_hidden))
        # Rows past the tokenizer (vocab padding, like 151665..152063 in the real model) never win a greedy
        # step: zero rows give logit 0 while the real rows' maximum is far above it.
        weight[tokenizer_size:] = 0.0
        return weight
    if len(shape) >= 2:  # Linear [out, in] and Conv1d [out, in/groups, k]
        fan_in = math.prod(shape[1:])
        return normal(1.0 / math.sqrt(fan_in))
    raise ValueError(f"no init rule for parameter {name} {shape}")


def build_tiny_state_dict(config, seed: int, tokenizer_size: int) -> dict[str, Any]:
    """Deterministic weights for every parameter of `VibeVoiceAsrForConditionalGeneration(config)`.

    Keys are the in-memory module names (``model.language_model.*``, ``lm_head.weight``, ...)."""
    import torch
    from transformers import VibeVoiceAsrForConditionalGeneration

    with torch.device("meta"):
        skeleton = VibeVoiceAsrForConditionalGeneration(config)
    shapes = {name: tuple(t.shape) for name, t in skeleton.state_dict().items()}
    hidden = config.text_config.hidden_size
    state = {name: _init_tensor(name, shape, seed, hidden, tokenizer_size) for name, shape in sorted(shapes.items())}
    if config.text_config.tie_word_embeddings:
        # transformers 5.23's VibeVoiceAsr keeps lm_head apart even then, so a tied checkpoint stores
        # the same values twice (as Qwen2.5-1.5B's does); rows past the tokenizer stay zero.
        embedding = state["model.language_model.embed_tokens.weight"]
        embedding[tokenizer_size:] = 0.0
        state["lm_head.weight"] = embedding.clone()
    return state


def _feature_extractor_config() -> dict[str, Any]:
    from transformers import VibeVoiceAcousticTokenizerFeatureExtractor

    fe = VibeVoiceAcousticTokenizerFeatureExtractor(sampling_rate=SAMPLE_RATE, pad_to_multiple_of=HOP_LENGTH)
    cfg = fe.to_dict()
    cfg.pop("transformers_version", None)
    cfg["processor_class"] = "VibeVoiceAsrProcessor"
    return cfg


def _processor_config() -> dict[str, Any]:
    return {
        "audio_bos_token": tb.AUDIO_BOS_TOKEN,
        "audio_duration_token": tb.AUDIO_DURATION_PLACEHOLDER,
        "audio_eos_token": tb.AUDIO_EOS_TOKEN,
        "audio_token": tb.AUDIO_TOKEN,
        "processor_class": "VibeVoiceAsrProcessor",
    }


def _generation_config(ids: dict[str, int], max_new_tokens: int) -> dict[str, Any]:
    # Same fields as the real checkpoint's generation_config (greedy, EOS <|endoftext|>, pad <|image_pad|>),
    # with this tokenizer's ids and a test-sized max_new_tokens.
    return {
        "bos_token_id": None,
        "do_sample": False,
        "eos_token_id": ids[tb.EOS_TOKEN],
        "max_new_tokens": max_new_tokens,
        "pad_token_id": ids[tb.PAD_TOKEN],
    }


def processor_files(tok, max_new_tokens: int, model_max_length: int) -> dict[str, str]:
    """Everything but config.json and the weights: tokenizer, chat template, processor and generation files."""
    ids = tb.special_token_ids(tok)
    return {
        "generation_config.json": _json_text(_generation_config(ids, max_new_tokens)),
        "tokenizer.json": tb.canonical_tokenizer_json(tok),
        "tokenizer_config.json": _json_text(tb.tokenizer_config(tok, model_max_length)),
        "chat_template.jinja": tb.CHAT_TEMPLATE,
        "preprocessor_config.json": _json_text(_feature_extractor_config()),
        "processor_config.json": _json_text(_processor_config()),
    }


def _fitted_state(config, state: dict[str, Any], folder: Path, clips, report) -> dict[str, Any]:
    """`state` after tiny_fit has taught the decoder to answer `clips`."""
    import torch
    from transformers import VibeVoiceAsrForConditionalGeneration, VibeVoiceAsrProcessor

    from . import tiny_fit

    model = VibeVoiceAsrForConditionalGeneration(config)
    model.load_state_dict(state, strict=True)
    model.eval()  # no dropout in this model; eval keeps it that way if one is added
    tiny_fit.fit(model, VibeVoiceAsrProcessor.from_pretrained(folder), clips, report=report)
    with torch.no_grad():
        return {name: t.detach().clone().contiguous() for name, t in model.state_dict().items()}


def _write_checkpoint(dst: Path, seed: int, variant: str, fit_audio, report) -> None:
    import torch
    from safetensors.torch import save_file

    from . import tiny_fit

    spec = _variant(variant)
    tok = build_tiny_tokenizer(variant)
    ids = tb.special_token_ids(tok)
    config = build_tiny_config(variant, tokenizer=tok)
    state = build_tiny_state_dict(config, seed, tok.get_vocab_size())

    config.architectures = ["VibeVoiceAsrForConditionalGeneration"]
    config.dtype = torch.float32
    config_dict = config.to_diff_dict()  # what save_pretrained writes
    config_dict.pop("transformers_version", None)
    clips = None if fit_audio is None else [*tiny_fit.clips_from_folder(fit_audio), tiny_fit.hum_clip()]
    fitted = None if clips is None else {"clips": [clip.name for clip in clips], "steps": tiny_fit.STEPS}
    texts = {
        "config.json": _json_text(config_dict),
        **processor_files(tok, spec["max_new_tokens"], spec["text"]["max_position_embeddings"]),
        "tiny_checkpoint.json": _json_text(
            {
                "fitted": fitted,
                "format_version": FORMAT_VERSION,
                "generator": "vibevoice_asr_web.tiny_checkpoint.make_tiny",
                "seed": seed,
                "special_token_ids": ids,
                "tokenizer_size": tok.get_vocab_size(),
                "variant": variant,
            }
        ),
    }
    for name, text in texts.items():
        with open(dst / name, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)

    if clips is not None:  # the processor reads the files written above
        state = _fitted_state(config, state, dst, clips, report)
    tensors = {to_checkpoint_key(name): t.contiguous() for name, t in state.items()}
    tensors = {key: tensors[key] for key in sorted(tensors)}
    for key, t in tensors.items():
        if t.dtype != torch.float32 or not torch.isfinite(t).all():
            raise AssertionError(f"bad tensor {key}")
    save_file(tensors, str(dst / WEIGHTS_NAME), metadata={"format": "pt"})


def make_tiny(
    output_dir: str | os.PathLike,
    seed: int = 0,
    variant: str = "default",
    overwrite: bool = False,
    fit_audio: str | os.PathLike | None = None,
    report=lambda message: None,
) -> Path:
    """Write a tiny VibeVoice-ASR checkpoint (HF format) to ``output_dir`` and return its path.

    With ``fit_audio`` (a folder of clips with a transcripts.json, like testdata/audio) the decoder is then taught
    to transcribe those clips (see ``tiny_fit``); without it every weight stays random.

    The files are built in a temporary sibling directory and renamed into place. A non-empty ``output_dir`` is
    an error unless ``overwrite=True`` (then it is replaced as a whole).
    """
    _variant(variant)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, got {seed!r}")
    check_apart(output_dir, [("--fit-audio", fit_audio)])  # before the model is built, not after
    check_output_dir(Path(output_dir).absolute(), overwrite)
    import torch

    with atomic_directory(output_dir, overwrite=overwrite, inputs=[("--fit-audio", fit_audio)]) as partial:
        with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG untouched
            _write_checkpoint(partial, seed, variant, fit_audio, report)
        os.chmod(partial, 0o755)
    return Path(output_dir).absolute()


_GROUPS = (
    ("acoustic_encoder", "acoustic_tokenizer_encoder."),
    ("semantic_encoder", "semantic_tokenizer_encoder."),
    ("projector", "multi_modal_projector."),
    ("embed_tokens", "language_model.model.embed_tokens."),
    ("decoder_body", "language_model.model."),
    ("lm_head", "language_model.lm_head."),
)


def tiny_checkpoint_summary(checkpoint_dir: str | os.PathLike) -> dict[str, Any]:
    """Parameter counts per group (plus tensor count and total) of a checkpoint written by make_tiny.

    ``decoder_body`` excludes ``embed_tokens``, which is counted on its own."""
    from safetensors import safe_open

    counts = {group: 0 for group, _ in _GROUPS}
    num_tensors = 0
    with safe_open(str(Path(checkpoint_dir) / WEIGHTS_NAME), framework="np") as fh:
        for key in fh.keys():
            shape = fh.get_slice(key).get_shape()
            num_tensors += 1
            for group, prefix in _GROUPS:
                if key.startswith(prefix):
                    counts[group] += math.prod(shape)
                    break
            else:
                raise ValueError(f"unexpected checkpoint key {key}")
    return {"params": counts, "total": sum(counts.values()), "num_tensors": num_tensors}


def add_arguments(parser) -> None:
    parser.add_argument("--output-dir", "--output_dir", required=True, help="folder to write the checkpoint into")
    parser.add_argument("--seed", type=int, default=0, help="weights seed (default 0, the embedded checkpoint)")
    parser.add_argument("--variant", choices=sorted(TINY_VARIANTS), default="default", help="named tiny configuration")
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty output folder")
    parser.add_argument(
        "--fit-audio", help="folder of clips with a transcripts.json (like testdata/audio), or that file: teach the "
        "decoder to transcribe them, as the embedded checkpoint is (default: random weights only)",
    )  # fmt: skip


def run(args) -> int:
    out = make_tiny(args.output_dir, seed=args.seed, variant=args.variant, overwrite=args.overwrite, fit_audio=args.fit_audio,
                    report=Progress().note)
    summary = tiny_checkpoint_summary(out)
    fitted = ", fitted to the clips" if args.fit_audio else ""
    print(f"wrote tiny VibeVoice-ASR checkpoint ({args.variant}, seed {args.seed}{fitted}, {summary['total']:,} parameters) to {out}")
    return 0
