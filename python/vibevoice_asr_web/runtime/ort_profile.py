"""onnxruntime's profiler events (the Chrome-trace JSON it writes, or onnxruntime-web logs to the
console) summed per run: which operators took the time, and how much was the executor's own."""

from __future__ import annotations

import statistics
from collections import defaultdict

from vibevoice_asr_web.errors import UserError


def summarize(events: list[dict], top: int = 10, by_program: bool = False) -> dict:
    """Per run of a profiled session, leaving out its first (which pays one-time costs): the `top`
    operator types by time (ms), the executor's time (the CPU side: kernels enqueued on WebGPU, run
    on CPU EPs) and, where the WebGPU EP logged GPU timestamps ('Api' events), their sum.

    A GPU program ends after the executor has moved on, so GPU events are split into runs by count:
    every run must dispatch the same programs (the same graph on the same shapes). `by_program` sums
    GPU time per WebGPU program (an operator may run several) instead of per operator type."""
    runs = sorted((e["ts"], e["dur"]) for e in events if e.get("cat") == "Session" and e.get("name", "").endswith("::Execute"))
    if len(runs) < 2:
        raise UserError(f"the profile holds {len(runs)} runs; expected a warm-up run and at least one more: run the session twice before ending its profiling")
    measured_runs = len(runs) - 1
    gpu = sorted((e for e in events if e.get("cat") == "Api" and "&" in e.get("name", "")), key=lambda e: e["ts"])
    totals: dict[str, float] = defaultdict(float)
    if gpu:
        per_run, left = divmod(len(gpu), len(runs))
        if left:
            raise UserError(f"{len(gpu)} GPU events in {len(runs)} runs: the runs dispatched different programs; profile runs of one shape only")
        for event in gpu[per_run:]:
            totals[event["name"].split("&")[2 if by_program else 1]] += event["dur"] / 1000  # node&OpType&Program
    else:
        first_end = runs[0][0] + runs[0][1]
        for event in events:
            if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time") and event["ts"] > first_end:
                totals[event["args"].get("op_name", "?")] += event["dur"] / 1000
    ops = sorted(((op, ms / measured_runs) for op, ms in totals.items()), key=lambda item: -item[1])
    return {
        "ops": ops[:top],
        "executor_ms": statistics.mean(dur / 1000 for _, dur in runs[1:]),
        "gpu_ms": sum(ms for _, ms in ops) if gpu else None,
    }
