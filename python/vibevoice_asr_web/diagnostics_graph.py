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


def save(model: onnx.ModelProto, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def write(path: str | Path, **kwargs) -> Path:
    return save(build(**kwargs), path)


# --- single-Conv graphs (issue 14: onnxruntime-web's WebGPU Conv against onnxruntime CPU) ---

CONV_INPUT_NAME = "x"
CONV_OUTPUT_NAME = "y"


def build_conv(
    c_in: int,
    c_out: int,
    kernel: int,
    stride: int = 1,
    group: int = 1,
    pads: tuple[int, int] = (0, 0),
    dilation: int = 1,
    length: int | str = "length",
    bias: bool = True,
    seed: int = 0,
    opset: int = 18,
) -> onnx.ModelProto:
    """One 1-D Conv, X [batch_size, c_in, length] -> Y [batch_size, c_out, out_length].

    Weights [c_out, c_in / group, kernel] and bias [c_out] are seeded normal draws scaled by
    1/sqrt(fan_in), so outputs are O(1) and differences read as relative errors. `length` may be a
    number (a static dim) or a name (a symbolic dim, as the exported encoder has).
    """
    if c_in % group or c_out % group:
        raise ValueError(f"group {group} must divide c_in {c_in} and c_out {c_out}")
    rng = np.random.default_rng(seed)
    fan_in = (c_in // group) * kernel
    weight = (rng.standard_normal((c_out, c_in // group, kernel)) / np.sqrt(fan_in)).astype(np.float32)
    initializers = [numpy_helper.from_array(weight, "w")]
    inputs = [CONV_INPUT_NAME, "w"]
    if bias:
        initializers.append(numpy_helper.from_array(rng.standard_normal(c_out).astype(np.float32), "b"))
        inputs.append("b")
    node = helper.make_node(
        "Conv", inputs, [CONV_OUTPUT_NAME], name="conv",
        kernel_shape=[kernel], strides=[stride], pads=list(pads), dilations=[dilation], group=group,
    )
    if isinstance(length, int):
        out_length: int | str = (length + pads[0] + pads[1] - dilation * (kernel - 1) - 1) // stride + 1
        if out_length < 1:
            raise ValueError(f"length {length} is too short for kernel {kernel}, dilation {dilation}, pads {pads}")
    else:
        out_length = "out_length"
    graph = helper.make_graph(
        [node],
        "conv_diagnostics",
        [helper.make_tensor_value_info(CONV_INPUT_NAME, TensorProto.FLOAT, ["batch_size", c_in, length])],
        [helper.make_tensor_value_info(CONV_OUTPUT_NAME, TensorProto.FLOAT, ["batch_size", c_out, out_length])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = MAX_IR_VERSION
    onnx.checker.check_model(model)
    return model


def write_conv(path: str | Path, **kwargs) -> Path:
    """`build_conv(**kwargs)` saved at `path` (its folder is made)."""
    return save(build_conv(**kwargs), path)


def encoder_conv_shapes(config: dict) -> list[tuple[int, int, int, int, int]]:
    """Every distinct (C_in, C_out, kernel, stride, group) of both encoder towers of a VibeVoice-ASR
    config, read off transformers' own modules (built on the meta device, so the real size is free)."""
    import torch
    from transformers import VibeVoiceAcousticTokenizerEncoderConfig, VibeVoiceAcousticTokenizerEncoderModel

    shapes = set()
    for tower in ("acoustic_tokenizer_encoder_config", "semantic_tokenizer_encoder_config"):
        fields = {k: v for k, v in config[tower].items() if k != "model_type"}
        with torch.device("meta"):
            encoder = VibeVoiceAcousticTokenizerEncoderModel(VibeVoiceAcousticTokenizerEncoderConfig(**fields))
        for module in encoder.modules():
            if isinstance(module, torch.nn.Conv1d):
                shapes.add((module.in_channels, module.out_channels, module.kernel_size[0], module.stride[0], module.groups))
    return sorted(shapes)
