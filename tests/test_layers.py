"""Layers point down (STYLE.md): every import inside the package, lazy ones included, is checked with ``ast``.

commands / cli → applications (analyze) → training, inference → models, losses, metrics, data, synth, enhance,
skeleton, tracking → small shared modules (``skeleton.protocol``, which trains and scores models under the
benchmark protocols, sits with training). Within a layer imports may go sideways, except that ``data`` and
``synth`` never import each other. Config sections (``*/config.py``, ``*_config.py``) are leaves of the shared
layer: ``smartclass.config`` assembles them into one tree without importing the code they configure.
"""

import ast
from pathlib import Path

import pytest

import smartclass

PACKAGE = Path(smartclass.__file__).parent
SHARED, BLOCKS, TASKS, APPLICATIONS, COMMANDS = range(5)
LAYERS = {
    # small shared modules
    "__init__": SHARED, "errors": SHARED, "bounds": SHARED, "io": SHARED, "layouts": SHARED, "geometry": SHARED,
    "labels": SHARED, "ops": SHARED, "checkpoint": SHARED, "clip": SHARED, "clipdir": SHARED, "crops": SHARED,
    "config": SHARED, "bench": SHARED, "runs": SHARED, "terminal": SHARED, "models.registry": SHARED,
    # building blocks
    "models": BLOCKS, "losses": BLOCKS, "metrics": BLOCKS, "data": BLOCKS, "synth": BLOCKS, "enhance": BLOCKS,
    "skeleton": BLOCKS, "tracking": BLOCKS,
    "training": TASKS, "inference": TASKS,
    "skeleton.protocol": TASKS,  # the cross-subject benchmark: trains (with the engine) and scores models
    "analyze": APPLICATIONS, "experiments": APPLICATIONS,  # paper reproductions: train and score many variants
    "commands": COMMANDS, "cli": COMMANDS, "__main__": COMMANDS,
}
NEVER = {("data", "synth"), ("synth", "data")}  # same layer, but independent


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts) or "__init__"


def layer(name: str) -> int:
    """The layer of module ``smartclass.<name>``: a config section is shared; else the longest listed prefix."""
    last = name.rsplit(".", 1)[-1]
    if last == "config" or last.endswith("_config"):
        return SHARED
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in LAYERS:
            return LAYERS[".".join(parts[:i])]
    raise KeyError(name)


def imports(path: Path) -> set[str]:
    """``smartclass.…`` modules imported anywhere in the file (as names relative to the package)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("smartclass.")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "smartclass":
                found |= {f"smartclass.{a.name}" for a in node.names}
            elif node.module.startswith("smartclass."):
                found.add(node.module)
    return {m[len("smartclass."):] for m in found}


def upward_imports() -> list[str]:
    bad = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = module_name(path)
        for target in sorted(imports(path)):
            if layer(target) > layer(me) or (me.split(".")[0], target.split(".")[0]) in NEVER:
                bad.append(f"{me} (layer {layer(me)}) imports {target} (layer {layer(target)})")
    return bad


def test_every_module_has_a_layer():
    unknown = [module_name(p) for p in PACKAGE.rglob("*.py") if not _known(module_name(p))]
    assert not unknown, f"add these to LAYERS in tests/test_layers.py (STYLE.md 'Layers point down'): {unknown}"


def _known(name: str) -> bool:
    try:
        layer(name)
    except KeyError:
        return False
    return True


def test_no_import_points_up():
    bad = upward_imports()
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_the_checker_sees_lazy_and_upward_imports(tmp_path):
    src = tmp_path / "m.py"
    src.write_text("import os\nfrom smartclass import io\n\ndef f():\n    from smartclass.training.engine import Engine\n")
    assert imports(src) == {"io", "training.engine"}
    assert layer("models.recognizer_config") == SHARED and layer("training.engine") == TASKS
    assert layer("models.gcn.mstgcn") == BLOCKS and layer("commands.demo") == COMMANDS
    with pytest.raises(KeyError):
        layer("nowhere")
