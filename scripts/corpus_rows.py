"""The base corpus's track list for the teacher scripts, also while it is still being fetched.

Shared by scripts/teacher_musicnn.py and scripts/teacher_signals.py (run with ``--follow`` beside
a running scripts/fetch_base_corpus.py). Standard library only: the musicnn script imports it
inside its own virtual environment.
"""

from __future__ import annotations

import csv
import os
import time
from collections.abc import Iterator
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


def tracks_to_label(dest: Path, out: Path, follow: bool) -> Iterator[dict[str, str]]:
    """Corpus rows whose path is not in ``out`` yet; with ``follow``, waits for packages still
    being fetched until ``manifest.csv`` exists. The caller appends each track to ``out``."""
    done = {row["path"] for row in read_rows(out)}
    while True:
        rows, final = corpus_rows(dest)
        todo = [r for r in rows if r["path"] not in done]
        if not todo:
            if final or not follow:
                return
            time.sleep(20)
            continue
        for row in todo:
            yield row
            done.add(row["path"])
        if not follow:
            return


def append_track(out: Path, header: list[str], lines: list[list[object]]) -> None:
    """Append one track's rows to a teacher CSV (header first in a new file), fsynced: an
    interrupted run loses at most the track in progress."""
    new = not out.exists() or out.stat().st_size == 0
    with out.open("a", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        if new:
            writer.writerow(header)
        writer.writerows(lines)
        fh.flush()
        os.fsync(fh.fileno())
