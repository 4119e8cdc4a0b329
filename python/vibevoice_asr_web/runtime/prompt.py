"""The prompt, as `VibeVoiceAsrProcessor.apply_transcription_request` builds it, without transformers.

An artifact folder carries everything needed: the chat template (chat_template.jinja, else
tokenizer_config.json's "chat_template"), the placeholder tokens (processor_config.json) and
tokenizer.json. The template is rendered with jinja2 the way transformers renders it (sandboxed,
trim_blocks + lstrip_blocks, add_generation_prompt=True, which this template ignores), for one user
turn holding the audio and, with hotwords, a text part. Then, as the processor does, the duration
placeholder becomes f"{seconds:.2f}" and the single audio placeholder becomes one token per audio
frame, and the text is tokenized with `tokenizers` (no special tokens added):

    <|im_start|>system\\n...<|im_end|>\\n<|im_start|>user\\n<|object_ref_start|><|box_start|>xN<|object_ref_end|>
    \\nThis is a 2.50 seconds audio, [with extra info: HOTWORDS\\n\\nP|p]lease transcribe it ...<|im_end|>\\n
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.errors import UserError

# processor_config.json keys and the defaults of transformers' VibeVoiceAsrProcessor
PLACEHOLDER_DEFAULTS = {
    "audio_token": "<|box_start|>",
    "audio_bos_token": "<|object_ref_start|>",
    "audio_eos_token": "<|object_ref_end|>",
    "audio_duration_token": "<|AUDIO_DURATION|>",
}


def _compile(template: str):
    from jinja2 import TemplateError
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message):
        raise UserError(f"the chat template refused the conversation: {message}")

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    env.filters["tojson"] = lambda value, indent=None: json.dumps(value, ensure_ascii=False, indent=indent)
    try:
        return env.from_string(template)
    except TemplateError as error:
        raise UserError(f"the artifact's chat template is not valid Jinja ({error}): export the artifacts again") from None


@dataclass
class PromptBuilder:
    tokenizer: object  # tokenizers.Tokenizer
    template: object  # jinja2.Template
    special_tokens: dict[str, str]  # eos_token, pad_token, ... as template variables
    audio_token: str
    audio_bos_token: str
    audio_eos_token: str
    audio_duration_token: str

    @classmethod
    def from_folder(cls, folder: str | os.PathLike) -> "PromptBuilder":
        from tokenizers import Tokenizer

        folder = Path(folder)
        tokenizer_path = folder / "tokenizer.json"
        if not tokenizer_path.is_file():
            raise UserError(f"{tokenizer_path} is missing: pass an artifact folder made by `vibevoice-asr-web export`")
        try:
            tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as error:  # tokenizers raises a plain Exception
            raise UserError(f"{tokenizer_path} could not be loaded ({error}): download or export the artifacts again") from None
        tokenizer_config = contract.read_json_object(folder / "tokenizer_config.json")
        jinja = folder / "chat_template.jinja"
        template = jinja.read_text(encoding="utf-8") if jinja.is_file() else tokenizer_config.get("chat_template")
        if not isinstance(template, str):
            raise UserError(f"{folder} has no chat template (chat_template.jinja or tokenizer_config.json's chat_template)")
        placeholders = {**PLACEHOLDER_DEFAULTS, **{k: v for k, v in contract.read_json_object(folder / "processor_config.json").items() if k in PLACEHOLDER_DEFAULTS}}
        for key in ("audio_token", "audio_bos_token", "audio_eos_token"):
            if tokenizer.token_to_id(placeholders[key]) is None:
                raise UserError(f"{tokenizer_path} has no token {placeholders[key]!r} ({key}): the tokenizer does not belong to this model")
        special = {k: v for k, v in tokenizer_config.items() if k.endswith("_token") and isinstance(v, str)}
        return cls(tokenizer, _compile(template), special, **placeholders)

    def token_id(self, token: str) -> int:
        return self.tokenizer.token_to_id(token)

    def _check_hotwords(self, hotwords: str) -> None:
        special = [t.content for t in self.tokenizer.get_added_tokens_decoder().values() if t.special]
        found = [t for t in [*special, self.audio_duration_token] if t in hotwords]
        if found:
            raise UserError(
                f"--hotwords contains the control token(s) {', '.join(found)}, which would change the prompt's structure; "
                "remove them (hotwords are plain text: names, terms, context)"
            )

    def text(self, num_audio_tokens: int, duration_s: float, hotwords: str | None = None) -> str:
        """The prompt text with its audio placeholder run and duration filled in."""
        content = [{"type": "audio"}]
        if hotwords is not None:
            self._check_hotwords(hotwords)
            content.append({"type": "text", "text": hotwords})
        rendered = self.template.render(
            messages=[{"role": "user", "content": content}], tools=None, documents=None, add_generation_prompt=True, **self.special_tokens
        )
        if rendered.count(self.audio_token) != 1:
            raise UserError(f"the chat template rendered {rendered.count(self.audio_token)} audio placeholders for one audio; expected 1")
        rendered = rendered.replace(self.audio_duration_token, f"{duration_s:.2f}")
        return rendered.replace(self.audio_token, self.audio_token * num_audio_tokens)

    def ids(self, num_audio_tokens: int, duration_s: float, hotwords: str | None = None) -> list[int]:
        """The prompt's token ids, equal to the HF processor's input_ids."""
        return self.tokenizer.encode(self.text(num_audio_tokens, duration_s, hotwords), add_special_tokens=False).ids

    def decode(self, ids: list[int], skip_special_tokens: bool = True) -> str:
        return self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)
