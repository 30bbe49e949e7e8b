"""A snapshot of the main screen (pytest-textual-snapshot): layout, columns, colours, status, footer.

Deterministic: a fixed library (names, tags, durations), every song labelled by the listener so the
mood column does not depend on the weights of the small model (trained afresh each session), the
home folder set so the library shows as ~/Music, and the screen taken once every worker is done.
Update after an intended change with ``pytest tests/functional/test_tui_snapshot.py --snapshot-update``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_tui import make_library, wait_settled

from moodtui.listener.labels import LabelStore
from moodtui.tui.app import MoodApp

LABELS = {
    "Sunny Days.flac": "positive",
    "Grey Morning.flac": "neutral",
    "Night Drive.ogg": "negative",
    "Hum.ogg": "neutral",
}


def test_main_screen(snap_compare, model_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    library = make_library(tmp_path / "Music")
    (library / "Broken.mp3").write_bytes(b"\xff\xfb\x90\x00 not an mp3 " * 40)
    store = LabelStore(model_env / "labels.json")
    for path in library.rglob("*.*"):
        if path.name in LABELS:
            store.add_label(path, LABELS[path.name])
    app = MoodApp(library)

    async def settle(pilot) -> None:
        await wait_settled(pilot, app)
        await pilot.press("s")  # sorted by title: the broken file first, the cursor on it
        await pilot.pause()

    assert snap_compare(app, terminal_size=(110, 30), run_before=settle)
