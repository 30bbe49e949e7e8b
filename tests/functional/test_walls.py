"""The walls of docs/ARCHITECTURE.md: the core imports neither Textual nor TensorFlow.

`lint-imports` (contracts in pyproject.toml, run by CI) checks the same walls on the import graph.
These tests keep them without the tool: a static one that reads every import statement of every
core module, inside functions too (an import there is one call away from loading TensorFlow),
and a run-time one that imports the core and looks at what got loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import moodtui

PACKAGE = Path(moodtui.__file__).parent
FORBIDDEN_IN_CORE = ("textual", "tensorflow", "keras", "tf2onnx")
UPPER_LAYERS = ("moodtui.cli", "moodtui.tui", "moodtui.train", "moodtui.__main__")


def core_modules() -> list[str]:
    """Every module of the core, found on disk (so a new module is covered without a list to keep)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] in ("tui", "train", "cli", "__main__", "_shipped"):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join(("moodtui", *parts)))
    return names


def cli_modules() -> list[str]:
    """The CLI's modules (``cli.py``, or every module of a ``cli/`` package)."""
    if (PACKAGE / "cli.py").exists():
        return ["moodtui.cli"]
    return sorted(
        ".".join(("moodtui", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(".__init__")
        for p in (PACKAGE / "cli").rglob("*.py")
    )


def imported_names(source: str, module: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``source``, at any depth (functions, ifs, try)."""
    found = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            # `from moodtui import tui` names a module through the alias.
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names if alias.name != "*"]
    return found


def wall_breaches(source: str, module: str, is_package: bool = False) -> list[str]:
    """One line per import statement that crosses a wall, in source order."""
    breaches: dict[int, str] = {}
    for line, name in sorted(imported_names(source, module, is_package), key=lambda found: found[0]):
        top = name.split(".")[0]
        upper = any(name == u or name.startswith(u + ".") for u in UPPER_LAYERS)
        if (top in FORBIDDEN_IN_CORE or upper) and line not in breaches:
            breaches[line] = f"{module}:{line} imports {name}"
    return list(breaches.values())


def module_file(module: str) -> tuple[Path, bool]:
    relative = Path(*module.split(".")[1:])
    package_init = PACKAGE / relative / "__init__.py"
    if package_init.exists():
        return package_init, True
    return (PACKAGE / relative).with_suffix(".py"), False


def test_the_checker_sees_imports_inside_functions_and_relative_ones():
    source = (
        "import numpy\n"
        "def train():\n"
        "    import keras\n"
        "    if True:\n"
        "        from ..tui import app\n"
        "from moodtui import tui\n"
        "try:\n"
        "    import tensorflow.lite\n"
        "except ImportError:\n"
        "    pass\n"
    )
    assert wall_breaches(source, "moodtui.listener.labels") == [
        "moodtui.listener.labels:3 imports keras",
        "moodtui.listener.labels:5 imports moodtui.tui",
        "moodtui.listener.labels:6 imports moodtui.tui",
        "moodtui.listener.labels:8 imports tensorflow.lite",
    ]
    assert wall_breaches("from moodtui import errors\nimport textualize\n", "moodtui.listener.labels") == []


def test_core_modules_import_neither_textual_nor_tensorflow_anywhere_in_their_source():
    modules = core_modules()
    # The walk found the core (a broken walk would make this test pass on nothing).
    assert {"moodtui", "moodtui.audio.decode", "moodtui.mood.analysis", "moodtui.listener.labels"} <= set(modules)
    assert not any(m.startswith(UPPER_LAYERS) for m in modules)
    breaches = []
    for module in modules:
        path, is_package = module_file(module)
        breaches += wall_breaches(path.read_text(encoding="utf-8"), module, is_package)
    assert breaches == []


def test_importing_the_core_and_the_cli_loads_neither_textual_nor_tensorflow():
    # At run time: what the core, the CLI's modules (before a sub-command runs) and the job's data
    # module pull in.
    modules = [*core_modules(), *cli_modules(), "moodtui.train.data"]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN_IN_CORE!r})\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
