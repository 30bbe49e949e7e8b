#!/usr/bin/env bash
# format_once.sh: the one whole-tree `ruff format` of issue 12, and `ruff format --check` into CI.
#
# Run it at the root of a clean moodtui checkout on main, when no helper has a branch open (every
# open branch would conflict with it), after /work/restructure.sh if that runs too.
# It: formats the tree with the settings in pyproject.toml ([tool.ruff], line length 120);
# re-runs `ruff check --fix` (import blocks); adds `ruff format --check .` to .ci/run after
# `ruff check .`; turns on the ruff-format hook in .pre-commit-config.yaml; updates the
# paragraph in DEVELOPERS.md; checks `ruff format --check .` and `ruff check .`. It does not
# commit: run the suite (`python -m pytest -n 2 -q`), then commit (or pass --commit).
# ruff's formatter checks that the code means the same before and after (it refuses otherwise).
set -euo pipefail
[ -f pyproject.toml ] && [ -f .ci/run ] || { echo "format_once: run me at the repository root" >&2; exit 2; }
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "format_once: the work tree has uncommitted changes; commit or stash them first" >&2; exit 2
fi
command -v ruff >/dev/null || { echo "format_once: ruff not found (activate the venv)" >&2; exit 2; }

ruff format .
ruff check --fix --quiet . || true

python3 - <<'PY'
from pathlib import Path

ci = Path(".ci/run")
text = ci.read_text(encoding="utf-8")
if "ruff format --check" not in text:
    assert "ruff check .\n" in text, ".ci/run has no `ruff check .` line to follow"
    text = text.replace("ruff check .\n", "ruff check .\nruff format --check .\n", 1)
    ci.write_text(text, encoding="utf-8")

hooks = Path(".pre-commit-config.yaml")
text = hooks.read_text(encoding="utf-8")
comment = "      # `ruff format` joins once the tree has been formatted in one go (see [tool.ruff.format]).\n"
hook = ("      - id: ruff-format\n        name: ruff format\n        entry: ruff format --force-exclude\n"
        "        language: system\n        types_or: [python, pyi]\n        require_serial: true\n")
if "id: ruff-format" not in text:
    text = text.replace(comment, hook) if comment in text else text + hook
    hooks.write_text(text, encoding="utf-8")

pyproject = Path("pyproject.toml")
text = pyproject.read_text(encoding="utf-8")
text = text.replace(
    "# `ruff format` is run over the whole tree once (by the lead, when no branch is open), then\n"
    "# `ruff format --check` joins CI. Until then format only the lines you write.\n",
    "# `ruff format .` before committing; CI runs `ruff format --check .`.\n")
pyproject.write_text(text, encoding="utf-8")

dev = Path("DEVELOPERS.md")
text = dev.read_text(encoding="utf-8")
old = ("`ruff format` is configured but not yet applied to the tree: format only the lines you write\n"
       "until the whole tree is formatted in one go; then `ruff format --check .` joins CI.\n")
new = "`ruff format .` formats the tree; CI runs `ruff format --check .` (and pre-commit formats on commit).\n"
dev.write_text(text.replace(old, new), encoding="utf-8")
PY

ruff format --check .
ruff check .
git add -A
git diff --cached --shortstat
if [ "${1:-}" = "--commit" ]; then
    git commit -q -m "ruff format over the whole tree (once); ruff format --check in CI and pre-commit"
    echo "format_once: committed"
else
    echo "format_once: done; run the suite, then commit"
fi
