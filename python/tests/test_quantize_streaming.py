"""The streaming machinery: slab reads, damaged inputs, interrupted runs, bounded memory."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from vibevoice_asr_web.errors import UserError
from vibevoice_asr_web.quantize import int4
from vibevoice_asr_web.quantize.folder import quantize_folder
from vibevoice_asr_web.quantize.graph import convert_graph
from vibevoice_asr_web.onnx_io import DataChunks, load_graph
from vibevoice_asr_web.tensor_reader import BufferRing, SlabReader, pipelined
from vibevoice_asr_web.fixtures.synthetic_graphs import write_matmul_chain


@pytest.fixture()
def small_graph(tmp_path):
    path = tmp_path / "model.onnx"
    write_matmul_chain(path, [(64, 96), (96, 40)], seed=3)
    return path


def test_reader_reads_rows_columns_and_flat_slabs_exactly(small_graph):
    model, sources = load_graph(small_graph)
    full = numpy_helper.to_array(onnx.load(str(small_graph)).graph.initializer[0])
    source = sources["layers.0.weight"]
    with SlabReader() as reader:
        np.testing.assert_array_equal(reader.read_rows(source, 5, 9), full[5:9])
        np.testing.assert_array_equal(reader.read_columns(source, 17, 40), full[:, 17:40])
        np.testing.assert_array_equal(reader.read_flat(source, 100, 333), full.reshape(-1)[100:333])
        ring = BufferRing(96 * 4 * 10)  # 10 rows a slab, read one slab ahead
        tasks = [(lambda buffer, r=r: reader.read_rows(source, r, min(r + 10, 64), buffer).copy()) for r in range(0, 64, 10)]
        np.testing.assert_array_equal(np.concatenate(list(pipelined(tasks, ring))), full)
        assert ring.count_free == 2


def test_truncated_data_file_is_reported_before_any_work(small_graph, tmp_path):
    data = tmp_path / "model.onnx_data"
    with open(data, "r+b") as f:
        f.truncate(data.stat().st_size - 100)
    with pytest.raises(UserError, match=r"model\.onnx_data is truncated: it is [\d,]+ bytes but initializer layers\.1\.weight needs bytes"):
        convert_graph(small_graph, tmp_path / "out.onnx", "q4")
    data.unlink()
    with pytest.raises(UserError, match=r"model\.onnx_data is missing"):
        load_graph(small_graph)


def test_data_outside_the_graph_folder_is_refused(tmp_path):
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[2, 2], data_location=TensorProto.EXTERNAL)
    for key, value in (("location", "../elsewhere.bin"), ("offset", "0"), ("length", "16")):
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph([], "g", [], [helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 2])], initializer=[tensor])
    (tmp_path / "m").mkdir()
    model = helper.make_model(graph)
    model.ir_version = 10
    onnx.save_model(model, str(tmp_path / "m" / "model.onnx"))
    with pytest.raises(UserError, match="outside the graph's folder"):
        load_graph(tmp_path / "m" / "model.onnx")


def test_data_chunks_align_split_and_refuse_as_the_layout_says(tmp_path):
    """The one chunk layout (export and quantize): 64 B for small tensors, a page from 1 MiB, a new
    chunk before the limit would be crossed, and a tensor over the limit refused or alone."""
    chunks = DataChunks(tmp_path, "g.onnx", max_chunk_bytes=3 << 20)
    small, large, after, next_chunk = (chunks.reserve(n, f"t{i}") for i, n in enumerate([100, 1 << 20, 200, 2 << 20]))
    assert (small.location, small.offset) == ("g.onnx_data", 0)
    assert large.offset == 4096 and after.offset == 4096 + (1 << 20)  # 4096 + 1 MiB is a multiple of 64
    assert (next_chunk.location, next_chunk.offset) == ("g.onnx_data_1", 0)
    with pytest.raises(UserError, match="more than one data chunk may hold"):
        chunks.reserve((3 << 20) + 1, "huge")
    chunks.allow_oversize = True
    alone = chunks.reserve((3 << 20) + 1, "huge")
    follows = chunks.reserve(100, "t5")
    assert (alone.location, alone.offset, follows.location) == ("g.onnx_data_2", 0, "g.onnx_data_3")
    for region in (small, large, after, next_chunk, alone, follows):
        region.write(np.full(region.length, 7, np.uint8))
    chunks.close()
    chunks.check_sizes()
    assert chunks.tensor_bytes == 100 + (1 << 20) + 200 + (2 << 20) + (3 << 20) + 1 + 100
    assert [(tmp_path / f).stat().st_size for f in chunks.files] == [4096 + (1 << 20) + 200, 2 << 20, (3 << 20) + 1, 100]


def _looks_complete(path) -> bool:
    return path.exists() and (path / "manifest.json").exists()


def test_interrupted_run_leaves_nothing_and_a_rerun_succeeds(fp32_artifacts, tmp_path, monkeypatch):
    out = tmp_path / "int4"
    calls = {"n": 0}
    real = int4.quantize_tile

    def interrupted(tile, block_size):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return real(tile, block_size)

    monkeypatch.setattr(int4, "quantize_tile", interrupted)
    with pytest.raises(KeyboardInterrupt):
        quantize_folder(fp32_artifacts, out, "q4,q4f16", validate=False, progress=_quiet())
    assert calls["n"] == 5
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".int4")]  # the partial folder went too
    monkeypatch.setattr(int4, "quantize_tile", real)
    quantize_folder(fp32_artifacts, out, "q4,q4f16", validate=False, progress=_quiet())
    assert _looks_complete(out)


def test_killed_run_leaves_only_a_hidden_partial_that_the_rerun_removes(fp32_artifacts, tmp_path):
    out = tmp_path / "fp16"
    script = textwrap.dedent(f"""
        import os, signal
        from vibevoice_asr_web.quantize import transforms
        from vibevoice_asr_web.quantize.folder import quantize_folder
        from vibevoice_asr_web.progress import Progress
        real = transforms.to_float16
        def crash(values, transform):
            os.kill(os.getpid(), signal.SIGKILL)  # a crash (OOM killer, power cut) in the middle of a tensor
        transforms.to_float16 = crash
        quantize_folder({str(fp32_artifacts)!r}, {str(out)!r}, "fp16", validate=False, progress=Progress(quiet=True))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert not out.exists()
    leftovers = [p for p in tmp_path.iterdir() if p.name.startswith(".fp16.partial-")]
    assert len(leftovers) == 1 and not (leftovers[0] / "manifest.json").exists()
    quantize_folder(fp32_artifacts, out, "fp16", validate=False, progress=_quiet())
    assert _looks_complete(out)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".fp16.partial-")]


def _quiet():
    from vibevoice_asr_web.progress import Progress

    return Progress(quiet=True)


MEMORY_PROBE = """
import json, sys
import numpy as np
from vibevoice_asr_web.quantize import int4
from vibevoice_asr_web.quantize.graph import QuantizeOptions, convert_graph

def hwm_mib():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

int4.quantize_tile(np.ones((64, 8), np.float32), 32)  # loads onnxruntime's kernel: part of the baseline
baseline = hwm_mib()
convert_graph(sys.argv[1], sys.argv[2], sys.argv[3], QuantizeOptions(slab_bytes=int(sys.argv[4])))
print(json.dumps({"baseline_mib": baseline, "peak_mib": hwm_mib()}))
"""


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="VmHWM is read from /proc (Linux)")
@pytest.mark.parametrize("dtype", ["q4", "fp16"])
def test_peak_memory_stays_far_below_the_tensor_size(tmp_path, dtype):
    """One 201 MB tensor (the [K, N] layout: strided column reads), 8 MB slabs: the quantizer's own
    peak (above the interpreter + onnxruntime baseline) must stay far below the tensor's size."""
    source = tmp_path / "model.onnx"
    tensor_bytes = write_matmul_chain(source, [(3584, 14020)])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    result = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, str(source), str(tmp_path / "out.onnx"), dtype, str(8 << 20)],
        env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    memory = json.loads(result.stdout.strip().splitlines()[-1])
    grown = memory["peak_mib"] - memory["baseline_mib"]
    print(f"{dtype}: baseline {memory['baseline_mib']:.0f} MiB, peak {memory['peak_mib']:.0f} MiB, tensor {tensor_bytes / 2**20:.0f} MiB")
    assert grown < tensor_bytes / 2**20 / 4, memory  # holding the tensor (or its fp16 copy) would cost >= 100 MiB
    assert (tmp_path / "out.onnx").is_file()
