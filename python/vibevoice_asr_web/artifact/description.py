"""`vibevoice-asr-web describe-artifact`: the artifact contract as JSON, for the web library.

The build writes it (//web:artifact_description) and the TypeScript library bundles it, so graph
names, dtypes, limits and defaults are written once, here in Python, and read by both languages.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vibevoice_asr_web.artifact import contract, manifest

FORMAT = 1


def describe() -> dict:
    c = contract
    return {
        "format": FORMAT,
        "graphs": list(c.GRAPH_NAMES),
        "dtypes": {
            dtype: {
                "suffix": suffix,
                "activation": c.activation_type(dtype),
                "half_precision": dtype in c.HALF_PRECISION_DTYPES,
                "int4": dtype in c.INT4_DTYPES,
                "ternary": dtype in c.TERNARY_DTYPES,
                "browser": dtype in c.BROWSER_DTYPES,
            }
            for dtype, suffix in c.DTYPE_SUFFIX.items()
        },
        "best_first": list(c.BEST_FIRST),
        "cpu_best_first": list(c.CPU_BEST_FIRST),
        "default_dtype_order": list(c.DEFAULT_DTYPE_ORDER),
        "io": {
            name: name
            for name in (c.AUDIO_VALUES, c.AUDIO_FEATURES, c.INPUT_IDS, c.INPUTS_EMBEDS, c.ATTENTION_MASK, c.POSITION_IDS,
                         c.NUM_LOGITS_TO_KEEP, c.LOGITS, c.PAST_CONV, c.PRESENT_CONV, c.PAST_KEY_VALUES, c.PRESENT)
        },
        "files": {
            "config": c.CONFIG, "generation_config": c.GENERATION_CONFIG, "preprocessor_config": c.PREPROCESSOR_CONFIG,
            "manifest": manifest.MANIFEST, "onnx_dir": c.ONNX_DIR,
        },
        "limits": {"gpu_buffer_bytes": c.GPU_BUFFER_BYTES, "max_chunk_bytes": c.MAX_CHUNK_BYTES, "max_ir_version": c.MAX_IR_VERSION},
        "front_end": {
            "sampling_rate": c.SAMPLE_RATE, "hop_length": c.HOP_LENGTH, "target_dB_FS": c.TARGET_DBFS, "eps": c.EPS,
            "encoder_chunk_size": c.ENCODER_CHUNK_SIZE,
        },
        "generation": {"max_new_tokens": c.DEFAULT_MAX_NEW_TOKENS},
        "encoder_defaults": c.ENCODER_DEFAULTS,
        "int4_block_size": c.INT4_BLOCK_SIZE,
        "transcript_tokens_per_minute": c.TRANSCRIPT_TOKENS_PER_MINUTE,
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", required=True, help="the JSON file to write (replaced atomically)")


def run(args: argparse.Namespace) -> int:
    from vibevoice_asr_web.atomic import write_text_atomic

    write_text_atomic(Path(args.output), json.dumps(describe(), indent=2, sort_keys=True) + "\n")
    return 0
