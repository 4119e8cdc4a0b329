"""Audio -> transcript with onnxruntime alone: the reference pipeline the browser must match.

    transcriber = Transcriber("artifacts/fp32", dtype="fp32")
    result = transcriber.transcribe(transcriber.prepare("speech.wav"), hotwords="VibeVoice")
    result.transcript.segments, result.generation.token_ids, result.as_dict()

Steps: the clip, prepared as the folder's preprocessor_config.json says (24 kHz, -25 dBFS), is encoded in chunks with carried conv caches, the prompt is built
as the HF processor builds it, the audio frames replace its placeholder tokens, and greedy decoding
with the KV cache runs until an EOS id of generation_config.json, max_new_tokens, or an endless
repetition. Imports numpy, onnxruntime, tokenizers and jinja2 only (never torch or transformers).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.audio import FrontEnd, PreparedAudio, prepare
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.runtime import segments
from vibevoice_asr_web.runtime.generate import PREFILL_CHUNK_TOKENS, Generation, RepetitionGuard, greedy
from vibevoice_asr_web.runtime.prompt import PromptBuilder
from vibevoice_asr_web.runtime.sessions import OnnxAsrModel, providers_for


DEFAULT_MAX_NEW_TOKENS = contract.DEFAULT_MAX_NEW_TOKENS  # the browser's too (web/src/vibevoice/text/settings.ts)


@dataclass(frozen=True)
class GenerationSettings:
    eos_token_ids: tuple[int, ...]
    max_new_tokens: int

    @classmethod
    def from_folder(cls, folder: Path, fallback_eos: tuple[int, ...]) -> "GenerationSettings":
        """generation_config.json's eos_token_id (an id or a list) and max_new_tokens."""
        path = folder / contract.GENERATION_CONFIG
        config = contract.read_json_object(path)
        eos = config.get("eos_token_id")
        eos_ids = contract.eos_token_ids(eos if isinstance(eos, (list, int)) else None, fallback_eos)
        if not eos_ids:
            raise UserError(f"neither {path} nor config.json names an eos_token_id: export the artifacts again")
        limit = config.get("max_new_tokens")
        limit = DEFAULT_MAX_NEW_TOKENS if limit is None else limit
        if not all(isinstance(i, int) and i >= 0 for i in eos_ids) or not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise UserError(
                f"{path} is malformed: expected integer token ids in eos_token_id and a positive max_new_tokens, found "
                f"{eos!r} and {limit!r}; download or export the artifacts again"
            )
        return cls(eos_ids, limit)


@dataclass
class Transcription:
    name: str
    audio: PreparedAudio
    hotwords: str | None
    prompt_ids: list[int]
    generation: Generation
    answer: str  # the decoded generated text, special tokens skipped
    transcript: segments.Transcript
    encode_seconds: float
    load_seconds: float

    @property
    def timings(self) -> dict:
        work = self.encode_seconds + self.generation.prefill_seconds + self.generation.decode_seconds
        return {
            "load_s": round(self.load_seconds, 4),
            "encode_s": round(self.encode_seconds, 4),
            "prefill_s": round(self.generation.prefill_seconds, 4),
            "decode_s": round(self.generation.decode_seconds, 4),
            "decode_tokens_per_s": round(self.generation.tokens_per_second, 2),
            "real_time_factor": round(work / self.audio.duration, 4),
        }

    def as_dict(self) -> dict:
        g = self.generation
        return {
            "audio": {
                "path": self.name,
                "duration_s": round(self.audio.duration, 6),
                "num_samples": self.audio.num_samples,
                "num_audio_tokens": self.audio.num_audio_tokens,
                "source_sample_rate": self.audio.source_sample_rate,
            },
            "hotwords": self.hotwords,
            "text": self.transcript.text,
            "segments": self.transcript.segments_as_dicts(),
            "parsed": self.transcript.parsed,
            "truncated": self.transcript.truncated,
            "raw_text": self.answer,
            "prompt_ids": self.prompt_ids,
            "generated_ids": g.token_ids,
            "stop_reason": g.stop_reason,
            "repeated_ngram": g.repeated_ngram,
            "timings": self.timings,
        }


class Transcriber:
    def __init__(
        self, onnx_dir: str | os.PathLike, dtype: str = "fp32", device: str = "cpu", progress: Progress | None = None,
        verify: bool = True,
    ):
        started = time.perf_counter()
        self.folder = Path(onnx_dir)
        if not self.folder.is_dir():
            raise UserError(f"--onnx-dir {self.folder} is not a folder: pass an artifact folder made by `vibevoice-asr-web export`")
        self.progress = progress or Progress(quiet=True)
        self.device = device
        self.model = OnnxAsrModel(self.folder, dtype, providers=providers_for(device), verify=verify, progress=self.progress)
        self.prompt = PromptBuilder.from_folder(self.folder)
        self.settings = GenerationSettings.from_folder(self.folder, self.model.dims.eos_token_ids)
        self.front = FrontEnd.from_folder(self.folder)
        if self.front.hop_length != self.model.dims.hop_length:
            raise UserError(
                f"{self.folder / FrontEnd.FILE} pads to {self.front.hop_length} samples, but the encoders' hop is "
                f"{self.model.dims.hop_length} (config.json): the files come from different models; export the artifacts again"
            )
        audio_token = self.prompt.token_id(self.prompt.audio_token)
        if audio_token != self.model.dims.audio_token_id:
            raise UserError(
                f"tokenizer.json gives {self.prompt.audio_token} id {audio_token} but config.json's audio_token_id is "
                f"{self.model.dims.audio_token_id}: the files come from different models; export the artifacts again"
            )
        self.load_seconds = time.perf_counter() - started

    @property
    def dtype(self) -> str:
        return self.model.dtype

    def prepare(self, audio_file, sample_rate: int | None = None) -> PreparedAudio:
        """A file, or an array with its rate, ready for this model (its folder's front-end settings)."""
        return prepare(audio_file, sample_rate, self.front)

    def prompt_ids(self, audio: PreparedAudio, name: str = "audio", hotwords: str | None = None) -> list[int]:
        """The prompt, refused before any work when it leaves no room in the decoder's context to answer."""
        ids = self.prompt.ids(audio.num_audio_tokens, audio.duration, hotwords)
        limit = self.model.dims.max_positions
        if len(ids) >= limit:
            seconds_per_token = audio.duration / max(audio.num_audio_tokens, 1)
            fits = max(limit - (len(ids) - audio.num_audio_tokens) - 1, 0) * seconds_per_token
            raise UserError(
                f"{name}: the prompt is {len(ids):,} tokens, but this model's context holds {limit:,} (prompt and answer "
                f"together), about {fits / 60:.1f} minutes of audio: split the audio into shorter parts"
                + (" or shorten --hotwords" if hotwords else "")
            )
        return ids

    def transcribe(
        self,
        audio: PreparedAudio,
        name: str = "audio",
        hotwords: str | None = None,
        max_new_tokens: int | None = None,
        guard: RepetitionGuard | None = RepetitionGuard(),
        prefill_chunk_tokens: int = PREFILL_CHUNK_TOKENS,
    ) -> Transcription:
        prompt_ids = self.prompt_ids(audio, name, hotwords)
        started = time.perf_counter()
        features = self.model.encode_audio(
            audio.samples, on_chunk=lambda done, total: self.progress.status(f"{name}: encoding audio, chunk {done}/{total}")
        )
        encode_seconds = time.perf_counter() - started
        embeds = self.model.prompt_embeddings(prompt_ids, features)
        self.progress.status(f"{name}: prefill of {len(prompt_ids)} prompt tokens")
        clock = {"start": 0.0, "shown": 0.0}

        def on_token(token: int, count: int) -> None:
            now = time.perf_counter()
            if count == 1:
                clock["start"] = now
                self.progress.status(f"{name}: generating")
            elif now - clock["shown"] >= 0.1:  # a few updates a second are enough for a terminal
                clock["shown"] = now
                self.progress.status(f"{name}: {count} tokens generated, {(count - 1) / max(now - clock['start'], 1e-9):.1f} tokens/s")

        generation = greedy(
            self.model, embeds, self.settings.eos_token_ids, max_new_tokens or self.settings.max_new_tokens,
            on_token=on_token, guard=guard, prefill_chunk_tokens=prefill_chunk_tokens,
        )
        self.progress.done()
        answer = self.prompt.decode(generation.token_ids)
        return Transcription(
            name, audio, hotwords, prompt_ids, generation, answer, segments.parse(answer), encode_seconds, self.load_seconds
        )
