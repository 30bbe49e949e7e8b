#!/usr/bin/env python3
"""Resume benchmark: start-up to the restored track on screen, on a 10,000-track library.

The real Textual app (headless, through its Pilot) starts with a saved session (``session.json``
naming a track deep in the library, paused at a position) and the clock stops when that track is
open in the player, paused at the position, with its title in the now-playing panel. Cold: an
empty data folder (every file's tags read); warm: the second start (the index cache).

Baseline, measured in the same run: the same start without a session, to the whole table on
screen (what a listener waits for anyway before choosing a track by hand).

    python scripts/bench_resume.py [--count 10000] [--model model.onnx]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # make_big_library, next to this file

from make_big_library import make_library  # noqa: E402

SIZE = (120, 40)
POSITION_S = 0.25


async def start_once(library: Path, track: Path | None) -> float:
    """Seconds from the app's start to the restored track on screen (``track``), or to the whole
    table when there is no session to restore (``track`` None)."""
    from moodtui.tui.app import MoodApp

    app = MoodApp(library)
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        if track is None:
            done = lambda: app.scan_done and bool(app.track_list.rows)  # noqa: E731
        else:

            def done() -> bool:
                row = app.playing
                return (
                    row is not None
                    and row.track.path == track
                    and not app.opening
                    and app.player.is_paused
                    and row.track.title in app.now_playing.plain_text()
                )

        deadline = time.monotonic() + 600
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit("bench_resume: timed out")
            await pilot.pause(0.005)
        elapsed = time.perf_counter() - start
        if track is not None:
            assert abs(app.player.position_s - POSITION_S) < 0.1, app.player.position_s
    return elapsed


def save_session_for(track: Path) -> None:
    from moodtui.player.session import Session, save_session

    save_session(Session(track=os.fsdecode(track), position_s=POSITION_S, volume=0.8))


def main(argv: list[str] | None = None) -> int:
    from moodtui.paths import shipped_model_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the shipped base model)")
    parser.add_argument("--count", type=int, default=10_000, help="files in the library (default 10000)")
    args = parser.parse_args(argv)
    os.environ["MOODTUI_BASE_MODEL"] = str((args.model or shipped_model_path()).resolve())
    with tempfile.TemporaryDirectory(prefix="moodtui-bench-resume-") as tmp:
        root = Path(tmp)
        library = root / "library"
        start = time.perf_counter()
        make_library(library, args.count)
        files = sorted(library.rglob("*.*"))
        track = files[len(files) * 3 // 4]  # deep in the scan order
        print(
            f"{args.count:,} files generated in {time.perf_counter() - start:.1f} s; "
            f"restored track: {track.relative_to(library)}"
        )
        figures = {}
        for kind, home, baseline_home in (("cold", "home-a", "home-b"), ("warm", "home-a", "home-a")):
            os.environ["MOODTUI_HOME"] = str(root / home)  # cold: empty; warm: the cold run's (index cache)
            save_session_for(track)
            restored = asyncio.run(start_once(library, track))
            (root / home / "session.json").unlink(missing_ok=True)
            os.environ["MOODTUI_HOME"] = str(root / baseline_home)
            figures[kind] = (restored, asyncio.run(start_once(library, None)))
    print("start-up to the restored track on screen (paused at its position) / baseline: whole table, no session")
    for kind, (restored, baseline) in figures.items():
        print(f"   {kind}: {restored:6.2f} s / {baseline:6.2f} s   (ratio {restored / baseline:.2f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
