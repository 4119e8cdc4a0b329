"""Which Conv shapes onnxruntime-web's WebGPU EP gets wrong, against onnxruntime CPU (issue 14).

Writes single-Conv graphs (vibevoice_asr_web.fixtures.conv_graphs.build_conv: 1-D, seeded weights and
bias, symbolic length) into one served temp folder, runs them all in ONE headless-Chromium page on
WebGPU through the bundle's diagnostics page (window.vibevoiceDiagnostics.runGraph), compares each
output with onnxruntime CPU in Python and prints a table, then the verdict per class. Every case
carries the prediction of vibevoice_asr_web.export.conv_workaround.webgpu_miscomputes (the exact
conditions found), and every case the rewrite touches is run again rewritten by
conv_workaround.rewrite_webgpu_convs: it must equal the original graph on onnxruntime CPU within
1e-6 and match it on WebGPU within 1e-5. The exit status is 1 if a prediction or a rewrite fails.

To spare SwiftShader (each session compiles its shaders again), `--pack N` (default 8) puts N
independent Convs in one graph, each with its own input, weights, output and dim names; `--pack 1`
runs strictly one Conv per graph. The verdicts are the same either way (measured: 154 of 154).
Findings: tools/bench/conv_findings.md.

    ./bazelw run //tools/bench:conv_sweep -- [--sets channels,kernel_stride,...] [--pack 8] [--json out.json]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import onnx
import onnxruntime

from vibevoice_asr_web import runfiles

from vibevoice_asr_web.fixtures import conv_graphs
from vibevoice_asr_web.chromium import CHROMIUM_ARGS, find_chromium
from vibevoice_asr_web.export import conv_workaround
from vibevoice_asr_web.serve import Server

WRONG = 1e-4  # right answers differ by <= 2e-6 here; wrong ones by 0.1 to 10
WORKAROUND_WEBGPU_TOL = 1e-5
WORKAROUND_CPU_TOL = 1e-6

@dataclasses.dataclass(frozen=True)
class Case:
    c_in: int
    c_out: int
    kernel: int
    stride: int = 1
    group: int = 1
    pads: tuple[int, int] = (0, 0)
    dilation: int = 1
    length: int = 37
    batch: int = 1

    def label(self) -> str:
        return (
            f"{self.c_in:>3}->{self.c_out:<3} k{self.kernel:<2} s{self.stride} g{self.group:<3} "
            f"p{self.pads[0]},{self.pads[1]} d{self.dilation} L{self.length:<4} b{self.batch}"
        )

    def build_kwargs(self) -> dict:
        return dict(c_in=self.c_in, c_out=self.c_out, kernel=self.kernel, stride=self.stride, group=self.group,
                    pads=self.pads, dilation=self.dilation, length="length")

    def predicted_wrong(self, length_known: bool = True) -> bool:
        """conv_workaround's prediction, knowing this case's length (as the browser does) or not (as
        the rewrite, which sees the graph's symbolic length, does)."""
        return conv_workaround.webgpu_miscomputes(
            self.c_in, self.c_out, self.group, [self.kernel], [self.stride], list(self.pads), [self.length] if length_known else None
        )

    def path(self) -> str:
        return conv_workaround.webgpu_conv_path(self.group, [self.kernel], [self.stride], list(self.pads), [self.length])

    def input(self, seed: int) -> np.ndarray:
        return np.random.default_rng(1000 + seed).standard_normal((self.batch, self.c_in, self.length)).astype(np.float32)


def case_sets() -> dict[str, list[Case]]:
    """The sweep, in sets. Full grids would be thousands of sessions; each set varies a few factors
    around shapes known right (5->10, 8->16) and wrong (6->12) so each factor's effect is visible."""
    sets: dict[str, list[Case]] = {}
    channels = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 16, 18, 24]
    sets["channels"] = sorted(
        {Case(ci, co, 4, 2) for ci in channels for co in (ci, 2 * ci, 4, 7, 12)},
        key=lambda c: (c.c_in, c.c_out),
    )
    kernel_stride = []
    for ci, co in ((6, 12), (9, 12)):
        kernel_stride += [Case(ci, co, k, s, length=61) for k in (1, 2, 3, 4, 7, 16) for s in (1, 2, 4, 8)]
    for ci, co in ((5, 10), (8, 16), (3, 12)):
        kernel_stride += [Case(ci, co, k, s, length=61) for k in (1, 4, 16) for s in (1, 8)]
    sets["kernel_stride"] = kernel_stride
    pad_dil_len = []
    for ci, co in ((6, 12), (8, 16), (3, 12)):
        pad_dil_len += [Case(ci, co, 4, 1, pads=p, dilation=d) for p in ((0, 0), (3, 0), (1, 2)) for d in (1, 2)]
        pad_dil_len += [Case(ci, co, 4, 1, length=n) for n in (4, 5, 1001, 4097)]
        pad_dil_len += [Case(ci, co, 1, 1, pads=(1, 1)), Case(ci, co, 4, 2, batch=2)]
    sets["pad_dilation_length"] = pad_dil_len
    grouped = [Case(c, c, 7, 1, group=c, pads=(6, 0)) for c in (1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 24)]
    grouped += [Case(c, 2 * c, 3, 1, group=c, pads=(2, 0)) for c in (3, 4, 6)]
    grouped += [Case(ci, co, 4, 2, group=g) for ci, co, g in ((6, 12, 2), (6, 12, 3), (12, 24, 3), (12, 12, 4), (8, 16, 2), (18, 24, 2), (18, 36, 6))]
    # 1 < group: per-group outputs >= 4 and not a multiple of GetMaxComponents(C_out), or they are
    grouped += [Case(ci, co, 4, 2, group=g) for ci, co, g in (
        (10, 10, 2), (10, 20, 2), (4, 12, 2), (2, 10, 2), (4, 24, 4), (12, 36, 6), (20, 20, 4), (12, 30, 6),
        (6, 18, 3), (4, 8, 2), (3, 15, 3), (8, 8, 2), (6, 24, 3), (9, 18, 3), (16, 48, 4))]
    grouped += [Case(6, 12, 3, 1, group=2, pads=(2, 0)), Case(4, 12, 1, 1, group=2), Case(4, 12, 7, 1, group=2, pads=(6, 0), length=1001)]
    sets["grouped"] = grouped
    # Around the boundary of the condition found: C_in a multiple of 3 and not of 4, C_out a multiple of 4.
    targeted = [Case(ci, co, 3, 1, pads=(1, 1)) for ci in (3, 6, 9, 15, 21, 27, 33) for co in (4, 8, 20)]
    targeted += [Case(ci, co, 3, 1, pads=(1, 1)) for ci, co in ((6, 6), (9, 9), (6, 10), (6, 14), (18, 18), (21, 30))]
    targeted += [Case(105, 112, 3, 1, pads=(1, 1)), Case(96, 112, 3, 1, pads=(1, 1)), Case(99, 128, 4, 2), Case(30, 64, 4, 2)]
    targeted += [Case(6, 12, 1, 2), Case(6, 12, 1, 1, pads=(0, 1)), Case(9, 16, 1, 1), Case(6, 8, 2, 1, length=2)]
    sets["targeted"] = targeted
    # A second bug: the 1x1 (or kernel == length) MatMul shortcut checks only the HEAD pads.
    tail = [Case(ci, co, 1, 1, pads=p) for ci, co in ((8, 16), (5, 10), (6, 12), (1, 4)) for p in ((0, 1), (0, 3), (1, 0), (1, 1))]
    tail += [Case(8, 16, 1, 2, pads=(0, 1)), Case(8, 16, 1, 1, pads=(0, 1), dilation=2), Case(8, 16, 1, 1, pads=(0, 1), batch=2)]
    tail += [Case(ci, co, 4, 1, pads=p, length=4) for ci, co in ((8, 16), (5, 10)) for p in ((0, 0), (0, 2), (2, 0))]
    tail += [Case(8, 16, 3, 1, pads=(0, 2)), Case(5, 10, 3, 1, pads=(0, 2))]
    sets["tail_pad"] = tail
    return sets


@contextlib.contextmanager
def diagnostics_page(bundle: Path, model_dir: Path):
    """One page of diagnostics.html on WebGPU, served with `model_dir` at /models/."""
    from playwright.sync_api import sync_playwright

    home = Path(os.environ.get("TEST_TMPDIR", tempfile.gettempdir())) / "conv-sweep-chromium-home"
    home.mkdir(parents=True, exist_ok=True)
    with Server(bundle, model_dir) as server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=find_chromium(), headless=True, args=[*CHROMIUM_ARGS, "--enable-unsafe-webgpu"], env={**os.environ, "HOME": str(home)}
        )
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(server.url + "diagnostics.html")
            page.wait_for_function("() => window.vibevoiceDiagnostics !== undefined", timeout=60_000)
            adapter = page.evaluate("() => window.vibevoiceDiagnostics.adapter()")
            if not adapter.get("available"):
                raise SystemExit(f"this Chromium offers no WebGPU adapter: {adapter.get('reason')}")
            yield page, adapter
        finally:
            browser.close()


RUN_JS = """async ([url, feeds]) => {
  const started = performance.now();
  const run = await window.vibevoiceDiagnostics.runGraph(url, feeds, 'webgpu');
  return {outputs: run.outputs, webgpu: run.webgpuDeviceCreated, ms: performance.now() - started};
}"""


def merge(models: list[onnx.ModelProto]) -> onnx.ModelProto:
    """Independent graphs side by side in one model: graph i's names get the prefix `c{i}_`."""
    prefixed = [onnx.compose.add_prefix(m, f"c{i}_") for i, m in enumerate(models)]
    for i, model in enumerate(prefixed):
        # add_prefix keeps dim names: shared names would tell onnxruntime that different lengths are one
        for value in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
            for dim in value.type.tensor_type.shape.dim:
                if dim.HasField("dim_param"):
                    dim.dim_param = f"c{i}_{dim.dim_param}"
    graph = onnx.helper.make_graph(
        [n for m in prefixed for n in m.graph.node],
        "conv_sweep",
        [v for m in prefixed for v in m.graph.input],
        [v for m in prefixed for v in m.graph.output],
        initializer=[t for m in prefixed for t in m.graph.initializer],
    )
    merged = onnx.helper.make_model(graph, opset_imports=list(models[0].opset_import))
    merged.ir_version = models[0].ir_version
    return merged


@dataclasses.dataclass
class Job:
    """One graph to run: the original, or its rewrite (`rewritten`)."""

    case: Case
    index: int
    model: onnx.ModelProto
    rewritten: bool
    x: np.ndarray
    expected: np.ndarray  # onnxruntime CPU on the ORIGINAL graph
    cpu_diff: float = 0.0  # onnxruntime CPU, this graph vs the original
    webgpu_diff: float | None = None
    error: str | None = None


def cpu_run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return session.run(None, {conv_graphs.CONV_INPUT_NAME: x})[0]


def run_pack(page, model_dir: Path, jobs: list[Job], pack_id: int) -> float:
    name = f"pack{pack_id}.onnx"
    onnx.save(merge([j.model for j in jobs]), str(model_dir / name))
    feeds = {
        f"c{i}_{conv_graphs.CONV_INPUT_NAME}": {"type": "float32", "dims": list(j.x.shape), "data": j.x.ravel().tolist()}
        for i, j in enumerate(jobs)
    }
    result = page.evaluate(RUN_JS, [f"models/{name}", feeds])
    if not result["webgpu"]:
        raise SystemExit("the session did not create a WebGPU device: this would not test WebGPU")
    for i, job in enumerate(jobs):
        y = result["outputs"][f"c{i}_{conv_graphs.CONV_OUTPUT_NAME}"]
        got = np.asarray(y["data"], dtype=np.float32).reshape(y["dims"])
        if got.shape != job.expected.shape:
            job.error = f"shape {got.shape}, expected {job.expected.shape}"
        else:
            job.webgpu_diff = float(np.max(np.abs(got - job.expected)))
    return result["ms"]


def run_jobs(page, model_dir: Path, jobs: list[Job], pack: int, counter: list[int]) -> None:
    for start in range(0, len(jobs), pack):
        chunk = jobs[start:start + pack]
        counter[0] += 1
        try:
            run_pack(page, model_dir, chunk, counter[0])
        except Exception as error:  # noqa: BLE001 - one failing Conv must not hide the rest: retry one by one
            print(f"  session {counter[0]} ({len(chunk)} graphs) failed: {str(error).splitlines()[0][:300]}", file=sys.stderr, flush=True)
            if len(chunk) == 1:
                chunk[0].error = str(error).splitlines()[0][:200]
            else:
                run_jobs(page, model_dir, chunk, 1, counter)


def make_jobs(cases: list[Case], rewrite_all: bool) -> tuple[list[Job], list[Job]]:
    originals, rewrites = [], []
    for index, case in enumerate(cases):
        model = conv_graphs.build_conv(**case.build_kwargs(), seed=index)
        x = case.input(index)
        expected = cpu_run(model, x)
        originals.append(Job(case, index, model, False, x, expected))
        rewritten = conv_workaround.rewrite_webgpu_convs(model)
        changed = len(rewritten.graph.node) != len(model.graph.node)
        if changed != case.predicted_wrong(length_known=False):
            raise SystemExit(f"rewrite_webgpu_convs and webgpu_miscomputes disagree on {case.label()}")
        if changed or rewrite_all:
            job = Job(case, index, rewritten, True, x, expected)
            job.cpu_diff = float(np.max(np.abs(cpu_run(rewritten, x) - expected)))
            rewrites.append(job)
    return originals, rewrites


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1e}"


def class_of(case: Case) -> str:
    if case.group != 1:
        if case.c_out == case.group:
            return "1 < group, one output channel per group (depthwise)"
        per_group = case.c_out // case.group
        if per_group >= 4 and per_group % conv_workaround.max_components(case.c_out) != 0:
            return "1 < group, C_out/group >= 4, (C_out/group) % GetMaxComponents(C_out) != 0"
        return "1 < group, other"
    if case.path() == "matmul":
        return f"group 1, MatMul shortcut (k1 s1 or k == L; head pad 0), {'tail pad > 0' if case.pads[1] else 'no tail pad'}"
    ci = "C_in%4==0" if case.c_in % 4 == 0 else ("C_in==3" if case.c_in == 3 else ("C_in%3==0 >3" if case.c_in % 3 == 0 else "C_in%3,4!=0"))
    co = "C_out%4==0" if case.c_out % 4 == 0 else "C_out%4!=0"
    return f"group 1, Conv2dMM, {ci}, {co}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(case_sets()), help="comma-separated subset of: " + ", ".join(case_sets()))
    parser.add_argument("--pack", type=int, default=8, help="Convs per graph (1: one Conv per graph)")
    parser.add_argument("--rewrite-all", action="store_true", help="run every case's rewrite too (unaffected ones are unchanged)")
    parser.add_argument("--json", type=Path, help="also write every result here")
    parser.add_argument("--bundle", type=Path, help="the web bundle (default: //web:bundle)")
    args = parser.parse_args(argv)

    sets = case_sets()
    chosen = [s.strip() for s in args.sets.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in sets]
    if unknown:
        parser.error(f"unknown sets {unknown}; choose from {list(sets)}")
    cases, set_of = [], {}
    for name in chosen:
        for case in sets[name]:
            if case not in set_of:
                set_of[case] = name
                cases.append(case)
    bundle = args.bundle or runfiles.locate("web/bundle")
    started = time.perf_counter()
    originals, rewrites = make_jobs(cases, args.rewrite_all)
    print(f"{len(cases)} cases ({len(rewrites)} rewrites) in sets {chosen}; graphs built and run on onnxruntime "
          f"{onnxruntime.__version__} CPU in {time.perf_counter() - started:.1f} s", flush=True)

    with tempfile.TemporaryDirectory(prefix="conv-sweep-") as folder, diagnostics_page(bundle, Path(folder)) as (page, adapter):
        version = page.evaluate("() => document.getElementById('ort-version').textContent")
        print(f"adapter: {adapter.get('vendor')} / {adapter.get('architecture')}"
              f"{' (fallback adapter)' if adapter.get('isFallbackAdapter') else ''}; onnxruntime-web {version}", flush=True)
        counter = [0]
        run_started = time.perf_counter()
        run_jobs(page, Path(folder), originals + rewrites, max(1, args.pack), counter)
        print(f"{len(originals) + len(rewrites)} graphs in {counter[0]} sessions on WebGPU in {time.perf_counter() - run_started:.1f} s\n")

    rewrite_of = {job.index: job for job in rewrites}
    header = f"{'set':<20} {'case':<44} {'webgpu |d|':>10}  {'wrong':<5} {'pred.':<5} {'rewrite: webgpu |d|':>19} {'cpu |d|':>8}"
    print(header)
    print("-" * len(header))
    disagreements, rewrite_failures, classes = [], [], defaultdict(lambda: [0, 0])
    for job in originals:
        wrong = job.error is not None or (job.webgpu_diff is not None and job.webgpu_diff > WRONG)
        predicted = job.case.predicted_wrong()
        if wrong != predicted:
            disagreements.append(job)
        classes[class_of(job.case)][0] += wrong
        classes[class_of(job.case)][1] += 1
        rewrite = rewrite_of.get(job.index)
        if rewrite and (rewrite.error or rewrite.webgpu_diff is None or rewrite.webgpu_diff > WORKAROUND_WEBGPU_TOL or rewrite.cpu_diff > WORKAROUND_CPU_TOL):
            rewrite_failures.append(rewrite)
        print(
            f"{set_of[job.case]:<20} {job.case.label():<44} {fmt(job.webgpu_diff) if not job.error else 'ERROR':>10}  "
            f"{'WRONG' if wrong else 'ok':<5} {'wrong' if predicted else 'ok':<5} "
            f"{(fmt(rewrite.webgpu_diff) if not rewrite.error else 'ERROR') if rewrite else '':>19} {fmt(rewrite.cpu_diff) if rewrite else '':>8}"
            + (f"  {job.error}" if job.error else "")
        )
    print("\nby class (wrong / cases):")
    for name, (bad, total) in sorted(classes.items()):
        print(f"  {bad:>3} / {total:<3} {name}")
    good = [j.webgpu_diff for j in originals if j.webgpu_diff is not None and j.webgpu_diff <= WRONG]
    bad = [j.webgpu_diff for j in originals if j.webgpu_diff is not None and j.webgpu_diff > WRONG]
    if good:
        print(f"right cases: max |d| {max(good):.1e}")
    if bad:
        print(f"wrong cases: |d| from {min(bad):.2g} to {max(bad):.2g}")
    if rewrites:
        print(f"rewrites: webgpu vs CPU(original) max |d| {max(j.webgpu_diff or 0 for j in rewrites):.1e}, "
              f"CPU(rewrite) vs CPU(original) max |d| {max(j.cpu_diff for j in rewrites):.1e}")
    print(f"prediction (conv_workaround.webgpu_miscomputes) agrees on {len(originals) - len(disagreements)} / {len(originals)} cases")
    for job in disagreements:
        print(f"  DISAGREES: {job.case.label()} webgpu |d| {fmt(job.webgpu_diff)} {job.error or ''}")
    for job in rewrite_failures:
        print(f"  REWRITE FAILS: {job.case.label()} webgpu |d| {fmt(job.webgpu_diff)} cpu |d| {fmt(job.cpu_diff)} {job.error or ''}")
    if args.json:
        rows = [
            {**dataclasses.asdict(j.case), "set": set_of[j.case], "rewritten": j.rewritten, "webgpu_max_abs_diff": j.webgpu_diff,
             "cpu_max_abs_diff": j.cpu_diff, "error": j.error, "predicted_wrong": j.case.predicted_wrong()}
            for j in originals + rewrites
        ]
        args.json.write_text(json.dumps({"onnxruntime_web": version, "adapter": adapter, "results": rows}, indent=1))
    return 1 if disagreements or rewrite_failures else 0


if __name__ == "__main__":
    sys.exit(main())
