"""The base corpus's track list for the teacher scripts, also while it is still being fetched.

Shared by scripts/teacher_musicnn.py and scripts/teacher_signals.py (run with ``--follow`` beside
a running scripts/fetch_base_corpus.py). Standard library only: the musicnn script imports it
inside its own virtual environment.
"""

from __future__ import annotations

import csv
from pathlib import Path


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def corpus_rows(dest: Path) -> tuple[list[dict[str, str]], bool]:
    """Manifest rows (final) or, while the corpus is still being fetched, the finished packages'."""
    if (dest / "manifest.csv").exists():
        return read_rows(dest / "manifest.csv"), True
    rows = []
    for state in sorted((dest / ".state").glob("*.csv")):
        if not state.name.endswith(".near_duplicates.csv"):
            rows += read_rows(state)
    return rows, False
