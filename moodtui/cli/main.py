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

COMMANDS = ("predict", "analyse", "train", "label", "labels", "models", "rollback", "export", "imac-match", "play")


def _add_home(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Before or after the sub-command: the sub-command's default must not hide the top one's value.
    parser.add_argument(
        "--home",
        type=Path,
        default=None if top else argparse.SUPPRESS,
        help="data folder (models, labels, caches); default $MOODTUI_HOME or the user data dir",
    )


def _add_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="analysis processes (default: $MOODTUI_WORKERS, else one per core)",
    )


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The command line. Given ``argv``, the training job's options are only added when it names
    the ``train`` command: they live with the job, whose imports (scipy.optimize ...) cost every
    other command about half a second of start-up."""
    from moodtui.player.radio import STATION_IDS

    parser = argparse.ArgumentParser(
        prog="moodtui",
        description="A terminal music player that learns how you feel about your music. "
        "`moodtui [DIR]` opens the player; the sub-commands work without it.",
    )
    parser.add_argument("--version", action="version", version=f"moodtui {__version__}")
    _add_home(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    play = sub.add_parser("play", help="open the player on DIR (the default command)")
    play.add_argument(
        "directory",
        nargs="?",
        default=None,
        help="music folder (default: config.toml's library, else ~/Music, else the demo library)",
    )
    play.add_argument(
        "--radio",
        choices=STATION_IDS,
        default=None,
        help="open already playing this station: a mood or an energy range from the whole library, "
        "or a mood path (lift: negative to positive; wind-down: energetic to calm)",
    )
    play.add_argument(
        "--config", type=Path, default=None, help="settings file (default $XDG_CONFIG_HOME/moodtui/config.toml)"
    )
    _add_home(play)

    predict = sub.add_parser("predict", help="per-slice and song-level mood of audio files")
    predict.add_argument("files", nargs="+", type=os.fsencode, metavar="FILE", help="audio files or folders")
    predict.add_argument("--json", action="store_true", help="one JSON array on stdout")
    _add_workers(predict)
    _add_home(predict)

    analyse = sub.add_parser(
        "analyse", aliases=["analyze"], help="analyse a whole library into the cache (progress, ETA, failures)"
    )
    analyse.add_argument("directory", nargs="?", default=None, help="music folder (default as for the player)")
    _add_workers(analyse)
    _add_home(analyse)

    train = sub.add_parser("train", help="train or fine-tune the model (TensorFlow, its own process)")
    if argv is None or "train" in argv:
        from moodtui.train.job import add_arguments

        add_arguments(train)
    _add_home(train)

    label = sub.add_parser(
        "label",
        help="say how songs feel to you: FILE... MOOD",
        usage="moodtui label [-h] [--home HOME] FILE [FILE ...] {" + ",".join(CLASSES) + "}",
    )
    label.add_argument(
        "files",
        nargs="+",
        type=os.fsencode,
        metavar="FILE",
        help="one or more files or folders (every song below a folder), then the mood (" + " / ".join(CLASSES) + ")",
    )
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
    args = build_parser(argv).parse_args(argv)
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
    from moodtui.cli.analyse import run_analyse
    from moodtui.cli.models import run_models, run_rollback
    from moodtui.cli.predict import run_predict
    from moodtui.paths import data_home

    if args.command == "play":
        from moodtui.tui.run import run_app

        return run_app(args.directory, radio=args.radio)
    if args.command == "predict":
        return run_predict([Path(os.fsdecode(f)) for f in args.files], args.json, args.workers)
    if args.command in ("analyse", "analyze"):
        return run_analyse(args.directory, args.workers)
    if args.command == "train":
        from moodtui.train.job import main as train_main

        return train_main(args)
    if args.command == "label":
        from moodtui.cli.labels import run_label

        *files, mood = [os.fsdecode(f) for f in args.files]
        if not files or mood not in CLASSES:
            print(
                f"moodtui label: give one or more files, then the mood ({' / '.join(CLASSES)}); "
                f"got {display_path(mood)!r} last",
                file=sys.stderr,
            )
            return 2
        from moodtui.library.scan import expand_folders

        # A folder labels every song below it. Every file is tried; the exit code is 1 if any
        # could not be labelled.
        codes = [0]
        for path, problem in expand_folders(files):
            if problem is not None:
                print(f"moodtui: {display_path(path)}: {problem}", file=sys.stderr)
            codes.append(1 if problem is not None else run_label(path, mood, data_home()))
        return max(codes)
    if args.command == "labels":
        from moodtui.cli.labels import run_labels

        return run_labels(data_home(), args.json)
    if args.command == "models":
        return run_models(args.json)
    if args.command == "rollback":
        return run_rollback(args.version)
    if args.command == "export":
        from moodtui.cli.export import run_export

        return run_export(args.mood, args.output, args.directory)
    if args.command == "imac-match":
        from moodtui.cli.imac_match import run_imac_match

        return run_imac_match(args.directory, args.json)
    raise AssertionError(args.command)


def write_json(value: object) -> None:
    """``value`` as one line of UTF-8 JSON on stdout. A path that is not valid UTF-8 holds
    surrogate escapes (os.fsdecode): they become JSON ``\\udcNN`` escapes, which any JSON reader
    decodes back to the same surrogates, so ``os.fsencode`` gives the file's real bytes."""
    text = json.dumps(value, ensure_ascii=False) + "\n"
    sys.stdout.flush()
    sys.stdout.buffer.write(text.encode("utf-8", "backslashreplace"))
    sys.stdout.buffer.flush()
