"""`moodtui imac-match`: your songs in the IMAC label table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from moodtui.errors import MoodtuiError, display_path
from moodtui.library.imac import ImacMatch, scan_directory


def _match_record(match: ImacMatch) -> dict[str, object]:
    positive, neutral, negative = match.counts
    return {
        "path": display_path(match.path),
        "artist": match.artist,
        "title": match.title,
        "msd_track_ids": [song.msd_track_id for song in match.songs],
        "counts": {"positive": positive, "neutral": neutral, "negative": negative},
        "label": match.label,
    }


def run_imac_match(directory: Path, as_json: bool) -> int:
    """``moodtui imac-match DIR [--json]``: list the owned songs found in the IMAC table.

    Prints a table (or, with ``as_json``, a JSON array on stdout), then one summary line and any
    skipped files on stderr. Returns the exit code: 0, or 2 if ``directory`` is not a folder, or 1 if
    the IMAC table cannot be read.
    """
    if not directory.is_dir():
        print(f"moodtui imac-match: {display_path(directory)}: no such folder", file=sys.stderr)
        return 2
    try:
        scan = scan_directory(directory)
    except MoodtuiError as error:
        print(f"moodtui imac-match: {error}", file=sys.stderr)
        return 1

    if as_json:
        json.dump([_match_record(m) for m in scan.matches], sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    elif scan.matches:
        _print_table(directory, scan.matches)

    for path, reason in scan.skipped:
        print(f"skipped {display_path(path)}: {reason}", file=sys.stderr)
    labelled = sum(1 for m in scan.matches if m.label is not None)
    print(
        f"{scan.audio_file_count} audio files: {len(scan.matches)} found in IMAC "
        f"({labelled} with a clear label, {len(scan.matches) - labelled} tied), "
        f"{len(scan.unmatched)} not in IMAC, {len(scan.skipped)} skipped",
        file=sys.stderr,
    )
    return 0


def _print_table(directory: Path, matches: list[ImacMatch]) -> None:
    # rich is imported here so that importing the module for matching alone stays light.
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table("File", "Artist", "Title", "pos", "neu", "neg", "Label")
    for match in matches:
        # Text cells: tags such as "[Radio Edit]" must not be read as rich markup.
        table.add_row(
            Text(display_path(match.path.relative_to(directory))),
            Text(match.artist),
            Text(match.title),
            *(str(n) for n in match.counts),
            match.label or "tie",
        )
    Console().print(table)
