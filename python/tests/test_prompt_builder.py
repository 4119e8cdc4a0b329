"""The prompt built from the artifact folder (jinja2 + tokenizers) equals transformers' processor's."""

import json
import shutil

import numpy as np
import pytest

from vibevoice_asr_web.fixtures import tokenizer_builder
from vibevoice_asr_web.audio import num_audio_tokens
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.runtime.prompt import PromptBuilder

DURATIONS = (0.13, 1.0, 2.5, 14.6, 1 / 24000, 3200 / 24000, 3201 / 24000)
HOTWORDS = (None, "", "VibeVoice, Qwen", "Zürich, Kraków, 東京\nsecond line\n\nthird  line ", "  leading and trailing  \t")


@pytest.fixture(scope="module")
def processor(fp32_artifacts):
    from transformers import VibeVoiceAsrProcessor

    return VibeVoiceAsrProcessor.from_pretrained(fp32_artifacts)


@pytest.fixture(scope="module")
def builder(fp32_artifacts):
    return PromptBuilder.from_folder(fp32_artifacts)


@pytest.mark.parametrize("hotwords", HOTWORDS)
@pytest.mark.parametrize("seconds", DURATIONS)
def test_prompt_ids_equal_the_hf_processor(processor, builder, seconds, hotwords):
    samples = np.full(round(seconds * 24000), 0.01, np.float32)
    want = processor.apply_transcription_request(audio=samples, prompt=hotwords)["input_ids"][0].tolist()
    got = builder.ids(num_audio_tokens(len(samples)), len(samples) / 24000, hotwords)
    assert got == want


def test_prompt_text_is_the_documented_prompt(builder):
    for hotwords in (None, "names: Ada"):
        assert builder.text(7, 2.0, hotwords) == tokenizer_builder.expected_prompt(7, 2.0, hotwords)
    assert builder.text(3, 0.999) == tokenizer_builder.expected_prompt(3, 1.0)  # "1.00": two decimals, rounded


def test_decode_skips_special_tokens(builder):
    ids = builder.tokenizer.encode("<|im_start|>assistant\nHello<|im_end|>", add_special_tokens=False).ids
    assert builder.decode(ids) == "assistant\nHello"
    assert builder.decode(ids, skip_special_tokens=False) == "<|im_start|>assistant\nHello<|im_end|>"


@pytest.mark.parametrize("bad", ["<|im_end|>", "x <|box_start|> y", "<|AUDIO_DURATION|>"])
def test_hotwords_with_control_tokens_are_refused(builder, bad):
    with pytest.raises(UserError, match="control token"):
        builder.ids(3, 1.0, bad)


def test_template_from_tokenizer_config_when_no_jinja_file(fp32_artifacts, tmp_path, builder):
    folder = tmp_path / "a"
    folder.mkdir()
    for name in ("tokenizer.json", "tokenizer_config.json", "processor_config.json"):
        shutil.copy(fp32_artifacts / name, folder / name)
    assert PromptBuilder.from_folder(folder).ids(5, 1.5, "x") == builder.ids(5, 1.5, "x")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    del config["chat_template"]
    (folder / "tokenizer_config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="no chat template"):
        PromptBuilder.from_folder(folder)
    (folder / "tokenizer.json").unlink()
    with pytest.raises(UserError, match="tokenizer.json is missing"):
        PromptBuilder.from_folder(folder)
