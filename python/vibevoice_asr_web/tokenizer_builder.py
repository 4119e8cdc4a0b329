"""A small, deterministic Qwen2-style byte-level BPE tokenizer for tiny test checkpoints.

The real VibeVoice-ASR uses the Qwen2.5 tokenizer (151,643 BPE tokens followed by 22 added tokens,
``<|endoftext|>`` = 151643 ... ``<|file_sep|>`` = 151664). This module builds a tokenizer with the
same pipeline (NFC normaliser, the Qwen2 split regex, byte-level pre-tokeniser and decoder) and the
same added tokens in the same order, but with a BPE vocabulary of a few hundred tokens trained on a
built-in English corpus. Its special ids therefore sit at ``len(bpe_vocab) + k`` instead of
``151643 + k``; every consumer must read them from the files, never hard-code them.

Only the ``tokenizers`` package is needed here (no torch, no transformers).
"""

from __future__ import annotations

import json

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

# Qwen2's pre-tokenisation regex (the same expression as the Qwen2 tokenizer.json / transformers' Qwen2Tokenizer).
QWEN2_SPLIT_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)

# The Qwen2.5 added tokens, in id order, with their `special` flag. The ASR model uses:
#   <|endoftext|> EOS, <|im_start|>/<|im_end|> chat turns, <|object_ref_start|> audio BOS,
#   <|object_ref_end|> audio EOS, <|box_start|> audio placeholder (one per frame), <|image_pad|> pad.
QWEN2_ADDED_TOKENS: tuple[tuple[str, bool], ...] = (
    ("<|endoftext|>", True),
    ("<|im_start|>", True),
    ("<|im_end|>", True),
    ("<|object_ref_start|>", True),
    ("<|object_ref_end|>", True),
    ("<|box_start|>", True),
    ("<|box_end|>", True),
    ("<|quad_start|>", True),
    ("<|quad_end|>", True),
    ("<|vision_start|>", True),
    ("<|vision_end|>", True),
    ("<|vision_pad|>", True),
    ("<|image_pad|>", True),
    ("<|video_pad|>", True),
    ("<tool_call>", False),
    ("</tool_call>", False),
    ("<|fim_prefix|>", False),
    ("<|fim_middle|>", False),
    ("<|fim_suffix|>", False),
    ("<|fim_pad|>", False),
    ("<|repo_name|>", False),
    ("<|file_sep|>", False),
)

EOS_TOKEN = "<|endoftext|>"
PAD_TOKEN = "<|image_pad|>"  # generation_config pad (the real checkpoint uses <|image_pad|> = 151655)
TOKENIZER_PAD_TOKEN = "<|endoftext|>"  # tokenizer_config pad, as in Qwen2.5
IM_START_TOKEN = "<|im_start|>"
IM_END_TOKEN = "<|im_end|>"
AUDIO_TOKEN = "<|box_start|>"
AUDIO_BOS_TOKEN = "<|object_ref_start|>"
AUDIO_EOS_TOKEN = "<|object_ref_end|>"
# Replaced by the processor with f"{seconds:.2f}" before tokenisation; it is not a vocabulary entry
# (the real Qwen2.5 vocabulary has no such token either).
AUDIO_DURATION_PLACEHOLDER = "<|AUDIO_DURATION|>"

SYSTEM_PROMPT = "You are a helpful assistant that transcribes audio input into text output in JSON format."
TRANSCRIBE_KEYS = "Start time, End time, Speaker ID, Content"

# Chat template for VibeVoiceAsrProcessor (written for this project). For a conversation with one user turn
# holding one audio item and an optional text item (what `apply_transcription_request` builds) it renders:
#
#   <|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n
#   <|im_start|>user\n<|object_ref_start|><|box_start|><|object_ref_end|>\n
#   This is a <|AUDIO_DURATION|> seconds audio, please transcribe it with these keys: {TRANSCRIBE_KEYS}<|im_end|>\n
#
# or, with context text, "..., with extra info: {context}\n\nPlease transcribe it with these keys: ...".
# The processor then expands <|box_start|> to one token per 3200 samples and substitutes the duration.
# Like the real model's template it never emits an "<|im_start|>assistant\n" header: the model
# generates that itself, so `add_generation_prompt` is ignored. `system_prompt` can be overridden as a
# template variable.
CHAT_TEMPLATE = (
    "{%- set sys_text = system_prompt if system_prompt is defined else '" + SYSTEM_PROMPT + "' -%}\n"
    "{{- '<|im_start|>system\\n' + sys_text + '<|im_end|>\\n' -}}\n"
    "{%- for message in messages if message['role'] == 'user' -%}\n"
    "{%- set ns = namespace(context='') -%}\n"
    "{%- for part in message['content'] if part['type'] == 'text' -%}\n"
    "{%- if loop.first -%}{%- set ns.context = part['text'] -%}{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{{- '<|im_start|>user\\n' -}}\n"
    "{%- for part in message['content'] if part['type'] == 'audio' -%}\n"
    "{{- '<|object_ref_start|><|box_start|><|object_ref_end|>\\nThis is a <|AUDIO_DURATION|> seconds audio, ' -}}\n"
    "{%- if ns.context -%}\n"
    "{{- 'with extra info: ' + ns.context + '\\n\\nPlease transcribe it with these keys: " + TRANSCRIBE_KEYS + "' -}}\n"
    "{%- else -%}\n"
    "{{- 'please transcribe it with these keys: " + TRANSCRIBE_KEYS + "' -}}\n"
    "{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endfor -%}\n"
)

# Built-in training corpus: English prose, the prompt wording, digits and the JSON transcript format.
_CORPUS_PARAGRAPHS: tuple[str, ...] = (
    SYSTEM_PROMPT,
    f"This is a 2.50 seconds audio, please transcribe it with these keys: {TRANSCRIBE_KEYS}",
    f"This is a 15.43 seconds audio, with extra info: About VibeVoice\n\nPlease transcribe it with these keys: "
    f"{TRANSCRIBE_KEYS}",
    "The quick brown fox jumps over the lazy dog. A small model can still speak in many voices, and the "
    "browser runs it on the graphics card of an ordinary laptop.",
    "Good morning everyone, and welcome to the weekly meeting. Today we will talk about the new release, "
    "the test results and the plan for the next three months.",
    "Speech recognition turns spoken words into written text. The encoder listens to the waveform, the "
    "decoder writes the transcript, and the speaker labels tell us who said what and when.",
    "She said that the train leaves at seven forty five in the evening, so we should be at the station "
    "before seven thirty. He answered that he would bring the tickets and some water.",
    "Numbers and times: 0 1 2 3 4 5 6 7 8 9 10 11 12 20 25 30 42 60 99 100 128 256 1024 2048 3200 "
    "24000 0.0 0.5 1.5 2.25 3.75 7.56 12.80 59.99 3600.00",
    '[{"Start":0.0,"End":1.5,"Speaker":0,"Content":"Hello, how are you today?"}]',
    '[{"Start":0,"End":5.2,"Speaker":0,"Content":"Thank you for calling."},'
    '{"Start":5.2,"End":9.87,"Speaker":1,"Content":"I would like to ask about my order."}]',
    '[{"Start":10.04,"End":14.6,"Speaker":2,"Content":"Yes, of course. What is the number?"},'
    '{"Start":14.6,"End":20.31,"Speaker":1,"Content":"It is four, eight, one, five, six."}]',
    '{"Start time": 3.25, "End time": 6.5, "Speaker ID": 1, "Content": "We are almost there."}',
    "Please write the answer in JSON format with the keys Start, End, Speaker and Content. Each segment "
    "starts when the speaker begins to talk and ends when they stop.",
    "It was a bright cold day in April, and the clocks were striking thirteen. The people in the city "
    "walked quickly through the wind, holding their coats and their hats.",
    "Can you hear me now? I think the microphone is working, but there is some noise in the background. "
    "Let me move closer to the window and try again.",
    "Weather report: light rain in the morning, sunny in the afternoon, with a high of 21 degrees and "
    "a low of 12 degrees. Wind from the west at 15 kilometres per hour.",
    "Hello world! Yes, no, maybe. Don't worry, it's fine; we'll see, they're here, I'm ready, you've won.",
    "The system message comes first, then the user turn with the audio, and then the assistant answers. "
    "The user asks, the assistant writes, and the system sets the rules for both of them.",
)

CORPUS: str = "\n".join(_CORPUS_PARAGRAPHS) + "\n"


def _corpus_lines() -> list[str]:
    # Repeat the corpus so every pair that appears once still reaches the trainer's min_frequency.
    return list(_CORPUS_PARAGRAPHS) * 2


def build_tokenizer(bpe_vocab_size: int = 600, first_added_id: int | None = None) -> Tokenizer:
    """Train the byte-level BPE on the built-in corpus and add the Qwen2.5 added tokens after it.

    ``bpe_vocab_size`` is a target for the learned vocabulary (256 byte symbols included); the trainer stops
    earlier when the corpus has no more pairs to merge. The result only depends on the corpus and this number.
    """
    if bpe_vocab_size < 257:
        raise ValueError(f"bpe_vocab_size must exceed the 256 byte symbols, got {bpe_vocab_size}")
    tok = Tokenizer(models.BPE(dropout=None, unk_token=None, fuse_unk=False, byte_fallback=False))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    tok.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=bpe_vocab_size,
        min_frequency=2,
        show_progress=False,
        special_tokens=[],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(_corpus_lines(), trainer=trainer)
    if first_added_id is not None:
        # Unreachable filler entries put the added tokens at the ids a real vocabulary gives them.
        data = json.loads(tok.to_str())
        vocab = data["model"]["vocab"]
        if first_added_id < len(vocab):
            raise ValueError(f"first_added_id {first_added_id} is inside the learned vocabulary ({len(vocab)})")
        vocab.update({f"<|filler_{i}|>": i for i in range(len(vocab), first_added_id)})
        tok = Tokenizer.from_str(json.dumps(data))
    tok.add_tokens([AddedToken(text, special=special, normalized=False) for text, special in QWEN2_ADDED_TOKENS])
    # The trainer keeps alphabet symbols in sorted order and breaks merge ties by pair ids, so the result is
    # a pure function of the corpus; `canonical_tokenizer_json` adds a fixed serialisation on top.
    return tok


def canonical_tokenizer_json(tok: Tokenizer) -> str:
    """Serialise a tokenizer as pretty JSON with a stable key order and a trailing newline."""
    return json.dumps(json.loads(tok.to_str()), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def special_token_ids(tok: Tokenizer) -> dict[str, int]:
    """Ids of all added tokens in ``tok``."""
    ids = {}
    for text, _ in QWEN2_ADDED_TOKENS:
        token_id = tok.token_to_id(text)
        if token_id is None:
            raise ValueError(f"tokenizer lacks {text}")
        ids[text] = token_id
    return ids


def tokenizer_config(tok: Tokenizer, model_max_length: int) -> dict:
    """tokenizer_config.json contents that make transformers load ``tok`` as a Qwen2Tokenizer."""
    added = {}
    for text, special in QWEN2_ADDED_TOKENS:
        added[str(tok.token_to_id(text))] = {
            "content": text,
            "lstrip": False,
            "normalized": False,
            "rstrip": False,
            "single_word": False,
            "special": special,
        }
    return {
        "add_bos_token": False,
        "add_prefix_space": False,
        "added_tokens_decoder": added,
        "bos_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "eos_token": EOS_TOKEN,
        "errors": "replace",
        "extra_special_tokens": [text for text, special in QWEN2_ADDED_TOKENS[1:] if special],
        "model_max_length": model_max_length,
        "pad_token": TOKENIZER_PAD_TOKEN,
        "processor_class": "VibeVoiceAsrProcessor",
        "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer",
        "unk_token": None,
    }


def expected_prompt(num_audio_tokens: int, duration_s: float, context: str | None = None) -> str:
    """The exact prompt text the real VibeVoice-ASR processor builds (no assistant header)."""
    audio = AUDIO_BOS_TOKEN + AUDIO_TOKEN * num_audio_tokens + AUDIO_EOS_TOKEN
    if context:
        instruction = (
            f"This is a {duration_s:.2f} seconds audio, with extra info: {context}\n\n"
            f"Please transcribe it with these keys: {TRANSCRIBE_KEYS}"
        )
    else:
        instruction = f"This is a {duration_s:.2f} seconds audio, please transcribe it with these keys: {TRANSCRIBE_KEYS}"
    return (
        f"{IM_START_TOKEN}system\n{SYSTEM_PROMPT}{IM_END_TOKEN}\n"
        f"{IM_START_TOKEN}user\n{audio}\n{instruction}{IM_END_TOKEN}\n"
    )
