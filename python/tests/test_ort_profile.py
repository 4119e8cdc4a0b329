"""onnxruntime profiles summed per run (tools/bench/browser.py's operator tables): the first run is
left out, GPU events are split into runs by count, and a profile that cannot be split is refused."""

from __future__ import annotations

import pytest

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.runtime import ort_profile


def execute(ts: int, dur: int) -> dict:
    return {"cat": "Session", "name": "SequentialExecutor::Execute", "ts": ts, "dur": dur}


def gpu_program(ts: int, dur: int, op: str) -> dict:
    # the WebGPU EP names a program's timestamp event node&OpType&Program; its clock runs after the executor's
    return {"cat": "Api", "name": f"node_{op.lower()}&{op}&{op}Program", "ts": ts, "dur": dur, "args": {}}


def cpu_kernel(ts: int, dur: int, op: str) -> dict:
    return {"cat": "Node", "name": f"node_{op.lower()}_kernel_time", "ts": ts, "dur": dur, "args": {"op_name": op}}


def test_gpu_times_leave_out_the_first_run_and_rank_operators():
    events = [execute(0, 5_000), execute(10_000, 2_000), execute(20_000, 4_000)]
    # first run: a slow Transpose that must not count; then two runs of the same two programs
    events += [gpu_program(1_000, 900_000, "Transpose"), gpu_program(2_000, 10_000, "MatMul")]
    events += [gpu_program(30_000, 3_000, "Transpose"), gpu_program(31_000, 8_000, "MatMul")]
    events += [gpu_program(40_000, 5_000, "Transpose"), gpu_program(41_000, 12_000, "MatMul")]
    events += [cpu_kernel(10_500, 70_000, "Shape")]  # a CPU node: ignored where GPU times exist
    summary = ort_profile.summarize(events)
    assert summary["ops"] == [("MatMul", 10.0), ("Transpose", 4.0)]
    assert summary["gpu_ms"] == 14.0
    assert summary["executor_ms"] == 3.0


def test_cpu_kernel_times_leave_out_the_first_run_and_keep_the_top():
    events = [execute(0, 1_000), execute(2_000, 1_000)]
    events += [cpu_kernel(100, 50_000, "Erf")]  # inside the first run
    events += [cpu_kernel(2_100, 300, "Erf"), cpu_kernel(2_400, 500, "Conv"), cpu_kernel(2_900, 100, "Add")]
    summary = ort_profile.summarize(events, top=2)
    assert summary["ops"] == [("Conv", 0.5), ("Erf", 0.3)]
    assert summary["gpu_ms"] is None
    assert summary["executor_ms"] == 1.0


def test_a_profile_of_one_run_is_refused():
    with pytest.raises(UserError, match="holds 1 runs; expected a warm-up run and at least one more"):
        ort_profile.summarize([execute(0, 1_000), cpu_kernel(10, 5, "Add")])


def test_runs_that_dispatched_different_programs_are_refused():
    events = [execute(0, 1_000), execute(2_000, 1_000)]
    events += [gpu_program(3_000, 10, "Add"), gpu_program(3_100, 10, "Add"), gpu_program(3_200, 10, "Mul")]
    with pytest.raises(UserError, match="3 GPU events in 2 runs"):
        ort_profile.summarize(events)


def test_gpu_times_by_program_split_one_operator_into_its_programs():
    def attention(ts: int, dur: int, program: str) -> dict:
        return {"cat": "Api", "name": f"attention&GroupQueryAttention&{program}", "ts": ts, "dur": dur, "args": {}}

    events = [execute(0, 1_000), execute(10_000, 1_000)]
    events += [attention(1_000, 50_000, "CopyKVCache"), attention(2_000, 90_000, "DecodeQKV")]
    events += [attention(11_000, 1_000, "CopyKVCache"), attention(12_000, 7_000, "DecodeQKV")]
    assert ort_profile.summarize(events)["ops"] == [("GroupQueryAttention", 8.0)]
    assert ort_profile.summarize(events, by_program=True)["ops"] == [("DecodeQKV", 7.0), ("CopyKVCache", 1.0)]
