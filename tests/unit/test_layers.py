"""The test layers stay honest: a unit test drives neither Textual nor another process.

Read from the source (ast, so a few milliseconds): every module of tests/unit/ and every helper
module of tests/ it imports, at any depth (an import inside a test function counts). A unit
test may decode real audio, read real TinyDB and sqlite files and run the real small ONNX model
in-process; one that needs the App, Pilot, `run_moodtui` or a process lives in tests/functional/.
tests/conftest.py's unit_tests_start_no_process catches at run time what no import shows (a core call starting ffmpeg).
"""

from __future__ import annotations

import ast
from pathlib import Path

from import_scan import imported_names

TESTS = Path(__file__).resolve().parents[1]
UNIT = TESTS / "unit"
# Modules whose import means Textual or a process.
FORBIDDEN_MODULES = ("textual", "subprocess", "multiprocessing", "pty", "moodtui.tui")
# Names that start the CLI, the App or a process without importing a module for it.
FORBIDDEN_NAMES = ("run_moodtui", "run_test", "system", "popen", "fork", "forkpty", "spawnv", "spawnl", "execv")


def layer_breaches(source: str, where: str, seen: set[str] | None = None) -> list[str]:
    """One line per source line that imports a forbidden module or uses a forbidden name, in source
    order, then the breaches of the helper modules of tests/ it imports (conftest is not followed:
    its fixtures build the small model in a process, before any test runs)."""
    seen = set() if seen is None else seen
    found: dict[int, str] = {}
    helpers = []
    for line, name in sorted(imported_names(source, "tests.unit.module"), key=lambda found: found[0]):
        forbidden = any(name == m or name.startswith(m + ".") for m in FORBIDDEN_MODULES)
        if forbidden or name.rpartition(".")[2] in FORBIDDEN_NAMES:
            found.setdefault(line, f"{where}:{line} imports {name}")
        helper = TESTS / f"{name.split('.')[0]}.py"
        if name.split(".")[0] != "conftest" and helper.is_file() and helper.name not in seen:
            seen.add(helper.name)
            helpers.append(helper)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.arg):
            name = node.arg  # a fixture asked for by name
        else:
            continue
        if name in FORBIDDEN_NAMES:
            found.setdefault(node.lineno, f"{where}:{node.lineno} uses {name}")
    breaches = [found[line] for line in sorted(found)]
    for helper in helpers:
        breaches += layer_breaches(helper.read_text(encoding="utf-8"), helper.name, seen)
    return breaches


def test_the_checker_sees_each_way_into_another_layer() -> None:
    source = (
        "import numpy\n"
        "from conftest import run_moodtui\n"
        "def test_a(run_moodtui):\n"
        "    import subprocess\n"
        "    from textual.app import App\n"
        "    from moodtui.tui import app\n"
        "    os.system('ls')\n"
        "    async with App().run_test() as pilot:\n"
        "        pass\n"
        "from multiprocessing import Pool\n"
    )
    assert layer_breaches(source, "t.py") == [
        "t.py:2 imports conftest.run_moodtui",
        "t.py:3 uses run_moodtui",
        "t.py:4 imports subprocess",
        "t.py:5 imports textual.app",
        "t.py:6 imports moodtui.tui",
        "t.py:7 uses system",
        "t.py:8 uses run_test",
        "t.py:10 imports multiprocessing",
    ]
    # A helper module of tests/ is read too: fault_tools.py runs mount and strace.
    assert layer_breaches("from fault_tools import free_bytes\n", "t.py")[0].startswith("fault_tools.py:")
    assert layer_breaches("from audio_factory import write_song\nimport numpy, soundfile\n", "t.py") == []


def test_unit_tests_import_neither_textual_nor_subprocess_nor_run_moodtui() -> None:
    modules = sorted(UNIT.glob("test_*.py"))
    # The glob found the unit layer (a broken glob would make this test pass on nothing).
    assert len(modules) > 10 and Path(__file__) in modules
    breaches = []
    for path in modules:
        if path != Path(__file__):  # this module names what it forbids
            breaches += layer_breaches(path.read_text(encoding="utf-8"), path.name)
    assert breaches == []
