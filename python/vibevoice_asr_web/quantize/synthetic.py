"""Large synthetic fp32 graphs (a chain of MatMuls), written slab by slab, for the quantizer's
benchmark and memory test: their size is whatever the caller asks, their builder's memory is not."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper

from vibevoice_asr_web.onnx_io import chunk_file_name

# Qwen2.5-7B (the VibeVoice-ASR decoder): hidden 3584, MLP 18944, vocab 152064
HIDDEN, INTERMEDIATE, VOCAB = 3584, 18944, 152064
LAYER = [(HIDDEN, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, INTERMEDIATE), (INTERMEDIATE, HIDDEN)]  # q, o, up, down
ALIGN = 4096


def vibevoice_shapes(total_bytes: int) -> list[tuple[int, int]]:
    """MatMul weights [K, N] of about `total_bytes` fp32: layers of q/o/up/down projections that chain,
    then an lm_head-like [3584, V] with what is left (at least 40%, V at most 152064)."""
    head_cols = min(VOCAB, max(HIDDEN, int(0.4 * total_bytes / 4 / HIDDEN)))
    shapes: list[tuple[int, int]] = []
    budget = total_bytes - HIDDEN * head_cols * 4
    layer_bytes = [k * n * 4 for k, n in LAYER]
    while budget >= layer_bytes[0]:
        for (k, n), size in zip(LAYER, layer_bytes):
            if budget < size or (n != HIDDEN and budget < size + layer_bytes[-1]):
                break  # an up projection needs its down projection to chain back to the hidden size
            shapes.append((k, n))
            budget -= size
        else:
            continue
        break
    while budget >= layer_bytes[0] and head_cols == VOCAB:  # the head is full size: square layers take the rest
        shapes.append(LAYER[0])
        budget -= layer_bytes[0]
    head_cols = min(VOCAB, max(head_cols, (total_bytes - sum(k * n * 4 for k, n in shapes)) // (4 * HIDDEN)))
    return shapes + [(HIDDEN, head_cols)]


def write_matmul_chain(path: str | Path, shapes: list[tuple[int, int]], seed: int = 0, slab_bytes: int = 32 << 20, scale: float = 0.05) -> int:
    """`path` (graph) + `path`_data: y = x @ W0 @ W1 ...; weights uniform in +-scale. Returns the weight bytes."""
    path = Path(path)
    for (_, n), (k, _) in zip(shapes, shapes[1:]):
        if n != k:
            raise ValueError(f"shapes do not chain: {shapes}")
    data_name = chunk_file_name(path.name, 0)
    rng = np.random.default_rng(seed)
    initializers, nodes = [], []
    offset = 0
    with open(path.parent / data_name, "wb") as data:
        for index, (k, n) in enumerate(shapes):
            name = f"layers.{index}.weight"
            offset += -offset % ALIGN
            data.seek(offset)
            count = k * n
            per_slab = max(1, slab_bytes // 4)
            for start in range(0, count, per_slab):
                slab = rng.random(min(per_slab, count - start), dtype=np.float32)
                slab -= 0.5
                slab *= 2 * scale
                data.write(slab.tobytes())
            tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=[k, n], data_location=TensorProto.EXTERNAL)
            for key, value in (("location", data_name), ("offset", str(offset)), ("length", str(count * 4))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            initializers.append(tensor)
            offset += count * 4
            source = "x" if index == 0 else f"h{index - 1}"
            nodes.append(helper.make_node("MatMul", [source, name], ["y" if index == len(shapes) - 1 else f"h{index}"], name=f"matmul_{index}"))
    graph = helper.make_graph(
        nodes, "synthetic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", shapes[0][0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", shapes[-1][1]])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], producer_name="vibevoice-asr-web synthetic")
    model.ir_version = 10
    path.write_bytes(model.SerializeToString())
    return sum(math.prod(s) * 4 for s in shapes)
