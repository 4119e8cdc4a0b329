"""An artifact folder: the ONNX graphs plus the config, generation, preprocessor and tokenizer
files Transformers.js reads (DESIGN §2). The manifest is written last, by the caller."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import onnx_ir as ir

from vibevoice_asr_web import onnx_io
from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.errors import UserError

# Copied from the checkpoint as they are (those that exist).
TOKENIZER_FILES = ("tokenizer.json", "chat_template.jinja", "processor_config.json", "vocab.json", "merges.txt")
# What the artifacts cannot do without: the browser and onnxruntime tokenize and front-end from these.
REQUIRED_FILES = ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json")
IM_END = "<|im_end|>"


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def graph_summary(model: ir.Model, onnx_file: str, chunks: onnx_io.DataChunks) -> dict:
    ops = Counter(node.op_type for node in model.graph)
    return {
        "file": f"onnx/{onnx_file}",
        "data_files": [f"onnx/{name}" for name in chunks.files],
        "weight_bytes": chunks.tensor_bytes,
        "ir_version": model.ir_version,
        "opset": {domain or "ai.onnx": version for domain, version in model.opset_imports.items()},
        "nodes": sum(ops.values()),
        "op_counts": dict(sorted(ops.items())),
        "initializers": len(model.graph.initializers),
    }


def _token_id(tokenizer_json: dict, token: str) -> int | None:
    for added in tokenizer_json.get("added_tokens", []):
        if added["content"] == token:
            return added["id"]
    return tokenizer_json.get("model", {}).get("vocab", {}).get(token)


def check_metadata_files(checkpoint: Path) -> None:
    """Before any work: the files write_metadata copies are there."""
    missing = [name for name in REQUIRED_FILES if not (checkpoint / name).is_file()]
    if missing:
        raise UserError(
            f"{checkpoint} holds no {', '.join(missing)}, which the artifacts need. A checkpoint in the original layout "
            "may ship without them (Microsoft's code loads the Qwen2.5 tokenizer on its own): copy them from "
            "microsoft/VibeVoice-ASR-HF, whose tokenizer and feature extractor are the same, into the folder"
        )


def write_metadata(checkpoint: Path, config: dict, out: Path, graphs: dict[str, dict], dtypes: list[str]) -> None:
    """config.json (`config`, the checkpoint's in transformers' fields) with `transformers.js_config`,
    generation/preprocessor/tokenizer files."""
    config = dict(config)
    dims = contract.ModelDims.from_config(config)
    chunks = {Path(g["file"]).name: len(g["data_files"]) for g in graphs.values() if g["data_files"]}
    config["transformers.js_config"] = contract.transformers_js_config(dtypes, chunks)
    _write_json(out / contract.CONFIG, config)

    for name in TOKENIZER_FILES:
        if (checkpoint / name).is_file():
            shutil.copyfile(checkpoint / name, out / name)
    tokenizer_config = json.loads((checkpoint / "tokenizer_config.json").read_text())
    # Transformers.js reads the chat template from tokenizer_config.json, transformers 5 from chat_template.jinja.
    if "chat_template" not in tokenizer_config and (checkpoint / "chat_template.jinja").is_file():
        tokenizer_config["chat_template"] = (checkpoint / "chat_template.jinja").read_text()
    _write_json(out / "tokenizer_config.json", tokenizer_config)

    generation = json.loads((checkpoint / "generation_config.json").read_text()) if (checkpoint / "generation_config.json").is_file() else {}
    im_end = _token_id(json.loads((checkpoint / "tokenizer.json").read_text()), IM_END)
    _write_json(out / contract.GENERATION_CONFIG, contract.generation_config(generation, dims, im_end))

    preprocessor = json.loads((checkpoint / "preprocessor_config.json").read_text())
    _write_json(out / contract.PREPROCESSOR_CONFIG, contract.preprocessor_config(preprocessor, dims))
