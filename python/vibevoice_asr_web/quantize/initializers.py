"""Which transform each initializer of the output graph comes from.

Rewrites (fp16, nbits) change the graph and say here what the weights become; no weight byte
is read until the writer runs the transforms.
"""

from __future__ import annotations

from collections.abc import Iterator

from onnx import TensorProto

from vibevoice_asr_web.tensor_reader import TensorSource
from vibevoice_asr_web.quantize.transforms import Copy, OutputSpec, Transform


class Initializers:
    def __init__(self, sources: dict[str, TensorSource]):
        self._outputs: dict[str, tuple[Transform, int]] = {}
        for source in sources.values():
            self.add(Copy(source))

    def __contains__(self, name: str) -> bool:
        return name in self._outputs

    def names(self) -> list[str]:
        return list(self._outputs)

    def spec(self, name: str) -> OutputSpec:
        transform, index = self._outputs[name]
        return transform.outputs[index]

    def transform(self, name: str) -> Transform:
        return self._outputs[name][0]

    def source(self, name: str) -> TensorSource:
        return self._outputs[name][0].source

    def is_float(self, name: str) -> bool:
        return name in self._outputs and self.spec(name).elem_type in (TensorProto.FLOAT, TensorProto.FLOAT16)

    def add(self, transform: Transform) -> list[str]:
        for index, output in enumerate(transform.outputs):
            if output.name in self._outputs:
                raise ValueError(f"initializer {output.name} is defined twice")
            self._outputs[output.name] = (transform, index)
        return [output.name for output in transform.outputs]

    def replace(self, name: str, transform: Transform) -> None:
        """`name` now comes from `transform` (which has one output, named `name`)."""
        if len(transform.outputs) != 1 or transform.outputs[0].name != name:
            raise ValueError(f"a replacement for {name} must have exactly that one output")
        self._outputs[name] = (transform, 0)

    def remove(self, name: str) -> None:
        del self._outputs[name]

    def transforms(self) -> Iterator[Transform]:
        """Each transform once, in the order its first output was added."""
        seen = set()
        for transform, _ in self._outputs.values():
            if id(transform) not in seen:
                seen.add(id(transform))
                yield transform

    def keep_only(self, used: set[str]) -> list[str]:
        """Drops initializers nothing uses any more (all outputs of a transform must be unused); returns them."""
        dropped = []
        for transform in list(self.transforms()):
            names = [o.name for o in transform.outputs if o.name in self._outputs and self._outputs[o.name][0] is transform]
            if names and not any(name in used for name in names):
                for name in names:
                    del self._outputs[name]
                dropped += names
        return dropped
