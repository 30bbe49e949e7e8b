#!/usr/bin/env python3
"""Player benchmark: responsiveness of the real Textual app (headless, through its Pilot).

Figures, each with a baseline measured in the same run:

1. the track table with 10,000 rows: fill and re-filter, the virtual list vs Textual's DataTable;
2. start on a 10,000-file library: first rows on screen and the full table, cold (empty data
   folder: every tag read) and warm (second start: the index cache);
3. Enter -> first slice of the mood on screen, in a warm app, for songs not analysed yet (while
   the library is analysed in the background) and for cached songs; baseline: analysing the
   whole song first (what a non-streaming player would make you wait for);
4. the longest UI stall (event-loop lag, measured by a 10 ms timer) while idle (baseline), while
   scrolling and filtering 10,000 rows, while the library is analysed in the background, and
   during a retrain (the training job in its subprocess).

    python scripts/bench_tui.py --model /path/to/model.onnx   # default: the shipped base model

The model needs its .keras and -replay.npz beside it for the retrain figure (else it is skipped).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))  # make_big_library, next to this file

from make_big_library import make_library  # noqa: E402

SIZE = (120, 40)
LAG_TICK_S = 0.01


class LagMonitor:
    """The event loop's lateness: a timer every 10 ms notes how late each tick came."""

    def __init__(self, app) -> None:
        self.worst = 0.0
        self._last: float | None = None
        app.set_interval(LAG_TICK_S, self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        if self._last is not None:
            self.worst = max(self.worst, now - self._last - LAG_TICK_S)
        self._last = now

    def reset(self) -> None:
        self.worst, self._last = 0.0, None

    def take(self) -> float:
        worst = self.worst
        self.reset()
        return worst * 1000


def all_analysed(app) -> bool:
    """Every track has a mood or an error, and the background analysis has stopped."""
    return app.analysis.progress is None and all(
        row.predicted is not None or row.error is not None for row in app.view.rows
    )


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_tui: timed out after {timeout:.0f} s waiting for {what}")
        await pilot.pause(0.005)


def write_songs(folder: Path, count: int, seconds: float) -> list[Path]:
    """Songs of ``seconds`` each: chords over filtered noise, in mp3, flac and ogg in turn."""
    rate = 22_050
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(0)
    paths = []
    for i in range(count):
        root = 110 * 2 ** (i % 12 / 12)
        signal = sum(np.sin(2 * np.pi * root * ratio * t) for ratio in (1, 1.25, 1.5)) * 0.1
        signal += 0.05 * np.convolve(rng.standard_normal(t.size), np.ones(8) / 8, mode="same")
        path = folder / f"{i:03d} song.{('mp3', 'flac', 'ogg')[i % 3]}"
        # In blocks: one soundfile.write of a few minutes of ogg/vorbis crashes libsndfile 1.2.2.
        with soundfile.SoundFile(path, "w", rate, 1) as output:
            for start in range(0, signal.size, 65536):
                output.write(signal[start : start + 65536].astype(np.float32))
        paths.append(path)
    return paths


# -- 1. the table ------------------------------------------------------------------------------------


async def bench_table() -> None:
    from textual.app import App
    from textual.widgets import DataTable

    from moodtui.library.scan import Track
    from moodtui.library.view import LibraryView
    from moodtui.tui.widgets.track_list import TrackList

    tracks = [
        Track(
            Path(f"/m/Artist {i // 50:04d}/Album {i // 10:05d}/{i:06d}.mp3"),
            f"Song {i:06d}",
            f"Artist {i // 50:04d}",
            f"Album {i // 10:05d}",
            i % 10 + 1,
            180.0 + i % 60,
            1,
            1,
        )
        for i in range(10_000)
    ]

    class Tables(App):
        def compose(self):
            yield DataTable(id="data-table")
            yield TrackList(id="virtual")

    app = Tables()
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(DataTable)
        table.add_columns("title", "artist", "album", "time", "mood")
        cells = [(t.title, t.artist, t.album, "3:00", "positive 71%") for t in tracks]
        start = time.perf_counter()
        table.add_rows(cells)
        await pilot.pause()
        datatable_fill = time.perf_counter() - start
        start = time.perf_counter()
        table.clear()
        table.add_rows([c for c in cells if "5" in c[0].lower().split()[-1]])
        await pilot.pause()
        datatable_filter = time.perf_counter() - start

        view, virtual = LibraryView(), app.query_one(TrackList)
        start = time.perf_counter()
        view.add_tracks(tracks)
        virtual.show_rows(view.apply())
        await pilot.pause()
        virtual_fill = time.perf_counter() - start
        start = time.perf_counter()
        view.text_filter = "5"
        virtual.show_rows(view.apply())
        await pilot.pause()
        virtual_filter = time.perf_counter() - start
    print(f"1. track table, 10,000 rows (fill / filter to {len(view.visible):,} rows, with a screen refresh)")
    print(f"   DataTable (baseline): {datatable_fill * 1000:7.0f} ms / {datatable_filter * 1000:5.0f} ms")
    print(
        f"   virtual list:         {virtual_fill * 1000:7.0f} ms / {virtual_filter * 1000:5.0f} ms"
        f"   ({datatable_fill / virtual_fill:.0f}x / {datatable_filter / virtual_filter:.0f}x faster)"
    )


# -- 2. start on 10,000 files, and stalls while using the table ------------------------------------


async def start_once(library: Path) -> tuple[float, float, float, dict[str, float]]:
    from moodtui.tui.app import MoodApp

    app = MoodApp(library)
    start = time.perf_counter()
    stalls: dict[str, float] = {}
    async with app.run_test(size=SIZE) as pilot:
        lag = LagMonitor(app)
        await wait_until(pilot, lambda: bool(app.track_list.rows), 120, "the first rows")
        first_rows = time.perf_counter() - start
        await wait_until(pilot, lambda: app.scan_done, 600, "the scan")
        table = time.perf_counter() - start
        stalls["scan"] = lag.take()
        await wait_until(
            pilot, lambda: app.model is not None and app.moods_version == app.model.version, 60, "the model"
        )
        await wait_until(pilot, lambda: all_analysed(app), 600, "the library analysis")
        analysed = time.perf_counter() - start
        stalls["library analysis"] = lag.take()
        await pilot.pause(0.3)
        lag.reset()
        await pilot.pause(1.0)
        stalls["idle"] = lag.take()
        for key in ("pagedown",) * 20 + ("end", "home") + ("down",) * 20:
            await pilot.press(key)
        await pilot.pause(0.1)
        stalls["scrolling"] = lag.take()
        await pilot.press("slash", *"song 0001", "escape", "s", "s", "s", "s", "s", "s", "2", "0")
        await pilot.pause(0.1)
        stalls["filter + sort"] = lag.take()
    return first_rows, table, analysed, stalls


def bench_start(library: Path, home: Path) -> dict[str, float]:
    os.environ["MOODTUI_HOME"] = str(home)
    cold = asyncio.run(start_once(library))
    warm = asyncio.run(start_once(library))
    print("2. start on a 10,000-file library (first rows on screen / whole table / every file analysed)")
    print(f"   cold (empty data folder): {cold[0]:6.2f} s / {cold[1]:6.2f} s / {cold[2]:6.2f} s")
    print(
        f"   warm (second start):      {warm[0]:6.2f} s / {warm[1]:6.2f} s / {warm[2]:6.2f} s"
        f"   (whole table {cold[1] / warm[1]:.0f}x faster)"
    )
    stalls = {f"cold {k}": v for k, v in cold[3].items() if k in ("scan", "library analysis")}
    stalls.update({f"warm {k}": v for k, v in warm[3].items()})
    return stalls


# -- 3. Enter -> first slice -------------------------------------------------------------------------


async def first_slices(library: Path) -> tuple[list[float], list[float], list[float], float, float]:
    from moodtui.tui.app import MoodApp

    app = MoodApp(library)
    uncached, cached, sound = [], [], []
    async with app.run_test(size=SIZE) as pilot:
        lag = LagMonitor(app)
        await wait_until(
            pilot,
            lambda: app.model is not None and app.scan_done and app.analysis.progress,
            60,
            "the model and the background analysis",
        )
        worst_at_start = lag.take()
        # The last songs of the list: the background analysis has not reached them yet.
        for row in list(app.view.visible)[-5:]:
            elapsed, started = await enter_to_first_slice(pilot, app, row)
            uncached.append(elapsed)
            sound.append(started)
        await wait_until(pilot, lambda: all_analysed(app), 600, "the library analysis")
        worst_during_analysis = lag.take()
        for row in list(app.view.visible)[:5]:
            elapsed, _ = await enter_to_first_slice(pilot, app, row)
            cached.append(elapsed)
    return uncached, cached, sound, worst_at_start, worst_during_analysis


async def enter_to_first_slice(pilot, app, row) -> tuple[float, float]:
    """Seconds from Enter to the first slice drawn (counting one whole frame), and to the track playing."""
    from textual import events

    app.track_list.move_to(row)
    await pilot.pause(0.3)
    start = time.perf_counter()
    app.post_message(events.Key("enter", "\r"))  # as the terminal driver does (Pilot.press adds waits)
    playing = None
    while app.now_playing.current_slice < 0 or app.now_playing.row is not row:
        if playing is None and not app.opening and app.playing is row:
            playing = time.perf_counter() - start
        await pilot.pause(0.001)
    # The panel has it; Textual draws it at its next frame (at most 1/60 s later). Not
    # Pilot.pause(): it waits for the whole app to be idle, which the background analysis delays.
    elapsed = time.perf_counter() - start + 1 / 60
    await wait_until(pilot, lambda: not app.opening, 10, "playback")
    return elapsed, playing if playing is not None else time.perf_counter() - start


def bench_first_slice(folder: Path, home: Path, model_path: Path) -> tuple[float, float]:
    from moodtui.mood.analysis import analyse_file
    from moodtui.mood.model import MoodModel

    songs = write_songs(folder, 20, 180.0)
    os.environ["MOODTUI_HOME"] = str(home)
    uncached, cached, sound, worst_at_start, worst = asyncio.run(first_slices(folder))
    model = MoodModel.load(model_path)
    analyse_file(songs[0], model)  # warm, as the app is
    whole = []
    for song in songs[-5:]:
        start = time.perf_counter()
        analyse_file(song, model)
        whole.append(time.perf_counter() - start)
    print("3. Enter -> first slice on screen, warm app, 3-minute songs (median / worst of 5)")
    print(
        f"   not analysed yet (library analysed meanwhile): {1000 * statistics.median(uncached):5.0f} ms"
        f" / {1000 * max(uncached):5.0f} ms;  Enter -> playing {1000 * statistics.median(sound):4.0f} ms"
    )
    print(
        f"   cached:                                        {1000 * statistics.median(cached):5.0f} ms"
        f" / {1000 * max(cached):5.0f} ms"
    )
    print(
        f"   baseline, whole-song analysis first:           {1000 * statistics.median(whole):5.0f} ms"
        f"   ({statistics.median(whole) / statistics.median(uncached):.1f}x later)"
    )
    return worst_at_start, worst


# -- 4. during a retrain -----------------------------------------------------------------------------


async def retrain_stall(library: Path) -> tuple[float, float, float] | None:
    from moodtui.tui.app import MoodApp

    app = MoodApp(library)
    async with app.run_test(size=SIZE) as pilot:
        lag = LagMonitor(app)
        await wait_until(
            pilot,
            lambda: (
                app.model is not None and app.scan_done and all_analysed(app) and app.moods_version == app.model.version
            ),
            600,
            "the analysis",
        )
        old = app.model.version
        await pilot.press("enter")
        await pilot.pause(0.5)
        lag.reset()
        await pilot.pause(1.0)
        idle_playing = lag.take()
        start = time.perf_counter()
        await pilot.press("R")
        await wait_until(pilot, lambda: not app.model_keeper.retraining, 600, "the retrain")
        if not app.model_keeper.last_retrain.ok:
            print(f"   retrain failed: {'; '.join(app.notices)}")
            return None
        await wait_until(
            pilot,
            lambda: app.model.version != old and app.moods_version == app.model.version,
            60,
            "the new model and its rescored moods",
        )
        return lag.take(), time.perf_counter() - start, idle_playing


def bench_retrain(folder: Path, home: Path, model_path: Path) -> tuple[float, float] | None:
    from moodtui.listener.labels import LabelStore

    if not model_path.with_suffix(".keras").is_file():
        print("4. retrain: skipped (no .keras beside the model)")
        return None
    os.environ["MOODTUI_HOME"] = str(home)
    store = LabelStore(home / "labels.json")
    for i, song in enumerate(sorted(folder.iterdir())[:9]):
        store.add_label(song, ("positive", "neutral", "negative")[i % 3])
    result = asyncio.run(retrain_stall(folder))
    if result is None:
        return None
    worst, seconds, idle_playing = result
    print(f"4. retrain of 9 labelled songs while playing: {seconds:.1f} s, new model in the running app")
    return worst, idle_playing


def main(argv: list[str] | None = None) -> int:
    from moodtui.paths import shipped_model_path

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="ONNX model (default: the shipped base model)")
    parser.add_argument("--count", type=int, default=10_000, help="files in the big library (default 10000)")
    args = parser.parse_args(argv)
    model_path = (args.model or shipped_model_path()).resolve()
    if not model_path.is_file():
        print(f"bench_tui: no model at {model_path}; pass --model", file=sys.stderr)
        return 1
    os.environ["MOODTUI_BASE_MODEL"] = str(model_path)
    print(f"model {model_path}")
    with tempfile.TemporaryDirectory(prefix="moodtui-bench-tui-") as tmp:
        root = Path(tmp)
        asyncio.run(bench_table())
        big = root / "big"
        start = time.perf_counter()
        make_library(big, args.count)
        print(f"   ({args.count:,} files generated in {time.perf_counter() - start:.1f} s)")
        stalls = bench_start(big, root / "home-big")
        songs = root / "songs"
        songs.mkdir()
        stalls["start-up: model loading, scan"], stalls["analysing 3-min songs, pressing Enter"] = bench_first_slice(
            songs, root / "home-songs", model_path
        )
        retrain = bench_retrain(songs, root / "home-songs", model_path)
        if retrain is not None:
            stalls["retrain (playing)"], stalls["baseline: playing, idle"] = retrain
    print("5. longest UI stall (event-loop lag, ms; 10 ms timer)")
    baseline = stalls.get("warm idle", 0.0)
    for name, worst in stalls.items():
        print(f"   {name:<48} {worst:6.1f} ms" + (f"   ({worst / baseline:.1f}x idle)" if baseline else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
