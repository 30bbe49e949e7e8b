"""The walls of docs/ARCHITECTURE.md at run time: importing the core loads neither Textual nor TensorFlow.

`lint-imports` (CI) checks the import graph and tests/unit/test_walls_static.py reads every import
statement of the core; this one imports the core and the CLI in a fresh interpreter and looks at
what got loaded (an import done at run time that no statement names).
"""

from __future__ import annotations

import subprocess
import sys

from import_scan import FORBIDDEN_IN_CORE, cli_modules, core_modules


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
