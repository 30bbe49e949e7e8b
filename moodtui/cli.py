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

COMMANDS = ("predict", "train", "label", "labels", "models", "rollback", "export", "imac-match", "play")


def _add_home(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", type=Path, default=None,
                        help="data folder (models, labels, caches); default $MOODTUI_HOME or the user data dir")


def build_parser() -> argparse.ArgumentParser:
    from moodtui.radio import STATION_IDS

    parser = argparse.ArgumentParser(
        prog="moodtui",
        description="A terminal music player that learns how you feel about your music. "
                    "`moodtui [DIR]` opens the player; the sub-commands work without it.")
    parser.add_argument("--version", action="version", version=f"moodtui {__version__}")
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
    _add_home(predict)

    from moodtui.train.job import add_arguments

    train = sub.add_parser("train", help="train or fine-tune the model (TensorFlow, its own process)")
    add_arguments(train)
    _add_home(train)

    label = sub.add_parser("label", help="say how a song feels to you")
    label.add_argument("file", type=os.fsencode)
    label.add_argument("mood", choices=CLASSES)
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
        return run_predict([Path(os.fsdecode(f)) for f in args.files], args.json)
    if args.command == "train":
        from moodtui.train.job import main as train_main

        return train_main(args)
    if args.command == "label":
        from moodtui.store import run_label

        return run_label(os.fsdecode(args.file), args.mood, data_home())
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


def run_predict(files: list[Path], as_json: bool) -> int:
    from rich.console import Console

    from moodtui.analysis import AnalysisCache, analyse_cached
    from moodtui.registry import load_current_model

    err = Console(stderr=True, highlight=False)
    model, notice = load_current_model()
    if notice:
        err.print(f"moodtui: {notice}", markup=False)
    cache = AnalysisCache()
    results: list[dict[str, object]] = []
    failed = 0
    out = Console(highlight=False)
    for path in files:
        try:
            mood = analyse_cached(path, model, cache)
        except MoodtuiError as exc:
            failed += 1
            err.print(f"moodtui: {exc}", markup=False, soft_wrap=True)
            results.append({"path": os.fsdecode(path), "error": getattr(exc, "cause", str(exc))})
            continue
        if mood.warning:
            err.print(f"moodtui: {display_path(path)}: {mood.warning}", markup=False, soft_wrap=True)
        if as_json:
            results.append(mood.to_json())
        else:
            _print_mood(out, mood)
    if as_json:
        write_json(results)
    return 1 if failed else 0


def write_json(value: object) -> None:
    """``value`` as one line of UTF-8 JSON on stdout. A path that is not valid UTF-8 holds
    surrogate escapes (os.fsdecode): they become JSON ``\\udcNN`` escapes, which any JSON reader
    decodes back to the same surrogates, so ``os.fsencode`` gives the file's real bytes."""
    text = json.dumps(value, ensure_ascii=False) + "\n"
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.buffer.flush()


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
    table.add_row("song (mean)", *(f"{p:.2f}" for p in mood.song_probs), mood_markup(mood.label, bold=True))
    table.add_row("votes", *(f"{v:.2f}" for v in mood.votes), "")
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
        personal = [v for v in versions if v != BASE]
        # The previous version: the next older personal one, else the base.
        older = [v for v in personal if current == BASE or v < current]
        version = older[0] if older and current != BASE else BASE
    roll_back(version)
    print(f"moodtui: now using model {version}")
    return 0
