"""Greedy decoding with the KV cache: one prefill, then one token per decoder call."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from vibevoice_asr_web.runtime.sessions import OnnxAsrModel


# Prompt tokens per decoder call during prefill: bounds attention memory for long audio.
PREFILL_CHUNK_TOKENS = 512


@dataclass(frozen=True)
class RepetitionGuard:
    """Stops a decode that has started looping: the last `span` tokens are one n-gram repeated.

    An n-gram of length n (1 <= n <= max_ngram) repeated back to back until it covers at least
    `min_span` tokens (and at least `min_repeats` times) is the endless loop VibeVoice-ASR is known
    to fall into; real transcripts do not repeat that long.
    """

    max_ngram: int = 32
    min_span: int = 48
    min_repeats: int = 4

    def looping(self, tokens: list[int]) -> int | None:
        """The length of the repeating n-gram if `tokens` ends in a loop, else None."""
        for n in range(1, self.max_ngram + 1):
            repeats = max(self.min_repeats, -(-self.min_span // n))
            span = n * repeats
            if len(tokens) < span:
                continue
            tail = tokens[-span:]
            if all(tail[i] == tail[i % n] for i in range(n, span)):
                return n
        return None


@dataclass
class Generation:
    token_ids: list[int]
    stop_reason: str  # "eos", "max_new_tokens" or "repetition"
    first_logits: np.ndarray  # the first decode step's logits, [vocab] float32
    prefill_seconds: float
    decode_seconds: float
    repeated_ngram: int | None = None  # the looping n-gram's length when stop_reason is "repetition"

    @property
    def tokens_per_second(self) -> float:
        steps = max(len(self.token_ids) - 1, 0)
        return steps / self.decode_seconds if self.decode_seconds > 0 else 0.0


def greedy(
    model: OnnxAsrModel,
    prompt_embeds: np.ndarray,
    eos_token_ids: tuple[int, ...],
    max_new_tokens: int,
    on_token: Callable[[int, int], None] | None = None,
    guard: RepetitionGuard | None = RepetitionGuard(),
    prefill_chunk_tokens: int = PREFILL_CHUNK_TOKENS,
) -> Generation:
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    started = time.perf_counter()
    if prefill_chunk_tokens < 1:
        raise ValueError(f"the prefill chunk must hold at least one token, got {prefill_chunk_tokens}")
    # The prompt in decoder calls of at most prefill_chunk_tokens tokens: memory per call grows with
    # the chunk, not with the prompt (an hour of audio is 27,000 tokens).
    state = model.empty_state()
    for start in range(0, prompt_embeds.shape[1], prefill_chunk_tokens):
        logits, state = model.decode(prompt_embeds[:, start : start + prefill_chunk_tokens], state)
    prefill_seconds = time.perf_counter() - started
    first_logits = logits[0, -1].astype(np.float32)
    tokens: list[int] = []
    stop_reason = "max_new_tokens"
    repeated = None
    decode_started = time.perf_counter()
    while True:
        token = int(np.argmax(logits[0, -1]))
        tokens.append(token)
        if on_token:
            on_token(token, len(tokens))
        if token in eos_token_ids:
            stop_reason = "eos"
            break
        if len(tokens) >= max_new_tokens:
            break
        if guard is not None and (repeated := guard.looping(tokens)) is not None:
            stop_reason = "repetition"
            break
        logits, state = model.decode(model.embed(np.array([[token]], np.int64)), state)
    return Generation(tokens, stop_reason, first_logits, prefill_seconds, time.perf_counter() - decode_started, repeated)
