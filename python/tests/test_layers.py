"""The package's imports have no cycle and only descend through its layers (issue 15).

Every `import` statement counts, the ones inside functions too (deferred imports are how a cycle
hides: Python only meets it when the function runs). Layers, lowest first; a module may import
its own layer and the ones below, never one above:

  artifact   what an artifact folder is and how its files are read and written: the contract,
             manifest, atomic folders, errors, ONNX chunk I/O, the tensor and checkpoint readers, progress
  runtime    onnxruntime sessions, audio, prompts, greedy decoding, transcription
  convert    export (checkpoint -> fp32 graphs) and quantize (fp32 -> fp16/q4/q4f16 graphs)
  parity     the comparisons: parity/fp32_vs_pytorch.py, parity/variant_vs_fp32.py
  commands   cli.py, the *command.py modules and the pipelines they run (quantize/folder.py:
             convert, then parity, then the manifest), the fixture builders (fixtures/), serve, release/
"""

from __future__ import annotations

import ast
from pathlib import Path

import vibevoice_asr_web

PACKAGE = "vibevoice_asr_web"
ROOT = Path(vibevoice_asr_web.__file__).resolve().parent

# Patterns are module names relative to the package; "x.*" is x and everything under it. An exact
# name beats a pattern, a longer pattern a shorter one. Every module must be placed somewhere.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("artifact", (
        "", "errors", "artifact.*", "atomic", "onnx_io", "tensor_reader", "progress", "checkpoint_source",
        "checkpoint_layout", "checkpoint_weights", "checkpoint_model", "memory", "inventory", "hub_timeouts", "runfiles", "chromium",
    )),
    ("runtime", ("runtime.*", "audio")),
    ("convert", ("export.*", "quantize.*")),
    ("parity", ("parity.*",)),
    ("commands", (
        "__main__", "cli", "*.command", "quantize.folder", "fixtures.*", "size_report",
        "serve", "release.*",
    )),
)


def modules(root: Path = ROOT, package: str = PACKAGE) -> dict[str, Path]:
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join([package, *parts])] = path
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, dict[str, int]]:
    """module -> {imported module of the package: line of the first such import}, at any depth."""
    known = modules(root, package)
    graph: dict[str, dict[str, int]] = {}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        edges = graph.setdefault(name, {})
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = name.split(".")[: len(name.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join(base + ([node.module] if node.module else []))
                else:
                    base = node.module or ""
                # `from x import y` imports x.y when that is a module, else a name of x
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            else:
                continue
            for target in targets:
                while target not in known and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target in known and target != name:
                    edges.setdefault(target, node.lineno)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """Cycles (a, b, ..., a) in the strongly connected groups of modules (Tarjan), a shortest one through each module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = set()
            while True:
                w = stack.pop()
                group.add(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(group)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    found = []
    for group in groups:  # a shortest way back through each member of the group, each cycle once
        for start in sorted(group):
            paths = {start: [start]}
            queue = [start]
            while queue:
                v = queue.pop(0)
                if start in graph[v]:
                    cycle = paths[v]
                    turn = cycle.index(min(cycle))
                    cycle = cycle[turn:] + cycle[:turn]
                    if cycle + [cycle[0]] not in found:
                        found.append(cycle + [cycle[0]])
                    break
                for w in sorted(graph[v]):
                    if w in group and w not in paths:
                        paths[w] = paths[v] + [w]
                        queue.append(w)
    return found


def describe(path: list[str], graph: dict[str, dict[str, int]]) -> str:
    short = lambda m: m[len(PACKAGE) + 1:] or PACKAGE  # noqa: E731
    return " -> ".join(f"{short(a)} (line {graph[a][b]})" for a, b in zip(path, path[1:])) + f" -> {short(path[-1])}"


def layer_of(module: str) -> int:
    relative = module[len(PACKAGE) + 1:]
    best = None  # (specificity, layer)
    for layer, (_, patterns) in enumerate(LAYERS):
        for pattern in patterns:
            if pattern == relative:
                score = (2, len(pattern))
            elif pattern.startswith("*.") and relative.endswith(pattern[1:]):
                score = (1, len(pattern))
            elif pattern.endswith(".*") and (relative == pattern[:-2] or relative.startswith(pattern[:-1])):
                score = (0, len(pattern))
            else:
                continue
            if best is None or score > best[0]:
                best = (score, layer)
    assert best is not None, f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}"
    return best[1]


def test_no_import_cycle():
    graph = import_graph()
    found = cycles(graph)
    assert not found, "import cycles (function-level imports included):\n" + "\n".join(describe(c, graph) for c in found)


def test_layers_only_import_downwards():
    graph = import_graph()
    wrong = [
        f"{a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]}) at line {line}"
        for a, edges in sorted(graph.items()) for b, line in sorted(edges.items()) if layer_of(b) > layer_of(a)
    ]
    assert not wrong, "a lower layer imports a higher one:\n" + "\n".join(wrong)


def test_the_walk_sees_imports_inside_functions(tmp_path):
    """The checker itself: a cycle made only of deferred and relative imports is found."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("class C:\n    def g(self):\n        from .. import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    graph = import_graph(package, "pkg")
    assert graph["pkg.a"] == {"pkg.sub.b": 2} and graph["pkg.sub.b"] == {"pkg.c": 3} and graph["pkg.c"] == {"pkg.a": 1}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]]


# The artifact's numbers and the parity gates, each written once (artifact/contract.py, parity/thresholds.py)
# and imported everywhere else. make-synthetic's 2 GB is its safetensors shard size, another quantity.
HOMES = {
    3200: ("artifact.contract",),  # the hop (contract.HOP_LENGTH, the product of DOWNSAMPLING_RATIOS)
    1_440_000: ("artifact.contract",),  # ENCODER_CHUNK_SIZE
    2_000_000_000: ("artifact.contract", "fixtures.synthetic_checkpoint"),  # MAX_CHUNK_BYTES
    0.99999: ("parity.thresholds",),  # FP32_MIN_COSINE
    0.999: ("parity.thresholds",),  # FP16_MIN_COSINE
    0.95: ("parity.thresholds",),  # MIN_TOP1
}


def test_each_constant_is_written_in_one_place():
    misplaced = []
    for name, path in modules().items():
        relative = name[len(PACKAGE) + 1:]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            value = node.value if isinstance(node, ast.Constant) else None
            if type(value) in (int, float) and value in HOMES and relative not in HOMES[value]:
                misplaced.append(f"{relative}:{node.lineno}: {value} (import it from {HOMES[value][0]})")
    assert not misplaced, "\n".join(misplaced)
