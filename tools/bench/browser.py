"""Browser speed of the artifact graphs, per adapter: session creation, cold and warm encoder chunks,
prefill, decode at two context lengths, the top operators and the WebGPU programs compiled (issue 19).

Sessions are made straight from each folder's graph files with the pinned onnxruntime-web, in the
bundle's bench page (web/src/bench.ts), in headless Chromium: on WebGPU (here SwiftShader) and on
WASM (onnxruntime-web's CPU build, as the library loads it there). Every number is one run's; the
ratios are against an anchor of the same run (warm / cold, decode@4000 / decode@500), never timed
tests. The page counts the GPUDevice's shader modules and compute pipelines (onnxruntime-web
compiles them with createComputePipelineAsync; the time until each settles is the compile time)
and the operator times come from onnxruntime's profiler in a second session of each graph (on
WebGPU: the GPU timestamps of each program; on WASM: each kernel's CPU time).

    ./bazelw run //tools/bench:browser -- [--adapters webgpu,wasm] [--variants tiny-fp32,tiny-q4]
        [--real-q4 FOLDER] [--bundle DIR] [--fp32 DIR] [--int4 DIR] [--json out.json]

--real-q4 takes an int4 folder of a one-decoder-layer model of real widths (make-synthetic
--layers 1, then export --dtype q4) and runs it on WASM only, with 2 s encoder chunks: on
SwiftShader one such chunk would take 15-25 minutes (README, Numbers measured).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import onnx

from vibevoice_asr_web import runfiles
from vibevoice_asr_web.artifact import contract
from vibevoice_asr_web.chromium import CHROMIUM_ARGS, find_chromium
from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.runtime import ort_profile
from vibevoice_asr_web.serve import Server

ADAPTERS = ("webgpu", "wasm")
PREFILL_ROWS = 31  # web/src/vibevoice/generation/prefill.ts prefillRowLimit on 4-lane-subgroup adapters
PREFILL_ROWS_OTHER = 16  # a second row count: does a new shape compile new programs?
DECODE_PASTS = (500, 4000)
DECODE_STEPS = 6  # the first compiles what the new shapes need; the median of the rest is the warm ms/token
TOP_OPS = 10
REAL_CHUNK_SECONDS = 2.0  # the real encoder chunk is 60 s: far too long for a CPU, so the bench takes 2 s


@dataclasses.dataclass(frozen=True)
class Variant:
    label: str
    folder: Path
    dtype: str
    adapters: tuple[str, ...] = ADAPTERS
    chunk_seconds: float | None = None  # None: the folder's own encoder chunk


@dataclasses.dataclass(frozen=True)
class Graph:
    url: str
    data_files: list[str]
    inputs: dict[str, tuple[str, list]]  # name -> (element type, dims: int or dim name)
    outputs: list[str]


def read_graph(variant: Variant, graph: str) -> Graph:
    relative = contract.graph_path(graph, variant.dtype)
    path = variant.folder / relative
    if not path.is_file():
        raise UserError(f"{path} does not exist: expected a {variant.dtype} artifact folder (build one with ./bazelw build //models:fp32 or //models:int4)")
    model = onnx.load(str(path), load_external_data=False)
    data_files = sorted({entry.value for tensor in model.graph.initializer for entry in tensor.external_data if entry.key == "location"})
    types = {onnx.TensorProto.FLOAT: "float32", onnx.TensorProto.INT64: "int64"}
    inputs = {}
    for value in model.graph.input:
        tensor = value.type.tensor_type
        if tensor.elem_type not in types:
            raise UserError(f"{path}: input {value.name} is {onnx.TensorProto.DataType.Name(tensor.elem_type)}; the bench runs float32 activations only (fp32, q4)")
        inputs[value.name] = (types[tensor.elem_type], [d.dim_param or d.dim_value for d in tensor.shape.dim])
    return Graph(f"models/{variant.label}/{relative}", data_files, inputs, [o.name for o in model.graph.output])


def encoder_feeds(graph: Graph, samples: int) -> dict:
    """One chunk of noise and zero conv caches of the declared shapes (batch 1)."""
    feeds = {"audio_values": {"type": "float32", "dims": [1, samples], "fill": "random", "scale": 0.1}}
    for name, (kind, dims) in graph.inputs.items():
        if name.startswith("past_conv."):
            feeds[name] = {"type": kind, "dims": [1, *dims[1:]], "fill": "zeros"}
    return feeds


def decoder_feeds(graph: Graph, dims: contract.ModelDims, rows: int, past: int) -> dict:
    """`rows` new rows after `past` cached positions (random embeddings and cache values)."""
    feeds = {
        "inputs_embeds": {"type": "float32", "dims": [1, rows, dims.hidden_size], "fill": "random"},
        "attention_mask": {"type": "int64", "dims": [1, past + rows], "fill": "ones"},
        "position_ids": {"type": "int64", "dims": [1, rows], "fill": "range", "start": past},
        "num_logits_to_keep": {"type": "int64", "dims": [], "fill": "ones"},
    }
    for name in dims.kv_names("past_key_values"):
        feeds[name] = {"type": "float32", "dims": [1, dims.num_kv_heads, past, dims.head_dim], "fill": "random"}
    missing = set(graph.inputs) - set(feeds)
    if missing:
        raise UserError(f"{graph.url} has inputs the bench does not know: {sorted(missing)}")
    return feeds


class BenchPage:
    """bench.html in one Chromium page; collects the profiler's events, which onnxruntime-web logs to the console."""

    def __init__(self, page, device: str):
        self.page, self.device = page, device
        self.profile_lines: list[str] = []
        page.on("console", lambda message: message.text.startswith('{"cat"') and self.profile_lines.append(message.text))

    def call(self, method: str, *args):
        return self.page.evaluate(f"(args) => window.vibevoiceBench.{method}(...args)", list(args))

    def load(self, name: str, graph: Graph, profile: bool = False) -> dict:
        gpu_outputs = [o for o in graph.outputs if o.startswith("present.")]
        return self.call("load", name, graph.url, graph.data_files, gpu_outputs, profile)

    def profile_events(self, name: str) -> list[dict]:
        self.profile_lines.clear()
        self.call("endProfiling", name)
        self.page.wait_for_timeout(500)  # console messages arrive after the call returns
        return [json.loads(line.rstrip(",")) for line in self.profile_lines]


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def bench_variant(page: BenchPage, variant: Variant) -> dict:
    dims = contract.ModelDims.from_config(json.loads((variant.folder / contract.CONFIG).read_text()))
    encoder, decoder = read_graph(variant, "audio_encoder"), read_graph(variant, "decoder_model_merged")
    hop = dims.hop_length
    chunk = dims.chunk_size if variant.chunk_seconds is None else round(variant.chunk_seconds * contract.SAMPLE_RATE / hop) * hop
    other_chunk = max(hop, chunk // 2 // hop * hop)  # a shorter last chunk, as most clips end with
    r: dict = {"chunk_samples": chunk, "other_chunk_samples": other_chunk}
    tag = f"{page.device} {variant.label}"

    progress(f"{tag}: audio_encoder session")
    created = page.load("encoder", encoder)
    r["encoder_create_ms"] = created["ms"]
    progress(f"{tag}: audio_encoder {chunk / contract.SAMPLE_RATE:.2f} s chunk, cold (session created in {created['ms']:.0f} ms)")
    r["encoder_cold"] = page.call("run", "encoder", encoder_feeds(encoder, chunk))
    progress(f"{tag}: cold {r['encoder_cold']['ms']:.0f} ms, {r['encoder_cold']['programs']['pipelines']} programs; warm")
    warm = [page.call("run", "encoder", encoder_feeds(encoder, chunk)) for _ in range(2)]
    r["encoder_warm"] = min(warm, key=lambda run: run["ms"])
    r["encoder_warm_programs"] = sum(run["programs"]["pipelines"] for run in warm)
    progress(f"{tag}: warm {r['encoder_warm']['ms']:.0f} ms; a {other_chunk / contract.SAMPLE_RATE:.2f} s chunk")
    r["encoder_other_first"] = page.call("run", "encoder", encoder_feeds(encoder, other_chunk))
    r["encoder_other_warm"] = page.call("run", "encoder", encoder_feeds(encoder, other_chunk))
    page.call("release", "encoder")

    progress(f"{tag}: decoder session")
    r["decoder_create_ms"] = page.load("decoder", decoder)["ms"]
    progress(f"{tag}: prefill {PREFILL_ROWS} rows, cold")
    r["prefill_cold"] = page.call("run", "decoder", decoder_feeds(decoder, dims, PREFILL_ROWS, 0))
    r["prefill_warm"] = page.call("run", "decoder", decoder_feeds(decoder, dims, PREFILL_ROWS, 0))
    r["prefill_other_first"] = page.call("run", "decoder", decoder_feeds(decoder, dims, PREFILL_ROWS_OTHER, 0))
    progress(f"{tag}: prefill cold {r['prefill_cold']['ms']:.0f} ms, warm {r['prefill_warm']['ms']:.0f} ms")
    feedback = dict(zip(dims.kv_names("present"), dims.kv_names("past_key_values")))
    for past in DECODE_PASTS:
        progress(f"{tag}: decode {DECODE_STEPS} tokens after {past}")
        r[f"decode_{past}"] = page.call("decode", "decoder", decoder_feeds(decoder, dims, 1, past), feedback, DECODE_STEPS)
    page.call("release", "decoder")

    progress(f"{tag}: profiled sessions (operator times)")
    page.load("encoder-profiled", encoder, profile=True)
    r["encoder_profiled"] = [page.call("run", "encoder-profiled", encoder_feeds(encoder, chunk)) for _ in range(3)]
    r["encoder_profile"] = ort_profile.summarize(page.profile_events("encoder-profiled"), TOP_OPS)
    page.call("release", "encoder-profiled")
    page.load("decoder-profiled", decoder, profile=True)
    r["decoder_profiled"] = page.call("decode", "decoder-profiled", decoder_feeds(decoder, dims, 1, DECODE_PASTS[-1]), feedback, 4)
    r["decoder_profile"] = ort_profile.summarize(page.profile_events("decoder-profiled"), TOP_OPS)
    page.call("release", "decoder-profiled")
    return r


def warm_ms_per_token(calls: list[dict]) -> float:
    return statistics.median(call["ms"] for call in calls[1:])


def table(device: str, adapter: str, results: dict[str, dict]) -> str:
    labels = list(results)
    rows: list[tuple[str, list[str]]] = []

    def row(name, cell):
        rows.append((name, [cell(results[label]) for label in labels]))

    def programs(run):
        p = run["programs"]
        compile_ms = f", {p['asyncCompileMs'] / 1000:.1f} s compiling" if p["asyncCompileMs"] else ""
        return f"{p['pipelines']} ({p['newSources']} new WGSL{compile_ms})"

    seconds = lambda samples: samples / contract.SAMPLE_RATE  # noqa: E731
    row("session creation: audio_encoder / decoder (ms)", lambda r: f"{r['encoder_create_ms']:.0f} / {r['decoder_create_ms']:.0f}")
    row("encoder chunk (s of audio)", lambda r: f"{seconds(r['chunk_samples']):.2f}")
    row("first encoder chunk, cold (ms)", lambda r: f"{r['encoder_cold']['ms']:.0f}")
    row("same chunk, warm (ms)", lambda r: f"{r['encoder_warm']['ms']:.0f}")
    row("warm / cold", lambda r: f"{r['encoder_warm']['ms'] / r['encoder_cold']['ms']:.3f}")
    row("encoder ms per audio-second, warm", lambda r: f"{r['encoder_warm']['ms'] / seconds(r['chunk_samples']):.0f}")
    row(f"prefill {PREFILL_ROWS} rows, no past: cold / warm (ms)", lambda r: f"{r['prefill_cold']['ms']:.0f} / {r['prefill_warm']['ms']:.0f}")
    row("prefill tokens/s, warm", lambda r: f"{PREFILL_ROWS / r['prefill_warm']['ms'] * 1000:.0f}")
    for past in DECODE_PASTS:
        row(f"decode ms/token at past {past} (median of steps 2-{DECODE_STEPS}; step 1)",
            lambda r, past=past: f"{warm_ms_per_token(r[f'decode_{past}']):.1f} ({r[f'decode_{past}'][0]['ms']:.0f})")
    row(f"decode@{DECODE_PASTS[1]} / decode@{DECODE_PASTS[0]}",
        lambda r: f"{warm_ms_per_token(r[f'decode_{DECODE_PASTS[1]}']) / warm_ms_per_token(r[f'decode_{DECODE_PASTS[0]}']):.2f}")
    if device == "webgpu":
        row("programs compiled: encoder, first chunk", lambda r: programs(r["encoder_cold"]))
        row("  same chunk again (2 runs)", lambda r: str(r["encoder_warm_programs"]))
        row("  a chunk of another length, first run", lambda r: f"{programs(r['encoder_other_first'])}, {seconds(r['other_chunk_samples']):.2f} s: {r['encoder_other_first']['ms']:.0f} ms (then {r['encoder_other_warm']['ms']:.0f})")
        row("  a second session of the encoder, first chunk", lambda r: f"{programs(r['encoder_profiled'][0])}: {r['encoder_profiled'][0]['ms']:.0f} ms")
        row(f"programs compiled: decoder, prefill {PREFILL_ROWS} rows", lambda r: programs(r["prefill_cold"]))
        row(f"  prefill {PREFILL_ROWS_OTHER} rows after it", lambda r: programs(r["prefill_other_first"]))
        for past in DECODE_PASTS:
            row(f"  decode at past {past}: step 1 / steps 2-{DECODE_STEPS}",
                lambda r, past=past: f"{programs(r[f'decode_{past}'][0])} / {sum(c['programs']['pipelines'] for c in r[f'decode_{past}'][1:])}")
    gpu = lambda profile: f"{profile['gpu_ms']:.0f}" if profile["gpu_ms"] is not None else "no GPU times"  # noqa: E731
    row("profiled session, warm encoder chunk: wall / executor / GPU programs (ms)",
        lambda r: f"{statistics.mean(run['ms'] for run in r['encoder_profiled'][1:]):.0f} / {r['encoder_profile']['executor_ms']:.0f} / {gpu(r['encoder_profile'])}")
    row(f"profiled session, decode at past {DECODE_PASTS[-1]}: wall / executor / GPU programs (ms)",
        lambda r: f"{statistics.mean(call['ms'] for call in r['decoder_profiled'][1:]):.1f} / {r['decoder_profile']['executor_ms']:.1f} / {gpu(r['decoder_profile'])}")
    out = [f"### {device}: {adapter}", "", "| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    out += [f"| {name} | " + " | ".join(cells) + " |" for name, cells in rows]
    source = "sum of GPU timestamps per program" if device == "webgpu" else "CPU kernel time"
    for graph, key, what in (("audio_encoder", "encoder_profile", "a warm chunk"), ("decoder", "decoder_profile", f"a decode step at past ~{DECODE_PASTS[-1]}")):
        out += ["", f"Top {TOP_OPS} operators, {graph}, ms per run ({what}; {source}):", ""]
        out += ["| rank | " + " | ".join(labels) + " |", "|---|" + "---|" * len(labels)]
        for rank in range(TOP_OPS):
            cells = []
            for label in labels:
                ops = results[label][key]["ops"]
                cells.append(f"{ops[rank][0]} {ops[rank][1]:.2f}" if rank < len(ops) else ("no per-op times from this adapter" if not ops and rank == 0 else ""))
            out.append(f"| {rank + 1} | " + " | ".join(cells) + " |")
    return "\n".join(out)


@contextlib.contextmanager
def bench_page(server: Server, device: str):
    from playwright.sync_api import sync_playwright

    home = Path(os.environ.get("TEST_TMPDIR", tempfile.gettempdir())) / "bench-browser-chromium-home"
    home.mkdir(parents=True, exist_ok=True)
    args = [*CHROMIUM_ARGS, *(["--enable-unsafe-webgpu"] if device == "webgpu" else [])]
    with sync_playwright() as playwright:
        # a fresh profile each launch (Playwright's default): no shader cache from an earlier run
        browser = playwright.chromium.launch(executable_path=find_chromium(), headless=True, args=args, env={**os.environ, "HOME": str(home)})
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(server.url + f"bench.html?device={device}")
            page.wait_for_function("() => window.vibevoiceBench !== undefined", timeout=60_000)
            if errors:
                raise SystemExit(f"the bench page failed: {errors[0]}")
            yield BenchPage(page, device)
        finally:
            browser.close()


def adapter_name(page: BenchPage) -> str:
    if page.device == "wasm":
        return "onnxruntime-web's CPU build (ort-wasm-simd-threaded.wasm) in headless Chromium"
    report = page.call("adapter")
    if not report.get("available"):
        raise SystemExit(f"this Chromium offers no WebGPU adapter: {report.get('reason')}")
    fallback = " (fallback adapter)" if report.get("isFallbackAdapter") else ""
    return f"{report.get('vendor')} / {report.get('architecture')}{fallback} in headless Chromium, subgroups of {report.get('subgroupMinSize')}+ lanes, timestamp-query {'yes' if 'timestamp-query' in report['features'] else 'no'}"


def add_adapters_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--adapters", default=",".join(ADAPTERS), help="comma-separated subset of: " + ", ".join(ADAPTERS))


def chosen_adapters(parser: argparse.ArgumentParser, args: argparse.Namespace) -> list[str]:
    """--adapters as a list, or the parser's usage error."""
    adapters = [a.strip() for a in args.adapters.split(",") if a.strip()]
    if not adapters or set(adapters) - set(ADAPTERS):
        parser.error(f"--adapters {args.adapters!r}: choose from {', '.join(ADAPTERS)}")
    return adapters


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_adapters_argument(parser)
    parser.add_argument("--variants", default="tiny-fp32,tiny-q4", help="comma-separated subset of: tiny-fp32, tiny-q4")
    parser.add_argument("--bundle", type=Path, help="the web bundle (default: //web:bundle)")
    parser.add_argument("--fp32", type=Path, help="the tiny fp32 folder (default: //models:fp32)")
    parser.add_argument("--int4", type=Path, help="the tiny int4 folder (default: //models:int4)")
    parser.add_argument("--real-q4", type=Path, help="an int4 folder of a one-layer real-width model (WASM only)")
    parser.add_argument("--json", type=Path, help="also write every measurement here")
    args = parser.parse_args(argv)

    adapters = chosen_adapters(parser, args)
    tiny = {"tiny-fp32": ("fp32", args.fp32, "models/fp32"), "tiny-q4": ("q4", args.int4, "models/int4")}
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    if set(chosen) - set(tiny):
        parser.error(f"--variants {args.variants!r}: choose from {', '.join(tiny)}")
    variants = [Variant(label, Path(tiny[label][1] or runfiles.locate(tiny[label][2])), tiny[label][0]) for label in chosen]
    if args.real_q4:
        variants.append(Variant("real-1-layer-q4", args.real_q4, "q4", adapters=("wasm",), chunk_seconds=REAL_CHUNK_SECONDS))
    for variant in variants:
        if not (variant.folder / contract.CONFIG).is_file():
            raise UserError(f"{variant.folder} is not an artifact folder (no {contract.CONFIG}): pass one that export or quantize wrote")
    bundle = args.bundle or runfiles.locate("web/bundle")

    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as links:
        for variant in variants:
            (Path(links) / variant.label).symlink_to(variant.folder.resolve(), target_is_directory=True)
        with Server(bundle, links, extra_roots=[v.folder.resolve() for v in variants]) as server:
            for device in adapters:
                with bench_page(server, device) as page:
                    adapter = adapter_name(page)
                    progress(f"{device}: {adapter}; onnxruntime-web {page.page.inner_text('#ort-version')}")
                    measured = {}
                    for variant in variants:
                        if device not in variant.adapters:
                            progress(f"{device}: {variant.label} skipped: it runs on {', '.join(variant.adapters)} only (see --real-q4)")
                            continue
                        measured[variant.label] = bench_variant(page, variant)
                    results[device] = {"adapter": adapter, "variants": measured}
    for device, result in results.items():
        print("\n" + table(device, result["adapter"], result["variants"]))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except UserError as error:
        sys.exit(f"error: {error}")
