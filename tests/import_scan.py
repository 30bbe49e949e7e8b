"""The import statements of a Python source, found by reading it (ast), at any depth.

Shared by the wall tests (the core imports neither Textual nor TensorFlow: tests/unit/test_walls_static.py,
the run-time check in tests/functional/test_walls.py) and the layer check of the tests themselves
(tests/unit/test_layers.py: a unit test imports neither Textual nor subprocess).
"""

from __future__ import annotations

import ast
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
