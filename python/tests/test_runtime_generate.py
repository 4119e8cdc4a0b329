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
