"""torch -> onnx_ir for one graph of the contract, with names, dims and weight names kept.

The exporter runs with optimize=False so Linear weights stay named initializers behind a
Transpose; we then optimize with the weight values hidden (nothing reads or folds them) and
pre-transpose those weights in place, keeping each parameter's name (see `weights.py`).
"""

from __future__ import annotations

import contextlib
import logging
import inspect
import warnings
from collections.abc import Iterator

import onnx_ir as ir
import torch

from vibevoice_asr_web.artifact.contract import MAX_IR_VERSION, GraphSpec
from vibevoice_asr_web.export.conv_workaround import rewrite_webgpu_convs_ir

OPSET = 18
# The exporter notes at every export that torchvision (which we do not use) is missing.
logging.getLogger("torch.onnx._internal.exporter._registration").setLevel(logging.ERROR)


def dynamic_shapes_for(wrapper: torch.nn.Module, spec: GraphSpec, static_batch: bool = False) -> tuple:
    """torch.onnx's dynamic_shapes: every symbolic dim of every input, by its contract name.

    Inputs past the wrapper's named parameters arrive through its *args (the caches), which
    torch.export sees as one tuple. With `static_batch` the batch dim is traced as fixed.
    """
    shapes = [
        {axis: dim for axis, dim in enumerate(t.shape) if isinstance(dim, str) and not (static_batch and dim == "batch_size")}
        for t in spec.inputs
    ]
    parameters = inspect.signature(wrapper.forward).parameters.values()
    named = sum(p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in parameters)
    has_varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
    return (*shapes[:named], tuple(shapes[named:])) if has_varargs else tuple(shapes)


def export(wrapper: torch.nn.Module, example_inputs: tuple[torch.Tensor, ...], spec: GraphSpec, static_batch: bool = False) -> ir.Model:
    """Traces one graph; `static_batch` traces a batch of one (the example's) as a fixed size."""
    wrapper.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the exporter's notes about dims sharing constraints are expected
        program = torch.onnx.export(
            wrapper,
            example_inputs,
            input_names=spec.input_names,
            output_names=spec.output_names,
            dynamic_shapes=dynamic_shapes_for(wrapper, spec, static_batch),
            opset_version=OPSET,
            dynamo=True,
            optimize=False,
            verbose=False,
        )
    model = program.model
    optimize_without_weights(model)
    rewrite_webgpu_convs_ir(model)  # after the optimizer, which would fold its zero padding into the weights
    apply_contract(model, spec)
    strip_export_metadata(model)
    model.ir_version = MAX_IR_VERSION
    return model


def strip_export_metadata(model: ir.Model) -> None:
    """Drops the exporter's per-node stack traces and program signature (most of the graph file's bytes)."""
    model.graph.metadata_props.clear()
    model.metadata_props.clear()
    for node in model.graph:
        node.metadata_props.clear()
        node.doc_string = None
        for output in node.outputs:
            output.metadata_props.clear()


@contextlib.contextmanager
def weights_hidden(model: ir.Model, hide=lambda tensor: True) -> Iterator[dict]:
    """Hides the initializers `hide` picks (all by default), so passes see the graph only and cannot
    read, fold, pack or rename those weights; yields what was hidden, by name."""
    saved = {name: v.const_value for name, v in model.graph.initializers.items() if hide(v.const_value)}
    for name in saved:
        model.graph.initializers[name].const_value = None
    try:
        yield saved
    finally:
        for name, value in model.graph.initializers.items():
            if name in saved:
                value.const_value = saved[name]


@contextlib.contextmanager
def quiet_passes() -> Iterator[None]:
    """Silences what graph passes note about every hidden weight (they cannot compare or fold them)."""
    loggers = [logging.getLogger(name) for name in ("onnx_ir.passes.common.initializer_deduplication", "onnxscript")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def optimize_without_weights(model: ir.Model) -> None:
    import onnxscript.optimizer

    with weights_hidden(model), quiet_passes():
        onnxscript.optimizer.optimize_ir(model)
    ir.passes.common.RemoveUnusedNodesPass()(model)
    # Transpose(W) -> MatMul becomes MatMul with W stored transposed, under W's own name.
    pretranspose_linear_weights(model)


def pretranspose_linear_weights(model: ir.Model) -> None:
    graph = model.graph
    for node in list(graph):
        if node.op_type != "Transpose" or node.domain not in ("", "ai.onnx"):
            continue
        weight = node.inputs[0]
        if weight is None or weight.name not in graph.initializers or len(weight.uses()) != 1:
            continue
        perm = node.attributes.get("perm")
        if weight.shape is None or len(weight.shape) != 2 or (perm is not None and list(perm.as_ints()) != [1, 0]):
            continue
        source = weight.const_value
        transposed = ir.LazyTensor(
            (lambda t=source: ir.Tensor(t.numpy().T.copy())) if source is not None else (lambda: None),
            dtype=weight.dtype,
            shape=ir.Shape([weight.shape[1], weight.shape[0]]),
            name=weight.name,
            metadata_props={"layout": "transposed"},
        )
        output = node.outputs[0]
        weight.shape = ir.Shape([weight.shape[1], weight.shape[0]])
        weight.const_value = transposed
        weight.metadata_props["layout"] = "transposed"
        output.replace_all_uses_with(weight)
        graph.remove(node, safe=True)


def apply_contract(model: ir.Model, spec: GraphSpec) -> None:
    """Names every dim as the contract does and checks the static ones."""
    graph = model.graph
    for kind, values, tensors in (("input", graph.inputs, spec.inputs), ("output", graph.outputs, spec.outputs)):
        names = [v.name for v in values]
        if names != [t.name for t in tensors]:
            raise RuntimeError(f"exported {kind}s {names} differ from the contract {[t.name for t in tensors]}")
        for value, tensor in zip(values, tensors):
            exported = list(value.shape) if value.shape is not None else []
            if len(exported) != len(tensor.shape):
                raise RuntimeError(f"{kind} {value.name}: exported rank {len(exported)}, contract {tensor.shape}")
            for axis, (got, want) in enumerate(zip(exported, tensor.shape)):
                if isinstance(want, int) and got != want:
                    raise RuntimeError(f"{kind} {value.name} dim {axis}: exported {got}, contract {want}")
            value.shape = ir.Shape([want if isinstance(want, int) else ir.SymbolicDim(want) for want in tensor.shape])


def fuse_group_query_attention(model: ir.Model, spec: GraphSpec) -> None:
    """Fuses the decoder's attention into onnxruntime's GroupQueryAttention.

    GroupQueryAttention reads the cache and the new keys without repeating KV heads or building a
    [heads, query, key] score tensor, which is what makes an hour of audio (27,000 tokens)
    possible. Its chunked prefill (new tokens after a past) takes a batch of one, so the decoder is
    traced for one sequence; its inputs keep the contract's `batch_size` name. Parameters stay
    hidden (their names must survive: the quantizer finds weights by name); the rotary frequencies
    must be real by now. The fusion is the one for WebGPU: its GroupQueryAttention gets wrong
    results after a past when asked to rotate too (measured: logits off by 4 on SwiftShader), so the
    rotary embedding stays onnxruntime's own RotaryEmbedding op; onnxruntime CPU runs the same graph.
    """
    from transformers.exporters.onnxruntime_fusions import fuse_for_onnxruntime

    from vibevoice_asr_web.export.weights import CheckpointTensor

    with weights_hidden(model, hide=lambda tensor: isinstance(tensor, CheckpointTensor)) as parameters, quiet_passes():
        fuse_for_onnxruntime(model, "webgpu")
    missing = [name for name in parameters if name not in model.graph.initializers]
    if missing:
        raise RuntimeError(f"attention fusion dropped weights {missing[:3]}")
    if not any(node.op_type == "GroupQueryAttention" for node in model.graph):
        raise RuntimeError("the decoder's attention did not fuse into GroupQueryAttention")
    apply_contract(model, spec)
