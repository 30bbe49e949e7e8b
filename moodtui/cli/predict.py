"""`moodtui predict`: per-slice and song-level moods of audio files."""

from __future__ import annotations

import os
from pathlib import Path

from moodtui import CLASSES
from moodtui.cli.main import write_json
from moodtui.errors import MoodtuiError, display_path
from moodtui.mood.palette import MOOD_COLOURS, mood_markup


def run_predict(files: list[Path], as_json: bool, workers: int | None = None) -> int:
    from moodtui.mood.pool import start_helpers, worker_count

    count = worker_count(playing=False, setting=workers)
    if count > 1 and (len(files) > 1 or any(f.is_dir() for f in files)):
        start_helpers()  # several files go to the pool: its fork server imports beside this start-up
    from rich.console import Console

    from moodtui.library.scan import expand_folders
    from moodtui.mood.analysis import AnalysisCache, FileAnalysed, analyse_paths
    from moodtui.mood.versions import load_current_model

    err = Console(stderr=True, highlight=False)
    model, notice = load_current_model()
    if notice:
        err.print(f"moodtui: {notice}", markup=False, soft_wrap=True)
    cache: AnalysisCache | None
    try:
        cache = AnalysisCache()
    except MoodtuiError as exc:  # derived data: analyse without it
        err.print(f"moodtui: {exc}; analysing without the cache", markup=False, soft_wrap=True)
        cache = None
    if cache is not None and (recovered := cache.cache.take_recovery_notice()):
        err.print(f"moodtui: {recovered}", markup=False, soft_wrap=True)
    cache_problem: str | None = None
    out = Console(highlight=False)
    # A folder stands for every audio file below it, walked as the library walks it; a folder
    # with none is reported in its place.
    entries = expand_folders([os.fspath(f) for f in files])
    # Results arrive in any order from the pool; each is printed once those before it are.
    results: dict[int, object] = {}
    positions: dict[str, list[int]] = {}
    for i, (path, problem) in enumerate(entries):
        if problem is None:
            positions.setdefault(path, []).append(i)
        else:
            results[i] = FileAnalysed(path, error=problem)
    json_rows: list[dict[str, object]] = []
    printed = 0
    failed = 0

    def show(result) -> None:
        nonlocal failed, cache_problem
        problem = cache.write_failure if cache is not None else None
        if problem is not None and problem != cache_problem:
            err.print(f"moodtui: {problem}; results are not cached", markup=False, soft_wrap=True)
        cache_problem = problem
        if result.error is not None:
            failed += 1
            err.print(f"moodtui: {display_path(result.path)}: {result.error}", markup=False, soft_wrap=True)
            json_rows.append({"path": os.fsdecode(result.path), "error": result.error})
            return
        mood = result.mood
        if mood.warning:
            err.print(f"moodtui: {display_path(result.path)}: {mood.warning}", markup=False, soft_wrap=True)
        if as_json:
            json_rows.append(mood.to_json())
        else:
            _print_mood(out, mood)

    def arrived(result) -> None:
        nonlocal printed
        for i in positions[result.path]:
            results[i] = result
        flush()

    def flush() -> None:
        nonlocal printed
        while printed in results:
            show(results.pop(printed))
            printed += 1

    flush()  # a folder without audio at the start
    analyse_paths(
        list(positions),  # each file once, in the order given
        model,
        cache,
        workers=count,
        on_result=arrived,
        known_errors=False,
    )
    if as_json:
        write_json(json_rows)
    return 1 if failed else 0


def _print_mood(console, mood) -> None:
    from rich.table import Table

    table = Table(
        title=f"{display_path(mood.path)}  ({mood.duration_s:.1f} s, model {mood.model_version})", title_justify="left"
    )
    table.add_column("slice", justify="right")
    for c in CLASSES:
        table.add_column(c, justify="right", style=MOOD_COLOURS[c])
    table.add_column("mood")
    for start, end, probs in zip(mood.starts_s, mood.ends_s, mood.slice_probs):
        label = CLASSES[int(probs.argmax())]
        table.add_row(f"{start:6.1f}-{end:6.1f} s", *(f"{p:.2f}" for p in probs), mood_markup(label))
    table.add_section()
    song_label = f"unsure ({mood.label}?)" if mood.unsure else mood.label
    table.add_row("song", *(f"{p:.2f}" for p in mood.song_probs), mood_markup(mood.label, bold=True, text=song_label))
    table.add_row("votes", *(f"{v:.2f}" for v in mood.votes), "")
    if mood.energy is not None:
        from moodtui.mood.analysis import energy_word

        table.add_row("energy", f"{mood.energy:.2f}", "", "", energy_word(mood.energy))
    console.print(table)
