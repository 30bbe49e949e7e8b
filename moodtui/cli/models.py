"""`moodtui models` and `moodtui rollback`: the model versions."""

from __future__ import annotations

import json
import sys


def run_models(as_json: bool) -> int:
    from rich.console import Console
    from rich.table import Table

    from moodtui.mood.versions import describe, head_cell, list_versions, read_current, songs_cell

    _name, notice = read_current()
    if notice:
        print(f"moodtui: {notice}", file=sys.stderr)
    rows = [describe(v) for v in list_versions()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="model versions (* = in use)", title_justify="left")
    for column in (
        "",
        "version",
        "created",
        "kind",
        "songs",
        "head (chosen by held-out songs)",
        "validation acc.",
        "agreement (held out)",
    ):
        table.add_column(column)
    for row in rows:

        def pct(value: object) -> str:
            return f"{100 * float(value):.1f} %" if isinstance(value, (int, float)) else "-"

        table.add_row(
            "*" if row["current"] else "",
            str(row["version"]),
            str(row["created"] or "-"),
            str(row["kind"] or "-"),
            songs_cell(row),
            head_cell(row),
            pct(row["song_accuracy"]),
            pct(row["agreement"]) if not row["error"] else f"[red]{row['error']}[/]",
        )
    Console(highlight=False).print(table)
    for row in rows:
        if row["current"] and row.get("older_descriptors"):
            print(
                f"{row['version']}: fitted to the musical cues of an older moodtui ({row['older_descriptors']}); "
                "it scores without them until you retrain (R in the player, or `moodtui train`)"
            )
    for row in rows:
        if row.get("guard") and not row["guard"].get("switched") and not row["current"]:
            from moodtui.listener.retrain import guard_message

            name = str(row["version"])
            print(f"{name}: {guard_message(row['guard'], name, f'`moodtui rollback {name}`')}")
    return 0


def run_rollback(version: str | None) -> int:
    from moodtui.mood.versions import BASE, current_name, list_versions, roll_back

    versions = [v.name for v in list_versions()]
    if version is None:
        current = current_name()
        if current == BASE:
            print(
                "moodtui: nothing to roll back to: the base model is in use "
                "(`moodtui models` lists the versions; `moodtui rollback VERSION` picks one)",
                file=sys.stderr,
            )
            return 1
        personal = [v for v in versions if v != BASE]
        # The previous version: the next older personal one, else the base.
        older = [v for v in personal if current == BASE or v < current]
        version = older[0] if older and current != BASE else BASE
    roll_back(version)
    print(f"moodtui: now using model {version}")
    return 0
