"""A small ONNX graph with the two ops the decoder leans on (MatMul and 4-bit MatMulNBits).

The browser runs it on WebGPU and the e2e test compares with onnxruntime in Python. The int4
weights come from onnxruntime's own quantizer, the same packing the real artifacts use.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from vibevoice_asr_web.contract import MAX_IR_VERSION

INPUT_NAME = "x"
OUTPUT_NAME = "y"


def build(in_features: int = 64, hidden: int = 96, out_features: int = 48, seed: int = 0) -> onnx.ModelProto:
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    rng = np.random.default_rng(seed)
    w_dense = (rng.standard_normal((in_features, hidden)) / np.sqrt(in_features)).astype(np.float32)
    w_quant = (rng.standard_normal((hidden, out_features)) / np.sqrt(hidden)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", [INPUT_NAME, "w_dense"], ["h"], name="dense"),
            helper.make_node("Relu", ["h"], ["h_relu"], name="relu"),
            helper.make_node("MatMul", ["h_relu", "w_quant"], [OUTPUT_NAME], name="quantized"),
        ],
        "diagnostics",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch_size", in_features])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch_size", out_features])],
        initializer=[numpy_helper.from_array(w_dense, "w_dense"), numpy_helper.from_array(w_quant, "w_quant")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    quantizer = MatMulNBitsQuantizer(model, block_size=32, is_symmetric=True, nodes_to_exclude=["dense"])
    quantizer.process()
    quantized = quantizer.model.model
    ops = [node.op_type for node in quantized.graph.node]
    if "MatMulNBits" not in ops or "MatMul" not in ops:
        raise RuntimeError(f"expected MatMul and MatMulNBits in the diagnostics graph, got {ops}")
    if not any(opset.domain == "com.microsoft" for opset in quantized.opset_import):
        quantized.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    quantized.ir_version = MAX_IR_VERSION
    onnx.checker.check_model(quantized)
    return quantized


def write(path: str | Path, **kwargs) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(build(**kwargs), str(path))
    return path
