"""Teach a tiny checkpoint's decoder to transcribe a few clips, so its answers are as decisive as a real model's.

Random weights give near-tie logits (median gap between the two best tokens about 0.4 against an int4 error of
about 0.3), so no 4-bit scheme keeps their greedy path, and their answers are never JSON. A few seconds of
full-batch Adam on (clip, transcript) pairs (decoder and lm_head only: the audio encoders and the projector keep
their random weights) make the tiny model answer each clip in VibeVoice-ASR's own format::

    [{"Start":0.0,"End":1.26,"Speaker":0,"Content":"Hello world."}]<|im_end|>\\n<|endoftext|>

and teach it one failure the real model shows on music: on a steady hum (``hum``) it repeats a word endlessly, so
the repetition guard has a real loop to stop.

Deterministic: no dropout, no sampling, one thread; the same bytes on the same machine and torch build.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import audio
from .contract import SAMPLE_RATE
from .errors import UserError

TRANSCRIPTS_FILE = "transcripts.json"  # {"clip file name": "spoken text", ...} next to the clips
END_OF_ANSWER = "<|im_end|>\n<|endoftext|>"  # what the chat template puts after an assistant turn
STEPS = 200
LEARNING_RATE = 3e-3
LABEL_SMOOTHING = 0.1  # bounds the logits at a trained model's scale (best ~9, next ~2.5) instead of letting them grow

HUM_SECONDS = 2.0
HUM_WORD = " la"
HUM_REPEATS = 96  # long enough that the guard (48 tokens of one n-gram) fires inside the learned loop


@dataclass(frozen=True)
class FitClip:
    name: str
    samples: np.ndarray  # mono float32 at 24 kHz, as `audio.load_audio_24k` returns it
    answer: str  # the generated text to learn, end-of-turn tokens included


def transcript_answer(text: str, duration_s: float, speaker: int = 0) -> str:
    """One segment covering the clip, as VibeVoice-ASR writes it (compact JSON, times rounded to 10 ms)."""
    segment = {"Start": 0.0, "End": round(duration_s, 2), "Speaker": speaker, "Content": text}
    return json.dumps([segment], ensure_ascii=False, separators=(",", ":")) + END_OF_ANSWER


def hum(seconds: float = HUM_SECONDS) -> np.ndarray:
    """A steady 24 kHz hum (220 Hz with two overtones): the clip the fitted model loops on."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    wave = sum(0.3 / k * np.sin(2 * np.pi * 220.0 * k * t) for k in (1, 2, 3))
    return wave.astype(np.float32)


def hum_clip() -> FitClip:
    opening = json.dumps([{"Start": 0.0, "End": HUM_SECONDS, "Speaker": 0, "Content": ""}], separators=(",", ":"))
    unfinished = opening[: opening.rindex('"')]  # the Content string stays open: the loop never ends
    return FitClip("hum", hum(), unfinished + HUM_WORD * HUM_REPEATS)


def clips_from_folder(folder: str | os.PathLike) -> list[FitClip]:
    """The clips named in a transcripts.json (given, or in the given folder), each answered with its transcript."""
    index = Path(folder)
    if index.is_dir():
        index = index / TRANSCRIPTS_FILE
    if not index.is_file():
        raise UserError(f"{index} not found: --fit-audio expects a folder of clips with a {TRANSCRIPTS_FILE} "
                        f"mapping each file name to its text (like testdata/audio), or that file")  # fmt: skip
    try:
        texts = json.loads(index.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise UserError(f"{index}: expected a JSON object of file name -> text ({error})") from None
    if not isinstance(texts, dict) or not texts or not all(isinstance(t, str) and t for t in texts.values()):
        raise UserError(f"{index}: expected a non-empty JSON object of file name -> text")
    clips = []
    for name, text in sorted(texts.items()):
        samples = audio.load_audio_24k(index.parent / name)
        clips.append(FitClip(name, samples, transcript_answer(text, audio.duration_seconds(len(samples)))))
    return clips


def fit(model, processor, clips: list[FitClip], steps: int = STEPS, report: Callable[[str], None] = print) -> float:
    """Trains `model`'s decoder and lm_head in place to answer each clip; returns the last mean loss per token."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one reduction order for every op, encoders included: the same weights on every run
    try:
        return _train(model, processor, clips, steps, report)
    finally:
        torch.set_num_threads(threads)


def _train(model, processor, clips: list[FitClip], steps: int, report: Callable[[str], None]) -> float:
    import torch

    lm = model.model.language_model
    examples = []
    for clip in clips:
        inputs = processor.apply_transcription_request(audio=clip.samples)
        prompt = inputs["input_ids"][0]
        answer = processor.tokenizer.encode(clip.answer, add_special_tokens=False)
        with torch.no_grad():
            features = model.get_audio_features(
                input_values=inputs["input_values"], padding_mask=inputs.get("padding_mask"), sample=False
            ).pooler_output
        ids = torch.cat([prompt, torch.tensor(answer, dtype=prompt.dtype)])
        audio_slots = (ids == model.config.audio_token_id)[None, :, None]
        examples.append((ids, audio_slots, features, len(prompt)))

    optimizer = torch.optim.Adam([*lm.parameters(), *model.lm_head.parameters()], lr=LEARNING_RATE)
    loss_per_token = math.inf
    for step in range(1, steps + 1):
        optimizer.zero_grad()
        total = 0.0
        for ids, audio_slots, features, prompt_len in examples:
            embeds = lm.get_input_embeddings()(ids[None]).masked_scatter(audio_slots, features)
            hidden = lm(inputs_embeds=embeds).last_hidden_state[0, prompt_len - 1 : -1]
            logits = model.lm_head(hidden)
            loss = torch.nn.functional.cross_entropy(logits, ids[prompt_len:], label_smoothing=LABEL_SMOOTHING)
            loss.backward()
            total += loss.item()
        optimizer.step()
        loss_per_token = total / len(examples)
        if step % 50 == 0 or step == steps:
            report(f"fitting the decoder to {len(examples)} clips: step {step}/{steps}, loss {loss_per_token:.4f}")
    model.zero_grad(set_to_none=True)
    return loss_per_token
