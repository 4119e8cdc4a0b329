"""The model card (README.md) of a release: YAML front matter the Hub reads, then what the repo
holds, where it came from, how close each variant is to its reference, where each one runs, and
how to load it (the web library, or Transformers.js alone)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from vibevoice_asr_web import __version__

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.checkpoint_source import HUB_ID
from vibevoice_asr_web.artifact.check import human_bytes
from vibevoice_asr_web.release.browser import SUITES, passed_on
from vibevoice_asr_web.release.gates import PASS, SKIP, GateTable
from vibevoice_asr_web.release.stage import variant_of

UNKNOWN_LICENSE = "unknown — check the source"
# What a LICENSE file's text says -> the Hub's license id.
LICENSE_TEXTS = (
    (re.compile(r"\bMIT License\b|Permission is hereby granted, free of charge", re.I), "mit", "MIT"),
    (re.compile(r"Apache License,?\s+Version 2\.0", re.I), "apache-2.0", "Apache-2.0"),
    (re.compile(r"BSD 3-Clause|Redistribution and use in source and binary forms", re.I), "bsd-3-clause", "BSD-3-Clause"),
)
DEVICES = {
    "fp32": "any WebGPU adapter, or WASM; only if every tensor fits one GPU buffer ({largest}; many adapters allow 1 GiB)",
    "fp16": "WebGPU with the `shader-f16` feature, or WASM (slowly: the CPU runs float16 through float32)",
    "q4": "any WebGPU adapter (software ones such as SwiftShader too), or WASM (the CPU's first choice)",
    "q4f16": "WebGPU with the `shader-f16` feature (the production choice on GPUs that have it), or WASM",
    "q2": "any WebGPU adapter whose MatMulNBits kernel takes 2 bits, or WASM",
    "q2f16": "WebGPU with the `shader-f16` feature (the BitNet model's smallest variant), or WASM",
}
PREFERRED = contract.BEST_FIRST


@dataclass(frozen=True)
class License:
    hub_id: str  # the front matter's `license:` (a Hub license id, "other" or "unknown")
    text: str  # what the card says
    where: str  # where it was read


def front_matter(text: str) -> dict:
    import yaml

    if not text.startswith("---"):
        return {}
    end = text.find("\n---", 3)
    if end < 0:
        return {}
    try:
        data = yaml.safe_load(text[3:end])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def source_license(checkpoint: Path) -> License:
    """From the checkpoint's README front matter (`license:`), else its LICENSE file, else unknown."""
    readme = checkpoint / "README.md"
    if readme.is_file():
        meta = front_matter(readme.read_text(errors="replace"))
        value = meta.get("license")
        if isinstance(value, list) and value:
            value = value[0]
        if isinstance(value, str) and value.strip():
            value = value.strip()
            if value == "other":
                name = meta.get("license_name") or "a custom license"
                link = meta.get("license_link")
                return License("other", f"{name}" + (f" ({link})" if link else "") + " — see the source", "README.md front matter")
            return License(value, value.upper() if value == "mit" else value, "README.md front matter")
    for path in sorted(checkpoint.glob("LICENSE*")):
        if path.is_file():
            text = path.read_text(errors="replace")
            for pattern, hub_id, name in LICENSE_TEXTS:
                if pattern.search(text):
                    return License(hub_id, name, path.name)
            return License("other", f"see the source's {path.name}", path.name)
    return License("unknown", UNKNOWN_LICENSE, "none found")


def base_model(source: dict, given: str | None) -> tuple[str | None, str | None]:
    """(Hub id, revision) of the source checkpoint: --base-model ID[@REV], else the source when it is a Hub id."""
    if given:
        repo, _, revision = given.partition("@")
        return repo, revision or None
    name = source.get("name", "")
    if HUB_ID.match(name):
        return name, source.get("revision")
    return None, None


def _yaml(meta: dict) -> str:
    import yaml

    return "---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n"


def _variant_files(files: dict, dtype: str) -> tuple[int, int, int]:
    names = [n for n in files if variant_of(n) == dtype]
    graphs = sum(1 for n in names if n.endswith(".onnx"))
    return graphs, len(names) - graphs, sum(files[n]["bytes"] for n in names)


def _quantized(graphs: dict[str, dict], dtype: str) -> str:
    if dtype == "fp32":
        return "none (fp32 weights)"
    parts = []
    matmuls = sum((g.get("nbits") or {}).get("matmuls_quantized", 0) for g in graphs.values())
    total = sum(g.get("matmul_weights", 0) for g in graphs.values())
    gathers = sum((g.get("nbits") or {}).get("gathers_quantized", 0) for g in graphs.values())
    if dtype in contract.INT4_DTYPES:
        parts.append(f"{matmuls} of {total} MatMul weights int4 (MatMulNBits)")
        if gathers:
            parts.append(f"{gathers} embedding table(s) int4 (GatherBlockQuantized)")
    if dtype in contract.HALF_PRECISION_DTYPES:
        kept = sum((g.get("fp16") or {}).get("fp32_weights", 0) for g in graphs.values())
        parts.append(("other weights" if parts else "weights") + " fp16" + (f" ({kept} kept fp32 for range)" if kept else ""))
    return "; ".join(parts) or "—"


def _parity(dtype: str, parity: dict) -> str:
    p = parity.get(dtype) or {}
    if "skipped" in p:
        return f"not measured: {p['skipped']}"
    if "error" in p or not p:
        return "not measured"
    if dtype == "fp32":
        cos = min(g["min_cosine"] for g in p["graphs"].values())
        return f"vs PyTorch: min cosine {cos:.7f}; greedy tokens {'identical' if p['greedy_tokens_equal'] else 'different'}"
    cos = min(g["min_cosine"] for g in p["graphs"].values())
    greedy = "identical" if p["greedy_tokens_equal"] else "not identical"
    if dtype == "fp16":
        return f"vs fp32: min cosine {cos:.5f}; top-1 agreement {p['top1_agreement']:.4f}; greedy tokens {greedy}"
    return f"vs fp32: top-1 agreement {p['top1_agreement']:.4f} ({p['top1_positions']} tokens); min cosine {cos:.4f}; greedy tokens {greedy}"


def _browser(table: GateTable, dtype: str) -> str:
    row = table.of("browser", dtype)
    if row is None:
        return "not run"
    if row.result == PASS:
        adapters = passed_on(row.detail)
        return f"passed on {', '.join(adapters)}" if adapters else "passed"
    if row.result == SKIP:
        return "not run: " + row.detail.removeprefix("not run on this machine: ").removeprefix("--no-browser: ")
    return "FAILED"


def _graph_table(info: dict) -> list[str]:
    lines = ["| variant | graph | size | MatMul weights int4 | min cosine vs reference | max abs diff |", "|---|---|---:|---:|---:|---:|"]
    for dtype in info["dtypes"]:
        for graph, summary in info["graphs"][dtype].items():
            size = sum(info["files"][n]["bytes"] for n in [summary["file"], *summary.get("data_files", [])] if n in info["files"])
            nb = summary.get("nbits") or {}
            quantized = f"{nb.get('matmuls_quantized', 0)} / {summary.get('matmul_weights', 0)}" if nb else "—"
            worst = ((info.get("parity") or {}).get(dtype) or {}).get("graphs", {}).get(graph)
            cos = f"{worst['min_cosine']:.7f}" if worst else "—"
            diff = f"{worst['max_abs_diff']:.3g}" if worst else "—"
            lines.append(f"| {dtype} | {graph} | {human_bytes(size)} | {quantized} | {cos} | {diff} |")
    return lines


def render(repo_id: str, info: dict, table: GateTable, license: License, base: tuple[str | None, str | None], largest: dict[str, str]) -> str:
    """The card: front matter, then the sections in order, each from its own function."""
    dtypes = info["dtypes"]
    source = info.get("source") or {}
    base_id, base_revision = base
    origin = f"[{base_id}](https://huggingface.co/{base_id})" if base_id else f"the local checkpoint `{source.get('name', '?')}`"
    revision = base_revision or source.get("revision", "?")
    out = [_yaml(_meta(license, base_id, dtypes)), f"# {repo_id.split('/')[-1]}", ""]
    out += _source_section(origin, revision, license, dtypes)
    out += _variants_section(info, table, largest)
    out += _gates_passed((info.get("release") or {}).get("thresholds") or {})
    out += _usage_section(repo_id, next(d for d in PREFERRED if d in dtypes))
    out += _checks_section(table)
    return "\n".join(out)


def _meta(license: License, base_id: str | None, dtypes: list[str]) -> dict:
    """The front matter the Hub reads."""
    meta = {"license": license.hub_id, "library_name": "transformers.js", "pipeline_tag": "automatic-speech-recognition"}
    if base_id:
        meta["base_model"] = base_id
        if any(d != "fp32" for d in dtypes):
            meta["base_model_relation"] = "quantized"
    meta["tags"] = ["onnx", "webgpu", "vibevoice", "vibevoice-asr", "speech-recognition", "speaker-diarization", "transformers.js"]
    return meta


def _source_section(origin: str, revision: str, license: License, dtypes: list[str]) -> list[str]:
    """What the repo holds and where it came from."""
    if license.hub_id != "unknown":
        license_row = f"| license | {license.text} (read from the source's {license.where}) |"
    else:
        license_row = f"| license | {license.text} |"
    return [
        f"Microsoft's **VibeVoice-ASR** ({origin}) as ONNX graphs in the layout Transformers.js 4.3.1 loads",
        "(`audio_encoder`, `embed_tokens`, `decoder_model_merged`), to transcribe speech — with speakers and",
        "timestamps — in a web browser, on the user's own GPU through WebGPU. Made and checked with",
        f"vibevoice-asr-web {__version__}; `manifest.json` lists the sha256 and size of every file.",
        "",
        "## Source",
        "",
        "| | |",
        "|---|---|",
        f"| checkpoint | {origin} |",
        f"| revision | `{revision}` |",
        license_row,
        f"| variants | {', '.join(dtypes)} |",
        "",
    ]


def _variants_section(info: dict, table: GateTable, largest: dict[str, str]) -> list[str]:
    """One row per variant (files, size, quantization, parity, browser, devices), then one per graph."""
    out = [
        "## Variants",
        "",
        "| dtype | files | size | quantized tensors | parity | browser test | runs on |",
        "|---|---|---:|---|---|---|---|",
    ]
    for d in info["dtypes"]:
        graphs, chunks, size = _variant_files(info["files"], d)
        files = f"`onnx/*{contract.DTYPE_SUFFIX[d]}.onnx` ({graphs} graphs + {chunks} data chunks)"
        devices = DEVICES[d].format(largest=f"largest tensor {largest.get(d, '?')}")
        out.append(
            f"| {d} | {files} | {human_bytes(size)} | {_quantized(info['graphs'][d], d)} | {_parity(d, info.get('parity') or {})} "
            f"| {_browser(table, d)} | {devices} |"
        )
    return out + ["", _where_browser_tested(table, info["dtypes"]), "", "Per graph:", "", *_graph_table(info), ""]


def _where_browser_tested(table: GateTable, dtypes: list[str]) -> str:
    """Which variants passed the browser suites on which adapter; every such adapter is a software renderer."""
    tested = []
    for suite in SUITES:
        passed = [d for d in dtypes if (row := table.of("browser", d)) and row.result == PASS and suite.adapter in passed_on(row.detail)]
        if passed:
            tested.append(f"{suite.adapter} ({', '.join(passed)})")
    if not tested:
        return "No variant passed a browser test for this release."
    return f"Browser-tested on {'; '.join(tested)}: software adapters only, so no variant was tested on a real GPU."


def _gates_passed(thresholds: dict) -> list[str]:
    """The thresholds this release was held to; nothing when the release recorded none."""
    if not thresholds:
        return []
    return [
        f"Gates this release passed: fp32 cosine ≥ {thresholds['fp32_min_cosine']} against PyTorch with identical greedy tokens; "
        f"fp16 cosine ≥ {thresholds['fp16_min_cosine']} against fp32; q4 / q4f16 top-1 agreement ≥ {thresholds['min_top1']} with "
        "fp32; every file's sha256; the graphs' inputs and outputs; no tensor over 1 GiB and no data chunk over 2 GB in the "
        "browser variants; the browser suite where it could run.",
        "",
    ]


def _usage_section(repo_id: str, dtype: str) -> list[str]:
    """How to load the `dtype` variant: with the vibevoice-asr-web library, or with Transformers.js alone."""
    return [
        "## Usage",
        "",
        "### With the vibevoice-asr-web library",
        "",
        "It does the audio front end (any format, 24 kHz mono, −25 dBFS), the prompt, chunked audio encoding and",
        "greedy decoding, and parses the output into segments:",
        "",
        "```js",
        "import { VibeVoiceASR } from './vibevoice-asr.js'; // vibevoice-asr-web's library (./bazelw build //web:bundle)",
        "",
        f"const asr = await VibeVoiceASR.load('{repo_id}', {{ device: 'webgpu', dtype: '{dtype}' }});",
        "const result = await asr.transcribe(audio); // a File, Blob, URL or Float32Array",
        "console.log(result.text);",
        "for (const { start, end, speaker, text } of result.segments) console.log(start, end, speaker, text);",
        "```",
        "",
        "`dtype: 'auto'` picks the best variant this device runs (q4f16 with `shader-f16`, else q4).",
        "",
        "### With Transformers.js alone",
        "",
        "`config.json` keeps the true `model_type` (`vibevoice_asr`), which Transformers.js 4.3.1 does not know; hand it",
        "a config that reads `voxtral`, whose three-session contract these graphs follow:",
        "",
        "```js",
        "import { AutoConfig, PretrainedConfig, VoxtralForConditionalGeneration } from '@huggingface/transformers';",
        "",
        f"const raw = await AutoConfig.from_pretrained('{repo_id}');",
        "const config = new PretrainedConfig({ ...raw, model_type: 'voxtral' });",
        f"const model = await VoxtralForConditionalGeneration.from_pretrained('{repo_id}', {{ config, dtype: '{dtype}', device: 'webgpu' }});",
        "```",
        "",
        "The audio encoder is streaming: besides `audio_values` (24 kHz, normalised to −25 dBFS, padded to a multiple of",
        "3200 samples) it takes every causal convolution's state (`past_conv.*`, zeros for the first chunk) and returns",
        "the next (`present_conv.*`), so override `model.encode_audio` to feed them chunk by chunk, and build the prompt",
        "with one `<|box_start|>` token per 3200 samples as `tokenizer_config.json`'s chat template describes. The",
        "vibevoice-asr-web library does exactly this (`VibeVoiceAsrForConditionalGeneration`).",
        "",
    ]


def _checks_section(table: GateTable) -> list[str]:
    """Every gate row, first line of its detail."""
    out = ["## Checks", "", "| gate | variant | result | detail |", "|---|---|---|---|"]
    for row in table.rows:
        detail = row.detail.split("\n")[0].replace("|", "\\|")
        out.append(f"| {row.gate} | {row.variant} | {row.result} | {detail} |")
    out.append("")
    return out
