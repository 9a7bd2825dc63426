"""The function's layers (docs/architecture.md) import only downwards: read from the source."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LAMBDA = Path(__file__).resolve().parents[2] / "lambda"
# Highest first; a module may import from its own layer and any layer below it.
LAYERS = ("entries", "processing", "stages", "edges", "image")
ENTRIES = {"thumbnailer.batch_operations"}
# The image core may use the error types (they say what kind a failure is, nothing of AWS).
CORE_MAY_IMPORT = {"thumbnailer.errors"}


def layer_of(module: str) -> str:
    if module in ENTRIES:
        return "entries"
    parts = module.split(".")
    if len(parts) > 1 and parts[1] in ("image", "stages", "processing"):
        return parts[1]
    return "edges"


def imports_of(path: Path, root: Path) -> set[str]:
    """Every thumbnailer module `path` imports, at module level or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.update([node.module, *(f"{node.module}.{a.name}" for a in node.names)])
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    # Keep what names a module (`from thumbnailer.image import animation`), not a value.
    return {
        name
        for name in found
        if name.startswith("thumbnailer.") and (root / f"{name.replace('.', '/')}.py").is_file()
    }


def arrows_up(path: Path, root: Path = LAMBDA) -> list[str]:
    module = ".".join(path.relative_to(root).with_suffix("").parts)
    here = LAYERS.index(layer_of(module))
    wrong = []
    for imported in sorted(imports_of(path, root)):
        if layer_of(module) == "image" and imported in CORE_MAY_IMPORT:
            continue
        if LAYERS.index(layer_of(imported)) < here:
            wrong.append(f"{module} -> {imported}")
    return wrong


@pytest.mark.parametrize(
    "path",
    sorted((LAMBDA / "thumbnailer").rglob("*.py")),
    ids=lambda path: str(path.relative_to(LAMBDA)),
)
def test_no_module_imports_a_layer_above_its_own(path):
    # GIVEN one module of the function / WHEN its imports are read / THEN none points up
    assert arrows_up(path) == []


def test_an_arrow_back_up_is_found(tmp_path):
    # GIVEN an image-core module that imports the settings, and a stage inside a function
    package = tmp_path / "thumbnailer"
    (package / "image").mkdir(parents=True)
    (package / "stages").mkdir()
    (package / "settings.py").write_text("X = 1\n")
    (package / "errors.py").write_text("")
    (package / "stages" / "writer.py").write_text("")
    bad = package / "image" / "bad.py"
    bad.write_text(
        "from thumbnailer.errors import BadObjectError\n"
        "from thumbnailer.settings import X\n"
        "def f():\n    from thumbnailer.stages import writer\n"
    )

    # WHEN its imports are read
    wrong = arrows_up(bad, tmp_path)

    # THEN both arrows up are named, and the error types are not one
    assert wrong == [
        "thumbnailer.image.bad -> thumbnailer.settings",
        "thumbnailer.image.bad -> thumbnailer.stages.writer",
    ]


def test_no_module_or_class_is_a_house_of_its_own():
    # GIVEN every module of the function / WHEN measured / THEN each stays readable
    too_long = []
    for path in (LAMBDA / "thumbnailer").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 250:
            too_long.append(f"{path.name}: {text.count(chr(10))} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno > 150:
                too_long.append(f"{path.name}: class {node.name}")
    assert too_long == []
