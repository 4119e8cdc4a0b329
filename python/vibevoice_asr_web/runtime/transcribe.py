"""`vibevoice-asr-web transcribe`: audio files -> transcripts with onnxruntime (no torch)."""

from __future__ import annotations

import argparse
import json
import sys

from vibevoice_asr_web.atomic import check_apart, check_output_file, write_text_atomic
from vibevoice_asr_web.artifact.contract import DTYPE_SUFFIX
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.artifact.manifest import add_no_verify_argument
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.runtime import formats
from vibevoice_asr_web.runtime.generate import PREFILL_CHUNK_TOKENS
from vibevoice_asr_web.runtime.pipeline import Transcriber, Transcription
from vibevoice_asr_web.runtime.sessions import DEVICES

FORMATS = ("json", "srt", "vtt", "text")

EPILOG = """\
output (stdout, or --output FILE, written atomically):
  json  one object per AUDIO: audio info, text, segments [{start, end, speaker, text}], parsed
        (false when the answer is not the model's JSON segment list: text is then the raw answer),
        truncated (true when the list was cut off and only its complete segments were kept),
        raw_text, prompt_ids, generated_ids, stop_reason (eos | max_new_tokens | repetition),
        timings {load_s, encode_s, prefill_s, decode_s, decode_tokens_per_s, real_time_factor}.
        One AUDIO gives one object; several give a list of objects in the order given.
  srt, vtt  subtitles, one cue per segment with its speaker; one AUDIO per call.
  text  the transcript; with several AUDIO, each preceded by a "==> AUDIO <==" line.

Progress (encoder chunks, tokens, tokens/s) is shown on a terminal only; warnings (a decode stopped
by --max-new-tokens or by an endless repetition) always go to stderr.
"""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("audio", nargs="+", metavar="AUDIO", help="audio file(s): WAV, FLAC, Ogg Vorbis/Opus or MP3, any rate and channels")
    parser.add_argument("--onnx-dir", "--onnx_dir", required=True, help="artifact folder made by `export`")
    parser.add_argument("--dtype", choices=list(DTYPE_SUFFIX), default="fp32", help="which graph variant to run (default: fp32)")
    parser.add_argument("--hotwords", help="context for the model: names, terms, topic (free text, added to the prompt)")
    parser.add_argument("--format", choices=FORMATS, default="json", help="output format (default: json)")
    parser.add_argument("--max-new-tokens", type=positive_int, help="stop after this many tokens (default: generation_config.json's max_new_tokens)")
    parser.add_argument("--output", "-o", metavar="FILE", help="write the output here instead of stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress, even on a terminal")
    parser.add_argument(
        "--prefill-chunk", type=positive_int, default=PREFILL_CHUNK_TOKENS,
        help=f"prompt tokens per decoder call; bounds memory for long audio (default {PREFILL_CHUNK_TOKENS})",
    )
    parser.add_argument("--device", choices=list(DEVICES), default="cpu", help="onnxruntime device (default: cpu; cuda needs onnxruntime-gpu)")
    add_no_verify_argument(parser)


def warnings(result: Transcription) -> list[str]:
    g = result.generation
    if g.stop_reason == "repetition":
        return [
            f"{result.name}: decoding stopped after {len(g.token_ids)} tokens because the model was repeating a "
            f"{g.repeated_ngram}-token sequence endlessly; the transcript ends there"
        ]
    if g.stop_reason == "max_new_tokens":
        return [f"{result.name}: decoding stopped at the limit of {len(g.token_ids)} new tokens before the model finished; raise --max-new-tokens"]
    return []


def render(results: list[Transcription], fmt: str, model: dict) -> str:
    if fmt == "json":
        objects = [{**r.as_dict(), "model": model} for r in results]
        return json.dumps(objects[0] if len(objects) == 1 else objects, indent=2, ensure_ascii=False) + "\n"
    if fmt == "srt":
        return formats.srt(results[0].transcript, results[0].audio.duration)
    if fmt == "vtt":
        return formats.vtt(results[0].transcript, results[0].audio.duration)
    if len(results) == 1:
        return formats.text(results[0].transcript)
    return "\n".join(f"==> {r.name} <==\n{formats.text(r.transcript)}" for r in results)


def run(args: argparse.Namespace) -> int:
    from vibevoice_asr_web import audio

    progress = Progress(quiet=args.quiet or not sys.stderr.isatty())
    if args.format in ("srt", "vtt") and len(args.audio) > 1:
        raise UserError(f"--format {args.format} holds the cues of one audio, but {len(args.audio)} AUDIO files were given: transcribe them one per call, or use --format json or text")
    check_output(args.output, args.audio, args.onnx_dir)
    clips = []
    front = audio.FrontEnd.from_folder(args.onnx_dir)  # the folder's settings, as the browser reads them
    for path in args.audio:  # every file is checked before the model loads
        progress.status(f"reading {path}")
        clips.append((path, audio.prepare(path, front=front)))
    progress.status(f"loading the {args.dtype} graphs of {args.onnx_dir}")
    transcriber = Transcriber(args.onnx_dir, args.dtype, args.device, progress, verify=args.verify)
    progress.done()
    for path, clip in clips:  # every prompt must fit the context before the first one is decoded
        transcriber.prompt_ids(clip, path, args.hotwords)
    results = []
    for path, clip in clips:
        result = transcriber.transcribe(
            clip, name=path, hotwords=args.hotwords, max_new_tokens=args.max_new_tokens, prefill_chunk_tokens=args.prefill_chunk
        )
        for warning in warnings(result):
            print(f"vibevoice-asr-web transcribe: warning: {warning}", file=sys.stderr)
        t = result.timings
        progress.note(
            f"{path}: {len(result.generation.token_ids)} tokens ({result.generation.stop_reason}), "
            f"{t['decode_tokens_per_s']:.1f} tokens/s, real-time factor {t['real_time_factor']:.3f}"
        )
        results.append(result)
    output = render(results, args.format, {"onnx_dir": str(args.onnx_dir), "dtype": transcriber.dtype, "device": args.device})
    if args.output:
        write_output(args.output, output)
        progress.note(f"wrote {args.output}")
    else:
        write_stdout(output)
    return 0


def check_output(output: str | None, audio_files: list[str], onnx_dir: str) -> None:
    """Before any work: --output may not be an input (an audio file, or anything in the artifact folder)."""
    if output is None:
        return
    check_output_file(output, audio_files)
    check_apart(output, [("artifact folder", onnx_dir)])


def write_output(path: str, text: str) -> None:
    try:
        write_text_atomic(path, text)
    except OSError as error:
        raise UserError(f"cannot write --output {path}: {error.strerror or error}") from None


def write_stdout(text: str) -> None:
    """UTF-8 whatever the locale (JSON, SRT and WebVTT are UTF-8 by definition)."""
    sys.stdout.flush()
    binary = getattr(sys.stdout, "buffer", None)
    if binary is None:
        sys.stdout.write(text)
    else:
        binary.write(text.encode("utf-8"))
        binary.flush()
