"""The two checkpoint layouts export reads, told apart by config.json's model_type alone.

* transformers (microsoft/VibeVoice-ASR-HF, model_type `vibevoice_asr`): what transformers 5.23
  saves; its keys are the model's own names (`inventory.to_checkpoint_key`).
* original (microsoft/VibeVoice-ASR, model_type `vibevoice`, `VibeVoiceForASRTraining`): Microsoft's
  own code. Its keys map to the model's names through `ORIGINAL_KEYS`, and its config fields
  become `VibeVoiceAsrConfig`'s through `to_transformers_config`, so everything after the
  checkpoint reader sees one layout.

Both were checked against microsoft/VibeVoice @ e73d1e1 (vibevoice/modular/modeling_vibevoice_asr.py,
modeling_vibevoice.py's SpeechConnector, modular_vibevoice_tokenizer.py's TokenizerEncoder and Block1D,
configuration_vibevoice.py, configs/qwen2.5_7b_32k.json) and transformers' own
models/vibevoice_asr/convert_vibevoice_asr_to_hf.py @ 384503e.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.errors import UserError

TRANSFORMERS = "transformers"
ORIGINAL = "original"
LAYOUTS = (TRANSFORMERS, ORIGINAL)
MODEL_TYPES = {"vibevoice_asr": TRANSFORMERS, "vibevoice": ORIGINAL}

# Original key <-> the model's in-memory name; first match wins, in both directions. `{tower}` is
# acoustic or semantic, `{j}` a block's index, `{rest}` the dotted tail. `{stage+1}` is one more than
# `{stage}`: the original counts the stem as downsample layer 0 and its blocks as stage 0, so its
# layer and stage n are transformers' conv_layers.(n-1). Its convs are wrapped once more (SConv1d ->
# NormConv1d -> Conv1d: `.conv.conv`), the mixer twice more (Convlayer -> SConv1d -> ...).
ORIGINAL_KEYS: tuple[tuple[str, str], ...] = (
    ("lm_head.weight", "lm_head.weight"),
    ("model.language_model.{rest}", "model.language_model.{rest}"),
    ("model.{tower}_tokenizer.encoder.downsample_layers.0.0.conv.conv.{rest}", "model.{tower}_tokenizer_encoder.stem.conv.conv.{rest}"),
    ("model.{tower}_tokenizer.encoder.stages.0.{j}.mixer.conv.conv.conv.{rest}", "model.{tower}_tokenizer_encoder.stem.stage.{j}.mixer.conv.{rest}"),
    ("model.{tower}_tokenizer.encoder.stages.0.{j}.{rest}", "model.{tower}_tokenizer_encoder.stem.stage.{j}.{rest}"),
    ("model.{tower}_tokenizer.encoder.downsample_layers.{stage+1}.0.conv.conv.{rest}", "model.{tower}_tokenizer_encoder.conv_layers.{stage}.conv.conv.{rest}"),
    ("model.{tower}_tokenizer.encoder.stages.{stage+1}.{j}.mixer.conv.conv.conv.{rest}", "model.{tower}_tokenizer_encoder.conv_layers.{stage}.stage.{j}.mixer.conv.{rest}"),
    ("model.{tower}_tokenizer.encoder.stages.{stage+1}.{j}.{rest}", "model.{tower}_tokenizer_encoder.conv_layers.{stage}.stage.{j}.{rest}"),
    ("model.{tower}_tokenizer.encoder.head.conv.conv.{rest}", "model.{tower}_tokenizer_encoder.head.conv.{rest}"),
    ("model.{tower}_connector.fc1.{rest}", "model.multi_modal_projector.{tower}_linear_1.{rest}"),
    ("model.{tower}_connector.norm.{rest}", "model.multi_modal_projector.{tower}_norm.{rest}"),
    ("model.{tower}_connector.fc2.{rest}", "model.multi_modal_projector.{tower}_linear_2.{rest}"),
)
# Original keys the ASR export does not use: the acoustic VAE decoder, and the TTS parts a
# VibeVoice (speech generation) checkpoint of the same model_type would also hold.
ORIGINAL_UNUSED = ("model.acoustic_tokenizer.decoder.", "model.prediction_head.", "model.speech_scaling_factor", "model.speech_bias_factor")

_FIELDS = {"tower": r"(?P<tower>acoustic|semantic)", "j": r"(?P<j>\d+)",
           "stage": r"(?P<stage>\d+)", "stage+1": r"(?P<stage_plus_1>[1-9]\d*)", "rest": r"(?P<rest>.+)"}


def _regex(template: str) -> re.Pattern:
    parts = re.split(r"\{([^}]+)\}", template)
    return re.compile("".join(re.escape(p) if k % 2 == 0 else _FIELDS[p] for k, p in enumerate(parts)) + "$")


def _fill(template: str, fields: dict[str, str]) -> str:
    if "stage_plus_1" in fields:
        fields = {**fields, "stage": str(int(fields["stage_plus_1"]) - 1)}
    elif "stage" in fields:
        fields = {**fields, "stage+1": str(int(fields["stage"]) + 1)}
    return re.sub(r"\{([^}]+)\}", lambda m: fields[m.group(1)], template)


_RULES = tuple((_regex(original), original, _regex(name), name) for original, name in ORIGINAL_KEYS)


def name_of_original_key(key: str) -> str | None:
    """The model's name for an original checkpoint key, None for a key the export does not use."""
    if key.startswith(ORIGINAL_UNUSED):
        return None
    for pattern, _, _, name in _RULES:
        if match := pattern.match(key):
            return _fill(name, match.groupdict())
    raise UserError(
        f"the checkpoint holds {key}, which is no key of the original VibeVoice-ASR layout (microsoft/VibeVoice-ASR): "
        "expected model.language_model.*, lm_head.weight, model.{acoustic,semantic}_tokenizer.*, model.{acoustic,semantic}_connector.*"
    )


def original_key(name: str) -> str:
    """Where the original layout stores the model's tensor `name`."""
    for _, original, pattern, _ in _RULES:
        if match := pattern.match(name):
            return _fill(original, match.groupdict())
    raise ValueError(f"unexpected parameter name {name}")


def _layout_of_config(config: object, where: Path) -> str:
    """The layout a checkpoint's config.json describes, or one error naming both it could be."""
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type not in MODEL_TYPES:
        raise UserError(
            f"{where} has model_type {model_type!r}; expected 'vibevoice_asr' (the transformers layout, e.g. "
            "microsoft/VibeVoice-ASR-HF) or 'vibevoice' (the original layout, microsoft/VibeVoice-ASR)"
        )
    return MODEL_TYPES[model_type]


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path.parent} holds no {path.name}: expected a VibeVoice-ASR checkpoint folder") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise UserError(f"{path} is not valid JSON ({error}): download the checkpoint again") from None


def layout_of(folder: Path) -> str:
    """The layout of the checkpoint in `folder`, from its config.json."""
    return _layout_of_config(read_json(folder / "config.json"), folder / "config.json")


def read_config(folder: Path) -> dict:
    """The checkpoint's config in transformers' fields (`VibeVoiceAsrConfig`), whichever its layout."""
    config = read_json(folder / "config.json")
    if _layout_of_config(config, folder / "config.json") == ORIGINAL:
        config = to_transformers_config(config, _tokenizer_ids(folder))
    contract.ModelDims.from_config(config)  # fails early, with a clear message, on a malformed config
    return config


# The original code finds the speech placeholders by these token strings (modular_vibevoice_text_tokenizer.py);
# transformers keeps their ids in the config. Without a tokenizer, VibeVoiceAsrConfig's defaults (Qwen2.5's ids) hold.
SPEECH_TOKENS = {"audio_bos_token_id": "<|object_ref_start|>", "audio_eos_token_id": "<|object_ref_end|>", "audio_token_id": "<|box_start|>"}


def _tokenizer_ids(folder: Path) -> dict[str, int]:
    path = folder / "tokenizer.json"
    if not path.is_file():
        return {}
    tokenizer = read_json(path)
    ids = {t["content"]: t["id"] for t in tokenizer.get("added_tokens", [])} if isinstance(tokenizer, dict) else {}
    return {field: ids[token] for field, token in SPEECH_TOKENS.items() if token in ids}


# Encoder options the original config can set but transformers' encoder has fixed (to these, the
# values of the released model): a config that asks for another cannot be converted.
_FIXED_ENCODER_OPTIONS = {
    "causal": True, "conv_norm": "none", "pad_mode": "constant", "mixer_layer": "depthwise_conv", "layernorm": "RMSNorm",
    "layernorm_elementwise_affine": True, "disable_last_norm": True, "conv_bias": True,
}
# The acoustic latent's noise: the original draws one N(0, fix_std / 0.8) scale per item, transformers keeps vae_std.
_FIX_STD_TO_VAE_STD = 1 / 0.8


def _encoder_config(original: dict, tower: str) -> dict:
    for option, fixed in _FIXED_ENCODER_OPTIONS.items():
        if original.get(option, fixed) != fixed:
            raise UserError(
                f"config.json's {tower}_tokenizer_config has {option} {original[option]!r}; transformers' VibeVoice-ASR "
                f"encoder only has {fixed!r}, so this checkpoint cannot be converted"
            )
    depths = original.get("encoder_depths", "3-3-3-3-3-3-8")
    encoder = {
        "channels": original.get("channels", 1),
        "hidden_size": original["vae_dim"],
        "num_filters": original.get("encoder_n_filters", 32),
        "downsampling_ratios": list(reversed(original.get("encoder_ratios", [8, 5, 5, 4, 2, 2]))),  # applied last to first
        "depths": [int(d) for d in depths.split("-")] if isinstance(depths, str) else list(depths),
        "rms_norm_eps": original.get("layernorm_eps", 1e-5),
        "layer_scale_init_value": original.get("layer_scale_init_value", 1e-6),
        "initializer_range": original.get("weight_init_value", 0.01),
    }
    if tower == "acoustic":  # the semantic latent is used without noise
        encoder["vae_std"] = original.get("fix_std", 0.5) * _FIX_STD_TO_VAE_STD
    return encoder


def to_transformers_config(original: dict, token_ids: dict[str, int]) -> dict:
    """An original-layout config.json as the `VibeVoiceAsrConfig` config.json transformers would save.

    `token_ids`: the speech placeholder ids (`SPEECH_TOKENS` fields) found in the checkpoint's tokenizer.
    The original code encodes in 60 s segments, transformers' default `acoustic_tokenizer_chunk_size`."""
    from transformers import Qwen2Config, VibeVoiceAcousticTokenizerEncoderConfig, VibeVoiceAsrConfig

    try:
        acoustic, semantic = (VibeVoiceAcousticTokenizerEncoderConfig(**_encoder_config(original[f"{t}_tokenizer_config"], t))
                              for t in ("acoustic", "semantic"))
        decoder = {k: v for k, v in original["decoder_config"].items() if k != "transformers_version"}
        config = VibeVoiceAsrConfig(
            acoustic_tokenizer_encoder_config=acoustic, semantic_tokenizer_encoder_config=semantic,
            text_config=Qwen2Config(**decoder), **token_ids,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        what = f"missing key {error}" if isinstance(error, KeyError) else str(error)
        raise UserError(f"config.json is malformed for the original VibeVoice-ASR layout ({what}); download it again") from None
    config.architectures = ["VibeVoiceAsrForConditionalGeneration"]
    config.dtype = original.get("torch_dtype", original.get("dtype"))
    translated = config.to_diff_dict()
    translated.pop("transformers_version", None)
    return translated
