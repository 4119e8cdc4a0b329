"""End to end on the tiny checkpoint: our front end + prompt + onnxruntime fp32 greedy decoding give
the same token ids as transformers' processor + PyTorch `generate` on the same 24 kHz samples."""

import pytest

from vibevoice_asr_web import audio
from vibevoice_asr_web.runtime.pipeline import Transcriber

MAX_NEW_TOKENS = 40
AUDIO = ("hello.wav", "numbers.flac", "weather.ogg", "long_story.wav", "short.mp3", "thanks.opus")
HOTWORDS = (None, "Names: Zoë, Łukasz\nTopic: weather")


@pytest.fixture(scope="module")
def torch_model(tiny_checkpoint):
    from transformers import VibeVoiceAsrProcessor

    from vibevoice_asr_web.checkpoint_model import load_model

    return load_model(tiny_checkpoint), VibeVoiceAsrProcessor.from_pretrained(tiny_checkpoint)


@pytest.fixture(scope="module")
def transcriber(fp32_artifacts):
    return Transcriber(fp32_artifacts, "fp32")


@pytest.mark.parametrize("hotwords", HOTWORDS, ids=["plain", "hotwords"])
@pytest.mark.parametrize("name", AUDIO)
def test_onnxruntime_tokens_equal_pytorch_generate(torch_model, transcriber, test_audio_dir, name, hotwords):
    import torch

    model, processor = torch_model
    path = test_audio_dir / name
    inputs = processor.apply_transcription_request(audio=audio.load_audio_24k(path), prompt=hotwords)
    with torch.no_grad():
        generated = model.generate(
            **inputs, sample=False, do_sample=False, max_new_tokens=MAX_NEW_TOKENS,
            eos_token_id=list(transcriber.settings.eos_token_ids),
        )  # fmt: skip
    want_prompt = inputs["input_ids"][0].tolist()
    want = generated[0, len(want_prompt) :].tolist()

    # the repetition guard is off: HF generate has none, and the tiny model loops on some of these files
    result = transcriber.transcribe(audio.prepare(path), name=name, hotwords=hotwords, max_new_tokens=MAX_NEW_TOKENS, guard=None)
    assert result.prompt_ids == want_prompt
    assert result.generation.token_ids == want
