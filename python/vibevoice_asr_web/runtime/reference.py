"""`vibevoice-asr-web reference`: what the browser tests compare with, for every dtype in a folder.

For each variant present in onnx/ (fp32, fp16, q4, q4f16) and each audio: the prompt ids, the
generated ids, the text, the stop reason and the top-10 logits of the first decode step (the prefill's
last row, which picks the first generated token). The sha256 of every graph file used comes from
the folder's manifest. No timings or local paths: the same folder and audio give the same bytes.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np

from vibevoice_asr_web.artifact import manifest
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.runtime.generate import RepetitionGuard
from vibevoice_asr_web.runtime.pipeline import Transcriber
from vibevoice_asr_web.runtime.sessions import variants_present
from vibevoice_asr_web.artifact.manifest import add_no_verify_argument
from vibevoice_asr_web.runtime.transcribe import check_output, positive_int, write_output

FORMAT = 1
TOP_K = 10


def top_logits(logits: np.ndarray, k: int = TOP_K) -> dict:
    """The k largest logits, largest first (ties: lower id first), as float32 values."""
    values = np.asarray(logits, np.float32)
    order = np.lexsort((np.arange(values.size), -values))[:k]
    return {"ids": [int(i) for i in order], "values": [float(values[i]) for i in order]}


def build(
    onnx_dir: Path, audio_files: list[str], hotwords: str | None = None, max_new_tokens: int | None = None,
    progress: Progress | None = None, verify: bool = True,
) -> dict:
    from vibevoice_asr_web import audio

    progress = progress or Progress(quiet=True)
    variants = variants_present(onnx_dir)
    if not variants:
        raise UserError(f"{onnx_dir}/onnx holds no complete set of graphs (audio_encoder, embed_tokens, decoder_model_merged): export them first")
    front = audio.FrontEnd.from_folder(onnx_dir)
    clips = [(Path(path), audio.prepare(path, front=front)) for path in audio_files]
    files = manifest.read(onnx_dir)["files"]
    guard = RepetitionGuard()
    report = {"format": FORMAT, "hotwords": hotwords, "repetition_guard": asdict(guard), "top_k": TOP_K, "variants": {}}
    report["audio"] = [
        {"name": path.name, "sha256": manifest.sha256_file(path), "num_samples": clip.num_samples,
         "num_audio_tokens": clip.num_audio_tokens, "duration_s": round(clip.duration, 6)}
        for path, clip in clips
    ]  # fmt: skip
    for dtype in variants:
        progress.note(f"{dtype}: loading")
        transcriber = Transcriber(onnx_dir, dtype, progress=progress, verify=verify)
        limit = max_new_tokens or transcriber.settings.max_new_tokens
        results = []
        for path, clip in clips:
            progress.note(f"{dtype}: {path.name}")
            r = transcriber.transcribe(clip, name=path.name, hotwords=hotwords, max_new_tokens=limit, guard=guard)
            results.append({
                "audio": path.name,
                "prompt_ids": r.prompt_ids,
                "generated_ids": r.generation.token_ids,
                "text": r.transcript.text,
                "raw_text": r.answer,
                "parsed": r.transcript.parsed,
                "segments": r.transcript.segments_as_dicts(),
                "stop_reason": r.generation.stop_reason,
                "first_step_top_logits": top_logits(r.generation.first_logits),
            })  # fmt: skip
        report["variants"][dtype] = {
            "graphs": {name: files[name]["sha256"] for names in transcriber.model.files.values() for name in names},
            "eos_token_ids": list(transcriber.settings.eos_token_ids),
            "max_new_tokens": limit,
            "results": results,
        }
    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--onnx-dir", "--onnx_dir", required=True, help="artifact folder made by `export` (every dtype variant in onnx/ is run)")
    parser.add_argument("--audio", nargs="+", action="extend", required=True, metavar="FILE", help="audio file(s) to transcribe")
    parser.add_argument("--hotwords", help="context text added to the prompt, as in `transcribe`")
    parser.add_argument("--max-new-tokens", type=positive_int, help="default: generation_config.json's max_new_tokens")
    parser.add_argument("--output", "-o", required=True, metavar="FILE", help="where to write reference.json (atomically)")
    parser.add_argument("--quiet", action="store_true", help="no progress, even on a terminal")
    add_no_verify_argument(parser)


def run(args: argparse.Namespace) -> int:
    progress = Progress(quiet=args.quiet or not sys.stderr.isatty())
    check_output(args.output, args.audio, args.onnx_dir)
    report = build(Path(args.onnx_dir), args.audio, args.hotwords, args.max_new_tokens, progress, args.verify)
    write_output(args.output, json.dumps(report, indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    progress.note(f"wrote {args.output}: {len(report['variants'])} variant(s) x {len(report['audio'])} audio")
    return 0
