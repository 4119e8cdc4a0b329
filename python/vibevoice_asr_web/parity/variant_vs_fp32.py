"""A dtype variant against the fp32 graphs it was made from.

Per graph: cosine and max abs diff of the outputs on the same inputs (test audio, prompt ids,
prompt embeddings, decode steps). End to end on each test audio: the fp32 greedy tokens, the
variant's top-1 agreement with them when teacher-forced on those tokens (its own audio encoder
and embeddings, so every graph's error counts), and whether its own greedy decode gives the same
tokens. Gates: fp16 cosine on every graph, q4/q4f16 top-1 agreement; the rest is reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.parity import thresholds
from vibevoice_asr_web.parity.measures import Comparison, compare, format_table
from vibevoice_asr_web.progress import Progress

MAX_NEW_TOKENS = 48
DECODE_STEPS = 3
NO_GATE = -1.0


@dataclass(frozen=True)
class VariantGates:
    min_fp16_cosine: float = thresholds.FP16_MIN_COSINE  # fp16: every graph, every case
    min_top1: float = thresholds.MIN_TOP1  # q4, q4f16: teacher-forced next-token agreement with fp32's greedy tokens

    def cosine_gate(self, dtype: str) -> float:
        return self.min_fp16_cosine if dtype == "fp16" else NO_GATE

    def top1_gate(self, dtype: str) -> float | None:
        return self.min_top1 if dtype in contract.INT4_DTYPES else None


@dataclass
class Transcript:
    audio: str
    reference: list[int]
    teacher_forced_top1: list[bool]
    greedy: list[int]

    @property
    def equal(self) -> bool:
        return self.greedy == self.reference

    def as_dict(self) -> dict:
        first = next((i for i, (a, b) in enumerate(zip(self.greedy, self.reference)) if a != b), None)
        if first is None and len(self.greedy) != len(self.reference):
            first = min(len(self.greedy), len(self.reference))
        return {
            "audio": self.audio, "tokens": len(self.reference), "top1_agreement": _ratio(self.teacher_forced_top1),
            "greedy_tokens_equal": self.equal, "first_difference": first,
        }


def _ratio(flags: list[bool]) -> float:
    return float(np.mean(flags)) if flags else 1.0


@dataclass
class VariantReport:
    dtype: str
    reference_dir: str
    thresholds: VariantGates
    rows: list[Comparison] = field(default_factory=list)
    transcripts: list[Transcript] = field(default_factory=list)

    @property
    def top1_agreement(self) -> float:
        return _ratio([flag for t in self.transcripts for flag in t.teacher_forced_top1])

    @property
    def greedy_tokens_equal(self) -> bool:
        return all(t.equal for t in self.transcripts)

    def graph_worst(self) -> dict[str, dict]:
        worst: dict[str, dict] = {}
        for r in self.rows:
            w = worst.setdefault(r.graph, {"min_cosine": 1.0, "max_abs_diff": 0.0})
            w["min_cosine"] = min(w["min_cosine"], r.cosine)
            w["max_abs_diff"] = max(w["max_abs_diff"], r.max_abs_diff)
        return worst

    @property
    def failures(self) -> list[str]:
        found = [f"{r.graph} {r.case} {r.output}: cosine {r.cosine:.6f}" for r in self.rows if not r.passed]
        gate = self.thresholds.top1_gate(self.dtype)
        if gate is not None and self.top1_agreement < gate:
            found.append(f"top-1 agreement {self.top1_agreement:.4f} < {gate}")
        return found

    @property
    def passed(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict:
        gates = {"min_cosine": self.thresholds.min_fp16_cosine} if self.dtype == "fp16" else {"min_top1_agreement": self.thresholds.min_top1}
        return {
            "reference": "fp32", "reference_dir": self.reference_dir, "gates": gates,
            "graphs": self.graph_worst(), "cases": [r.as_dict() for r in self.rows],
            "top1_agreement": self.top1_agreement,
            "top1_positions": sum(len(t.teacher_forced_top1) for t in self.transcripts),
            "greedy_tokens_equal": self.greedy_tokens_equal,
            "transcripts": [t.as_dict() for t in self.transcripts],
            "failures": self.failures, "passed": self.passed,
        }

    def table(self) -> str:
        lines = [f"{self.dtype} vs fp32 ({self.reference_dir})", format_table(self.rows)]
        for t in self.transcripts:
            d = t.as_dict()
            verdict = "identical" if d["greedy_tokens_equal"] else f"different from token {d['first_difference']}"
            lines.append(f"{t.audio}: top-1 agreement {d['top1_agreement']:.4f} over {d['tokens']} fp32 tokens; greedy tokens {verdict}")
        lines.append(f"{self.dtype}: top-1 agreement {self.top1_agreement:.4f}, {'PASS' if self.passed else 'FAIL: ' + '; '.join(self.failures)}")
        return "\n".join(lines)


# -- inputs ---------------------------------------------------------------------------------------

@dataclass
class Prompt:
    audio: str
    samples: np.ndarray  # normalised, padded to the hop
    ids: list[int]


def prompts(reference_dir: Path, audio_files: list[Path]) -> list[Prompt]:
    """The transcription prompt of each audio file, as the runtime (and HF's processor) builds it."""
    from vibevoice_asr_web import audio
    from vibevoice_asr_web.runtime.prompt import PromptBuilder

    builder = PromptBuilder.from_folder(reference_dir)
    front = audio.FrontEnd.from_folder(reference_dir)
    result = []
    for path in audio_files:
        prepared = audio.prepare(path, front=front)
        result.append(Prompt(Path(path).name, prepared.samples, builder.ids(prepared.num_audio_tokens, prepared.duration)))
    return result


def _same_inputs(model, array: np.ndarray) -> np.ndarray:
    return array.astype(model.activation)


def check_graphs(variant, reference, prompt_list: list[Prompt], dtype: str, gate: float, rng) -> list[Comparison]:
    rows = []
    for prompt in prompt_list:
        want = reference.encode_audio(prompt.samples)
        got = variant.encode_audio(prompt.samples)
        rows.append(compare(contract.AUDIO_ENCODER, prompt.audio, contract.AUDIO_FEATURES, got, want, gate))
    noise = (rng.standard_normal(2 * reference.dims.chunk_size) * 0.1).astype(np.float32)
    rows.append(compare(contract.AUDIO_ENCODER, "noise, 2 chunks", contract.AUDIO_FEATURES, variant.encode_audio(noise), reference.encode_audio(noise), gate))

    ids = rng.integers(0, reference.dims.vocab_size, size=(2, 7))
    rows.append(compare(contract.EMBED_TOKENS, "2x7 ids", contract.INPUTS_EMBEDS, variant.embed(ids), reference.embed(ids), gate))

    for prompt in prompt_list[:1]:
        embeds = reference.prompt_embeddings(prompt.ids, reference.encode_audio(prompt.samples))
        want, want_state = reference.decode(embeds, reference.empty_state(), logits_to_keep=0)
        got, got_state = variant.decode(_same_inputs(variant, embeds), variant.empty_state(), logits_to_keep=0)
        rows.append(compare(contract.DECODER, f"prefill {prompt.audio}", "logits (all rows)", got, want, gate))
        last_layer = reference.dims.num_layers - 1
        last = f"{contract.PAST_KEY_VALUES}.{last_layer}.key"
        rows.append(compare(contract.DECODER, f"prefill {prompt.audio}", f"{contract.PRESENT}.{last_layer}.key", got_state.past[last], want_state.past[last], gate))
        for step in range(DECODE_STEPS):
            embed = rng.standard_normal((1, 1, reference.dims.hidden_size)).astype(np.float32)
            want, want_state = reference.decode(embed, want_state)
            got, got_state = variant.decode(_same_inputs(variant, embed), got_state)
            rows.append(compare(contract.DECODER, f"decode step {step + 1}", contract.LOGITS, got, want, gate))
    return rows


def check_transcript(variant, reference, prompt: Prompt, max_new_tokens: int = MAX_NEW_TOKENS) -> Transcript:
    from vibevoice_asr_web.runtime.generate import greedy

    eos = reference.dims.eos_token_ids
    ref = greedy(reference, reference.prompt_embeddings(prompt.ids, reference.encode_audio(prompt.samples)), eos, max_new_tokens, guard=None)
    embeds = variant.prompt_embeddings(prompt.ids, variant.encode_audio(prompt.samples))
    logits, state = variant.decode(embeds, variant.empty_state())
    agree = []
    for position, token in enumerate(ref.token_ids):
        agree.append(int(np.argmax(logits[0, -1])) == token)
        if position + 1 < len(ref.token_ids):
            logits, state = variant.decode(variant.embed(np.array([[token]], np.int64)), state)
    own = greedy(variant, embeds, eos, max_new_tokens, guard=None)
    return Transcript(prompt.audio, ref.token_ids, agree, own.token_ids)


def compare_variant(
    folder: Path, dtype: str, reference_dir: Path, audio_files: list[Path], thresholds: VariantGates = VariantGates(),
    progress: Progress | None = None, seed: int = 0, prompt_list: list[Prompt] | None = None,
) -> VariantReport:
    from vibevoice_asr_web.runtime.sessions import OnnxAsrModel

    progress = progress or Progress(quiet=True)
    dtype = contract.canonical_dtype(dtype)
    reference = OnnxAsrModel(reference_dir, "fp32", verify=False)
    variant = OnnxAsrModel(folder, dtype, verify=False)
    prompt_list = prompt_list if prompt_list is not None else prompts(Path(reference_dir), audio_files)
    report = VariantReport(dtype, str(reference_dir), thresholds)
    progress.note(f"comparing {dtype} with fp32, graph by graph")
    report.rows = check_graphs(variant, reference, prompt_list, dtype, thresholds.cosine_gate(dtype), np.random.default_rng(seed))
    for prompt in prompt_list:
        progress.note(f"{dtype}: greedy decode of {prompt.audio}, teacher-forced and free")
        report.transcripts.append(check_transcript(variant, reference, prompt))
    return report


# -- folders --------------------------------------------------------------------------------------

def variants_present(folder: Path) -> list[str]:
    """The dtypes whose three graphs are all in `folder`/onnx."""
    from vibevoice_asr_web.runtime.sessions import variants_present as present

    return present(folder)


def reference_folder(folder: Path, given: str | os.PathLike | None, info: dict) -> Path:
    """Where the fp32 graphs to compare with are: --reference-dir, the folder itself, or where it was quantized from."""
    candidates = []
    if given is not None:
        candidates = [Path(given)]
    elif "fp32" in variants_present(folder):
        candidates = [Path(folder)]
    elif info.get("quantized_from", {}).get("path"):
        candidates = [Path(folder) / info["quantized_from"]["path"]]  # recorded relative to the folder
    for candidate in candidates:
        if "fp32" in variants_present(candidate):
            return candidate
    recorded = info.get("quantized_from", {}).get("path")
    recorded = str(Path(folder) / recorded) if recorded else None
    raise UserError(
        f"no fp32 graphs to compare {folder} with: expected them in --reference-dir"
        + (f" (given: {given}, which holds none)" if given else "")
        + (f", in the folder itself, or in {recorded} (where it was quantized from, no longer there)" if recorded else ", or in the folder itself")
        + ". Build them with `./bazelw build //models:fp32` or `vibevoice-asr-web export --checkpoint "
        + str(info.get("source", {}).get("name", "CHECKPOINT")) + " --output-dir FP32_DIR` and pass --reference-dir FP32_DIR"
    )


def human_bytes(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n} B"


def markdown_table(graphs: dict[str, dict[str, dict]], parity: dict[str, dict]) -> str:
    """The README table: per variant and graph, size, MatMul weights quantized, cosine vs fp32."""
    lines = [
        "| variant | component | size | MatMul weights quantized | min cosine vs fp32 | max abs diff |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for dtype, by_graph in graphs.items():
        for graph, summary in by_graph.items():
            size = summary["graph_bytes"] + summary["weight_bytes"]
            nb = summary.get("nbits") or {}
            quantized = f"{nb.get('matmuls_quantized', 0)} / {summary.get('matmul_weights', 0)}"
            if nb.get("gathers_quantized"):
                quantized += f" (+ {nb['gathers_quantized']} Gather)"
            worst = parity.get(dtype, {}).get("graphs", {}).get(graph)
            cosine = f"{worst['min_cosine']:.6f}" if worst else "not measured"
            diff = f"{worst['max_abs_diff']:.3g}" if worst else ""
            lines.append(f"| {dtype} | {graph} | {human_bytes(size)} | {quantized} | {cosine} | {diff} |")
    lines += ["", "| variant | top-1 agreement with fp32 (teacher-forced) | greedy tokens equal to fp32 |", "|---|---:|---|"]
    for dtype in graphs:
        p = parity.get(dtype)
        if p and "top1_agreement" in p:
            lines.append(f"| {dtype} | {p['top1_agreement']:.4f} ({p['top1_positions']} tokens) | {'yes' if p['greedy_tokens_equal'] else 'no'} |")
        else:
            lines.append(f"| {dtype} | not measured | not measured |")
    return "\n".join(lines) + "\n"
