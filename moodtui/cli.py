"""The ``moodtui`` command: the player (default) and headless sub-commands.

Heavy imports (onnxruntime, Textual, TensorFlow) happen inside the sub-command that needs them,
so ``moodtui --help`` is instant and ``moodtui train`` is the only process that loads TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from moodtui import CLASSES, __version__
from moodtui.errors import MoodtuiError, display_path
from moodtui.mood_palette import MOOD_COLOURS, mood_markup

COMMANDS = ("predict", "analyse", "train", "label", "labels", "models", "rollback", "export", "imac-match", "play")


def _add_home(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Before or after the sub-command: the sub-command's default must not hide the top one's value.
    parser.add_argument("--home", type=Path, default=None if top else argparse.SUPPRESS,
                        help="data folder (models, labels, caches); default $MOODTUI_HOME or the user data dir")


def _add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="analysis processes (default: $MOODTUI_WORKERS, else one per core)")


def build_parser() -> argparse.ArgumentParser:
    from moodtui.radio import STATION_IDS

    parser = argparse.ArgumentParser(
        prog="moodtui",
        description="A terminal music player that learns how you feel about your music. "
                    "`moodtui [DIR]` opens the player; the sub-commands work without it.")
    parser.add_argument("--version", action="version", version=f"moodtui {__version__}")
    _add_home(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    play = sub.add_parser("play", help="open the player on DIR (the default command)")
    play.add_argument("directory", nargs="?", default=None,
                      help="music folder (default: config.toml's library, else ~/Music, else the demo library)")
    play.add_argument("--radio", choices=STATION_IDS, default=None,
                      help="open already playing this station: a mood or an energy range from the whole library, "
                           "or a mood path (lift: negative to positive; wind-down: energetic to calm)")
    play.add_argument("--config", type=Path, default=None,
                      help="settings file (default $XDG_CONFIG_HOME/moodtui/config.toml)")
    _add_home(play)

    predict = sub.add_parser("predict", help="per-slice and song-level mood of audio files")
    predict.add_argument("files", nargs="+", type=os.fsencode, metavar="FILE")
    predict.add_argument("--json", action="store_true", help="one JSON array on stdout")
    _add_workers(predict)
    _add_home(predict)

    analyse = sub.add_parser("analyse", aliases=["analyze"],
                             help="analyse a whole library into the cache (progress, ETA, failures)")
    analyse.add_argument("directory", nargs="?", default=None, help="music folder (default as for the player)")
    _add_workers(analyse)
    _add_home(analyse)

    from moodtui.train.job import add_arguments

    train = sub.add_parser("train", help="train or fine-tune the model (TensorFlow, its own process)")
    add_arguments(train)
    _add_home(train)

    label = sub.add_parser("label", help="say how songs feel to you: FILE... MOOD",
                           usage="moodtui label [-h] [--home HOME] FILE [FILE ...] {" + ",".join(CLASSES) + "}")
    label.add_argument("files", nargs="+", type=os.fsencode, metavar="FILE",
                       help="one or more files, then the mood (" + " / ".join(CLASSES) + ")")
    _add_home(label)

    labels = sub.add_parser("labels", help="list your labels")
    labels.add_argument("--json", action="store_true")
    _add_home(labels)

    models = sub.add_parser("models", help="list model versions with their figures")
    models.add_argument("--json", action="store_true")
    _add_home(models)

    rollback = sub.add_parser("rollback", help="switch to an earlier model version (default: the previous one)")
    rollback.add_argument("version", nargs="?", default=None, help="a version from `moodtui models`, or 'base'")
    _add_home(rollback)

    export = sub.add_parser("export", help="write an m3u playlist of one mood")
    export.add_argument("--mood", choices=CLASSES, required=True)
    export.add_argument("-o", "--output", type=Path, required=True)
    export.add_argument("directory", nargs="?", default=None, help="music folder (default as for the player)")
    _add_home(export)

    imac = sub.add_parser("imac-match", help="match your tagged files to IMAC songs and show their labels")
    imac.add_argument("directory", type=Path)
    imac.add_argument("--json", action="store_true")
    _add_home(imac)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `moodtui`, `moodtui DIR` and `moodtui --home X DIR` open the player.
    if not any(a in COMMANDS for a in argv) and not any(a in ("-h", "--help", "--version") for a in argv):
        argv = ["play", *argv]
    args = build_parser().parse_args(argv)
    if getattr(args, "home", None) is not None:
        # An environment variable, so the training job and other child processes share the folder.
        os.environ["MOODTUI_HOME"] = os.fspath(args.home.expanduser().resolve())
    if getattr(args, "config", None) is not None:
        os.environ["MOODTUI_CONFIG"] = os.fspath(args.config.expanduser().resolve())
    try:
        return _dispatch(args)
    except MoodtuiError as exc:
        print(f"moodtui: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _dispatch(args: argparse.Namespace) -> int:
    from moodtui.paths import data_home

    if args.command == "play":
        from moodtui.tui.app import run_app

        return run_app(args.directory, radio=args.radio)
    if args.command == "predict":
        return run_predict([Path(os.fsdecode(f)) for f in args.files], args.json, args.workers)
    if args.command in ("analyse", "analyze"):
        return run_analyse(args.directory, args.workers)
    if args.command == "train":
        from moodtui.train.job import main as train_main

        return train_main(args)
    if args.command == "label":
        from moodtui.store import run_label

        *files, mood = [os.fsdecode(f) for f in args.files]
        if not files or mood not in CLASSES:
            print(f"moodtui label: give one or more files, then the mood ({' / '.join(CLASSES)}); "
                  f"got {display_path(mood)!r} last", file=sys.stderr)
            return 2
        # Every file is tried; the exit code is 1 if any could not be labelled.
        return max(run_label(f, mood, data_home()) for f in files)
    if args.command == "labels":
        from moodtui.store import run_labels

        return run_labels(data_home(), args.json)
    if args.command == "models":
        return run_models(args.json)
    if args.command == "rollback":
        return run_rollback(args.version)
    if args.command == "export":
        from moodtui.playlist import run_export

        return run_export(args.mood, args.output, args.directory)
    if args.command == "imac-match":
        from moodtui.imac import run_imac_match

        return run_imac_match(args.directory, args.json)
    raise AssertionError(args.command)


def run_predict(files: list[Path], as_json: bool, workers: int | None = None) -> int:
    from rich.console import Console

    from moodtui.analysis import AnalysisCache, analyse_paths
    from moodtui.pool import worker_count
    from moodtui.registry import load_current_model

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
    cache_problem: str | None = None
    out = Console(highlight=False)
    paths = [os.fspath(f) for f in files]
    # Results arrive in any order from the pool; each is printed once those before it are.
    results: dict[int, object] = {}
    positions: dict[str, list[int]] = {}
    for i, path in enumerate(paths):
        positions.setdefault(path, []).append(i)
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
        while printed in results:
            show(results.pop(printed))
            printed += 1

    analyse_paths(list(dict.fromkeys(paths)), model, cache, workers=worker_count(playing=False, setting=workers),
                  on_result=arrived, known_errors=False)
    if as_json:
        write_json(json_rows)
    return 1 if failed else 0


def write_json(value: object) -> None:
    """``value`` as one line of UTF-8 JSON on stdout. A path that is not valid UTF-8 holds
    surrogate escapes (os.fsdecode): they become JSON ``\\udcNN`` escapes, which any JSON reader
    decodes back to the same surrogates, so ``os.fsencode`` gives the file's real bytes."""
    text = json.dumps(value, ensure_ascii=False) + "\n"
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.buffer.flush()


def run_analyse(directory: str | None, workers: int | None = None) -> int:
    """``moodtui analyse [DIR]``: every audio file below DIR into the analysis cache, on every
    core, with a progress bar (files/s, ETA) on stderr and a summary of failures; exit code 1 if
    any file failed."""
    import time

    from rich.console import Console
    from rich.markup import escape
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from moodtui.analysis import AnalysisCache, analyse_paths
    from moodtui.library import resolve_library_dir, walk_audio_files
    from moodtui.pool import worker_count
    from moodtui.registry import load_current_model

    err = Console(stderr=True, highlight=False)
    folder, notice = resolve_library_dir(directory)
    if notice:
        err.print(f"moodtui: {notice}", markup=False)
    model, model_notice = load_current_model()
    if model_notice:
        err.print(f"moodtui: {model_notice}", markup=False)
    paths = [entry.path for entry in walk_audio_files(folder, on_error=lambda e: err.print(
        f"moodtui: {display_path(e.filename or folder)}: cannot read the folder ({e.strerror or e})", markup=False))]
    count = worker_count(playing=False, setting=workers)
    failures: dict[str, str] = {}
    cached = analysed = decoded = 0  # decoded: files read this run (analysed or failed)
    started = time.monotonic()
    progress = Progress(TextColumn("analysing"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("{task.fields[rate]}"), TextColumn("ETA"), TimeRemainingColumn(),
                        TextColumn("elapsed"), TimeElapsedColumn(), console=err, transient=False)
    with progress:
        task = progress.add_task("analyse", total=len(paths), rate="")

        def arrived(result) -> None:
            nonlocal cached, analysed, decoded
            if not result.cached:
                decoded += 1
            if result.error is not None:
                failures[result.path] = result.error
                progress.console.print(f"moodtui: {escape(display_path(result.path))}: {escape(result.error)}",
                                       soft_wrap=True)
            elif result.cached:
                cached += 1
            else:
                analysed += 1
            elapsed = time.monotonic() - started
            progress.update(task, advance=1, rate=f"{decoded / elapsed:.2f} files/s" if decoded else "")

        analyse_paths(paths, model, AnalysisCache(), workers=count, on_result=arrived)
    seconds = time.monotonic() - started
    rate = f", {decoded / seconds:.2f} files/s" if decoded and seconds > 0 else ""
    print(f"{len(paths)} files in {display_path(folder)}: {analysed} analysed, {cached} from the cache, "
          f"{len(failures)} failed; {seconds:.1f} s on {count} processes{rate} (model {model.version})")
    if failures:
        print("failed:")
        for path, reason in failures.items():
            print(f"  {display_path(path)}: {reason}")
    return 1 if failures else 0


def _print_mood(console, mood) -> None:
    from rich.table import Table

    table = Table(title=f"{display_path(mood.path)}  ({mood.duration_s:.1f} s, model {mood.model_version})",
                  title_justify="left")
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
        from moodtui.analysis import energy_word

        table.add_row("energy", f"{mood.energy:.2f}", "", "", energy_word(mood.energy))
    console.print(table)


def run_models(as_json: bool) -> int:
    from rich.console import Console
    from rich.table import Table

    from moodtui.registry import describe, head_cell, list_versions, read_current, songs_cell

    _name, notice = read_current()
    if notice:
        print(f"moodtui: {notice}", file=sys.stderr)
    rows = [describe(v) for v in list_versions()]
    if as_json:
        print(json.dumps(rows, indent=2))
        return 0
    table = Table(title="model versions (* = in use)", title_justify="left")
    for column in ("", "version", "created", "kind", "songs", "head (chosen by held-out songs)",
                   "validation acc.", "agreement (held out)"):
        table.add_column(column)
    for row in rows:
        def pct(value: object) -> str:
            return f"{100 * float(value):.1f} %" if isinstance(value, (int, float)) else "-"

        table.add_row("*" if row["current"] else "", str(row["version"]), str(row["created"] or "-"),
                      str(row["kind"] or "-"), songs_cell(row), head_cell(row), pct(row["song_accuracy"]),
                      pct(row["agreement"]) if not row["error"] else f"[red]{row['error']}[/]")
    Console(highlight=False).print(table)
    for row in rows:
        if row.get("guard") and not row["guard"].get("switched") and not row["current"]:
            from moodtui.retrain import guard_message

            name = str(row["version"])
            print(f"{name}: {guard_message(row['guard'], name, f'`moodtui rollback {name}`')}")
    return 0


def run_rollback(version: str | None) -> int:
    from moodtui.registry import BASE, current_name, list_versions, roll_back

    versions = [v.name for v in list_versions()]
    if version is None:
        current = current_name()
        if current == BASE:
            print("moodtui: nothing to roll back to: the base model is in use "
                  "(`moodtui models` lists the versions; `moodtui rollback VERSION` picks one)", file=sys.stderr)
            return 1
        personal = [v for v in versions if v != BASE]
        # The previous version: the next older personal one, else the base.
        older = [v for v in personal if current == BASE or v < current]
        version = older[0] if older and current != BASE else BASE
    roll_back(version)
    print(f"moodtui: now using model {version}")
    return 0
