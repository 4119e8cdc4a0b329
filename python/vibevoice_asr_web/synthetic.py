"""`vibevoice-asr-web make-synthetic`: a checkpoint with the real configuration and random weights.

Everything is real-sized (hidden 3584, 28 heads / 4 KV heads, vocab 152064, full encoders and
connectors, untied lm_head) except the number of decoder layers. Weights are bf16 in sharded
safetensors, generated and written a slab at a time, so making one never holds a whole tensor.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import struct
from pathlib import Path

import numpy as np

from vibevoice_asr_web import inventory, tokenizer_builder
from vibevoice_asr_web.atomic import atomic_directory, check_output_dir
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.progress import Progress
from vibevoice_asr_web.real_model import QWEN25_SPECIAL_IDS, real_config

SHARD_BYTES = 2_000_000_000
SLAB_ELEMENTS = 1 << 24  # 64 MB of float32 at a time


def _rng(seed: int, name: str, slab: int) -> np.random.Generator:
    digest = hashlib.sha256(f"vibevoice-synthetic/{seed}/{name}/{slab}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def to_bfloat16(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits (uint16), rounding to nearest even."""
    bits = x.astype(np.float32).view(np.uint32)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def _scale(p: inventory.Parameter) -> tuple[float, float]:
    """(mean, std) of a parameter: unit-variance activations through Linear/conv, norms near 1."""
    if p.kind in (inventory.MATMUL, inventory.CONV):
        fan_in = math.prod(p.shape[1:])
        return 0.0, 1.0 / math.sqrt(fan_in)
    if p.kind == inventory.EMBEDDING:
        return 0.0, 0.05
    if p.name.endswith("gamma"):
        return 0.2, 0.05
    if p.name.endswith("norm.weight") or "layernorm" in p.name:
        return 1.0, 0.05
    return 0.0, 0.02  # biases


def _slabs(p: inventory.Parameter, seed: int):
    mean, std = _scale(p)
    for index, start in enumerate(range(0, p.numel, SLAB_ELEMENTS)):
        count = min(SLAB_ELEMENTS, p.numel - start)
        values = _rng(seed, p.name, index).standard_normal(count, dtype=np.float32) * np.float32(std) + np.float32(mean)
        yield to_bfloat16(values).tobytes()


def _plan_shards(params: list[inventory.Parameter], shard_bytes: int) -> list[list[inventory.Parameter]]:
    shards: list[list[inventory.Parameter]] = [[]]
    size = 0
    for p in params:
        nbytes = p.numel * 2
        if shards[-1] and size + nbytes > shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(p)
        size += nbytes
    return shards


def _write_shard(path: Path, params: list[inventory.Parameter], seed: int, progress, done: list[int], total: int) -> None:
    header, offset = {}, 0
    for p in params:
        header[inventory.to_checkpoint_key(p.name)] = {"dtype": "BF16", "shape": list(p.shape), "data_offsets": [offset, offset + p.numel * 2]}
        offset += p.numel * 2
    header["__metadata__"] = {"format": "pt"}
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)) + encoded)
        for p in params:
            for slab in _slabs(p, seed):
                f.write(slab)
                done[0] += len(slab)
                progress(done[0], total)


def make_synthetic(output_dir: str | os.PathLike, num_layers: int, seed: int = 0, shard_bytes: int = SHARD_BYTES,
                   overwrite: bool = False, progress: Progress | None = None, config: dict | None = None) -> Path:
    """Writes the checkpoint; `config` replaces the real configuration (tests use a tiny one)."""
    progress = progress or Progress()
    if not isinstance(num_layers, int) or num_layers < 1:
        raise UserError(f"--layers {num_layers}: expected at least 1 decoder layer (the real model has 28)")
    if shard_bytes < 1 << 20:
        raise UserError(f"--shard-gb {shard_bytes / 1e9:g}: expected a shard size of at least 0.001 GB (default {SHARD_BYTES / 1e9:g})")
    if seed < 0:
        raise UserError(f"--seed {seed}: expected a non-negative integer")
    check_output_dir(Path(output_dir).absolute(), overwrite)
    config = json.loads(json.dumps(config)) if config is not None else real_config()
    config["text_config"]["num_hidden_layers"] = num_layers
    config["text_config"].pop("layer_types", None)  # derived from the layer count again on load
    config["text_config"].pop("max_window_layers", None)
    params = inventory.parameters(config)
    shards = _plan_shards(params, shard_bytes)
    total = sum(p.numel for p in params) * 2
    progress.note(f"synthetic VibeVoice-ASR: {num_layers} decoder layers, {total / 2:,.0f} parameters, {total / 1e9:.2f} GB bf16 in {len(shards)} shard(s)")
    names = [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
    report = progress.bytes_callback("writing weights")
    done = [0]
    with atomic_directory(output_dir, overwrite=overwrite) as partial:
        for name, shard in zip(names, shards):
            _write_shard(partial / name, shard, seed, report, done, total)
        index = {"metadata": {"total_size": total},
                 "weight_map": {inventory.to_checkpoint_key(p.name): n for n, shard in zip(names, shards) for p in shard}}
        (partial / "model.safetensors.index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")
        config["dtype"] = "bfloat16"
        (partial / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        from vibevoice_asr_web.tiny_checkpoint import processor_files

        tokenizer = tokenizer_builder.build_tokenizer(600, first_added_id=config["audio_bos_token_id"] - 3)
        ids = tokenizer_builder.special_token_ids(tokenizer)
        for token, real_id in QWEN25_SPECIAL_IDS.items():  # the added tokens sit where the config says
            assert ids[token] - config["audio_bos_token_id"] == real_id - QWEN25_SPECIAL_IDS["<|object_ref_start|>"], ids
        for file_name, text in processor_files(tokenizer, 32768, 65536).items():
            (partial / file_name).write_text(text, encoding="utf-8")
    progress.note(f"wrote {output_dir}")
    return Path(output_dir)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layers", type=int, required=True, help="number of decoder layers (the real model has 28)")
    parser.add_argument("--output-dir", "--output_dir", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--shard-gb", type=float, default=SHARD_BYTES / 1e9, help="safetensors shard size (default 2 GB)")
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    make_synthetic(args.output_dir, args.layers, seed=args.seed, shard_bytes=int(args.shard_gb * 1e9),
                   overwrite=args.overwrite, progress=Progress(quiet=args.quiet))
    return 0
