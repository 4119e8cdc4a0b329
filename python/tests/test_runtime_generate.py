"""Greedy decoding (one prefill, then one token per decoder call) and the repetition guard."""

import numpy as np
import pytest

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.runtime.generate import RepetitionGuard, greedy
from vibevoice_asr_web.runtime.sessions import providers_for

VOCAB = 16


class ScriptedModel:
    """Stands in for OnnxAsrModel: its decoder 'predicts' the next token of a script."""

    def __init__(self, script):
        self.script = list(script)
        self.calls = []  # new tokens per decoder call

    def empty_state(self):
        return 0

    def embed(self, ids):
        return np.zeros((1, ids.shape[1], 4), np.float32)

    def decode(self, embeds, state):
        self.calls.append(embeds.shape[1])
        logits = np.zeros((1, 1, VOCAB), np.float32)
        logits[0, 0, self.script[len(self.calls) - 1]] = 1.0
        return logits, state + embeds.shape[1]


def test_stops_on_any_eos_id_with_one_prefill_then_one_token_per_step():
    model = ScriptedModel([3, 4, 5, 9, 7])
    seen = []
    result = greedy(model, np.zeros((1, 11, 4), np.float32), (7, 9), 100, on_token=lambda t, n: seen.append((t, n)))
    assert result.token_ids == [3, 4, 5, 9] and result.stop_reason == "eos"
    assert model.calls == [11, 1, 1, 1]
    assert seen == [(3, 1), (4, 2), (5, 3), (9, 4)]
    assert int(np.argmax(result.first_logits)) == 3


def test_stops_at_max_new_tokens():
    model = ScriptedModel(range(1, VOCAB))
    result = greedy(model, np.zeros((1, 2, 4), np.float32), (0,), 5)
    assert result.token_ids == [1, 2, 3, 4, 5] and result.stop_reason == "max_new_tokens"
    assert model.calls == [2, 1, 1, 1, 1]
    with pytest.raises(ValueError):
        greedy(model, np.zeros((1, 2, 4), np.float32), (0,), 0)


def test_stops_an_endless_repetition():
    model = ScriptedModel([1, 2] + [5, 6, 7] * 40)
    result = greedy(model, np.zeros((1, 2, 4), np.float32), (0,), 1000)
    assert result.stop_reason == "repetition" and result.repeated_ngram == 3
    assert len(result.token_ids) == 2 + 48
    unguarded = greedy(ScriptedModel([1, 2] + [5, 6, 7] * 40), np.zeros((1, 2, 4), np.float32), (0,), 60, guard=None)
    assert unguarded.stop_reason == "max_new_tokens" and len(unguarded.token_ids) == 60


def test_guard_ignores_ordinary_text():
    guard = RepetitionGuard()
    rng = np.random.default_rng(0)
    assert guard.looping(rng.integers(0, 1000, 500).tolist()) is None
    assert guard.looping([4] * 47) is None and guard.looping([4] * 48) == 1
    assert guard.looping([1, 2, 3, 4, 5] * 3) is None  # short repeats (e.g. "1, 2, 3") are fine


def test_unknown_device_is_refused():
    with pytest.raises(UserError, match="unknown device"):
        providers_for("tpu")
    assert providers_for("cpu") == ["CPUExecutionProvider"]


def test_chunked_prefill_gives_the_same_tokens_as_one_call(fp32_artifacts, test_audio_dir):
    """Long audio is prefilled a chunk at a time; the result must not depend on the chunk size."""
    from vibevoice_asr_web import audio
    from vibevoice_asr_web.runtime.pipeline import Transcriber

    transcriber = Transcriber(fp32_artifacts)
    clip = audio.prepare(test_audio_dir / "long_story.wav")  # ~150 prompt tokens
    results = [transcriber.transcribe(clip, max_new_tokens=24, guard=None, prefill_chunk_tokens=n) for n in (100_000, 64, 7)]
    ids = [r.generation.token_ids for r in results]
    assert ids[0] == ids[1] == ids[2]
    np.testing.assert_allclose(results[0].generation.first_logits, results[2].generation.first_logits, atol=1e-4)


def test_prefill_runs_in_chunks_of_the_given_size():
    model = ScriptedModel([3, 3, 3, 7])
    result = greedy(model, np.zeros((1, 11, 4), np.float32), (7,), 100, prefill_chunk_tokens=4)
    assert model.calls[:3] == [4, 4, 3]
    assert result.token_ids == [3, 7]  # the first token comes from the last chunk's logits
