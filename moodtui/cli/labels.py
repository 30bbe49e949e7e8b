"""`moodtui label` and `moodtui labels`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from moodtui.errors import MoodtuiError, display_path
from moodtui.listener import identity
from moodtui.listener.labels import LABELS_FILE_NAME, LabelRecord, LabelStore, _absolute, check_label
from moodtui.mood.palette import MOOD_COLOURS


def run_label(path: str, label: str, home: Path) -> int:
    """``moodtui label FILE LABEL``: label a file from the command line; prints one line."""
    try:
        check_label(label)
        store = LabelStore(home / LABELS_FILE_NAME)
        if store.recovery_message:
            print(f"moodtui: warning: {store.recovery_message}", file=sys.stderr)
        where = _absolute(path)
        from moodtui.audio.decode import check_audio  # numpy and decoders: only for the CLI's check

        check_audio(where)  # a FIFO, an empty file or a text file named .mp3 is not a song
        fingerprint = identity.fingerprint(where)
        previous = store.labels_by_fingerprint().get(fingerprint)
        record = store.add_label(where, label, fingerprint=fingerprint)
    except MoodtuiError as error:
        print(f"moodtui: {error}", file=sys.stderr)
        return 1
    was = f" (was {previous.label})" if previous is not None else ""
    print(f"labelled {display_path(record.path)} {record.label}{was}")
    return 0


def run_labels(home: Path, as_json: bool) -> int:
    """``moodtui labels [--json]``: the current labels as a table, or as a JSON array."""
    try:
        store = LabelStore(home / LABELS_FILE_NAME)
        records = store.current_labels()
    except MoodtuiError as error:
        print(f"moodtui: {error}", file=sys.stderr)
        return 1
    if store.recovery_message:
        print(f"moodtui: warning: {store.recovery_message}", file=sys.stderr)
    if as_json:
        print(json.dumps([record.to_json() for record in records], indent=2))
        return 0
    # Imported here: rich is only needed for this table, and `moodtui label` should start fast.
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    if not records:
        print("no labels yet")
        return 0
    table = Table(title=f"{len(records)} labelled songs")
    table.add_column("label")
    table.add_column("file")
    table.add_column("labelled (UTC)")
    table.add_column("model said")
    for record in records:
        # Text(): a file name such as "[live].mp3" must not be read as rich markup.
        table.add_row(
            Text(record.label, style=MOOD_COLOURS.get(record.label, "")),
            Text(display_path(record.path)),
            record.labelled_at[:19].replace("T", " "),
            Text(_model_summary(record)),
        )
    Console().print(table)
    return 0


def _model_summary(record: LabelRecord) -> str:
    if record.model_probs is None:
        return "-"
    top = max(record.model_probs, key=record.model_probs.__getitem__)
    said = f"{top} {record.model_probs[top]:.2f}"
    return f"{said} ({record.model_version})" if record.model_version else said
