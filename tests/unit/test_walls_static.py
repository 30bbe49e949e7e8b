"""The walls of docs/ARCHITECTURE.md, read from the source: the core imports neither Textual nor TensorFlow.

`lint-imports` (contracts in pyproject.toml, run by CI) checks the same walls on the import graph.
These tests keep them without the tool: they read every import statement of every core module,
inside functions too (an import there is one call away from loading TensorFlow). The run-time
check (import the core in a fresh interpreter, look at what got loaded) is
tests/functional/test_walls.py.
"""

from __future__ import annotations

from import_scan import UPPER_LAYERS, core_modules, module_file, wall_breaches


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
