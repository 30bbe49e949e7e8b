#!/usr/bin/env python3
"""Benchmarks of a library that keeps up, and of MPRIS, each with a baseline from the same run.

1. time from a file appearing in the music folder (10,000 files) to its row in the running app,
   by inotify and by polling; baseline: the raw watcher's own notice (watchfiles, no app);
2. the longest UI stall (event-loop lag, 10 ms timer) during an F5 rescan of 10,000 files;
   baseline: the longest stall while idle for as long;
3. MPRIS PlayPause round trip (a dbus-fast client in another process, private bus from
   dbus-run-session); baseline: a Ping round trip to the bus daemon itself.

No mood model is loaded (MOODTUI_BASE_MODEL points nowhere), so only the library and the bus
are measured.

    python scripts/bench_library_sync.py [--count 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_tui import LagMonitor, wait_until  # noqa: E402
from make_big_library import make_library  # noqa: E402

from audio_factory import write_song  # noqa: E402

SIZE = (120, 40)


def ms(seconds: float) -> str:
    return f"{1000 * seconds:7.2f} ms"


# -- 1. a new file to its row ------------------------------------------------------------------------


def raw_watch_latency(folder: Path, template: Path, repeats: int, polling: bool) -> list[float]:
    """Seconds from os.replace of a new file to watch_folder's callback (no app)."""
    from moodtui.library.watcher import watch_folder

    arrived: dict[Path, float] = {}
    stop = threading.Event()

    def seen(paths: list[Path]) -> None:
        now = time.perf_counter()
        for path in paths:
            arrived.setdefault(path, now)

    thread = threading.Thread(target=watch_folder, args=(folder, seen, stop), kwargs={"polling": polling}, daemon=True)
    thread.start()
    time.sleep(2.0)
    figures = []
    for k in range(repeats):
        target = folder / f"raw-{polling}-{k}.ogg"
        temp = folder / f".incoming-{k}"
        shutil.copy(template, temp)
        start = time.perf_counter()
        os.replace(temp, target)
        deadline = start + 10
        while target not in arrived and time.perf_counter() < deadline:
            time.sleep(0.002)
        figures.append(arrived.get(target, float("nan")) - start)
        time.sleep(0.3)
    stop.set()
    thread.join(5)
    return figures


async def app_latency(library: Path, template: Path, repeats: int, mode: str) -> list[float]:
    from moodtui.tui.app import MoodApp

    app = MoodApp(library)
    figures = []
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.scan_done and len(app.view.rows) > 0, 600, "the first scan")
        await pilot.pause(2.0)  # the watcher is in place
        for k in range(repeats):
            folder = library / "Bench Artist" / f"Album {mode} {k}"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / "new song.ogg"
            temp = library / f".incoming-{k}"
            shutil.copy(template, temp)
            start = time.perf_counter()
            os.replace(temp, target)
            await wait_until(pilot, lambda t=str(target): t in app.view.by_path, 30, "the new row")
            figures.append(time.perf_counter() - start)
            await pilot.pause(0.3)
    return figures


# -- 2. stalls during a rescan -----------------------------------------------------------------------


async def rescan_stall(library: Path) -> tuple[float, float, float]:
    """(worst stall while idle in ms, worst stall during the rescan in ms, rescan seconds)."""
    from moodtui.tui.app import MoodApp

    os.environ["MOODTUI_WATCH"] = "off"
    app = MoodApp(library)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.scan_done and len(app.view.rows) > 0, 600, "the first scan")
        await pilot.pause(1.0)
        lag = LagMonitor(app)
        notices = len(app.notices)
        start = time.perf_counter()
        await pilot.press("f5")
        await wait_until(pilot, lambda: any(n.startswith("library:") for n in app.notices[notices:]), 600, "the rescan")
        took = time.perf_counter() - start
        during = lag.take()
        await pilot.pause(took)
        idle = lag.take()
    del os.environ["MOODTUI_WATCH"]
    return idle, during, took


# -- 3. MPRIS --------------------------------------------------------------------------------------

MPRIS_CLIENT = r"""
import asyncio, json, sys, time
from dbus_fast import Message
from dbus_fast.aio import MessageBus
from dbus_fast.service import ServiceInterface, method

class Echo(ServiceInterface):
    def __init__(self):
        super().__init__("org.moodtui.BenchEcho")

    @method()
    def Ping(self) -> None:
        return None

async def main(repeats):
    bus = await MessageBus().connect()
    bus.export("/echo", Echo())
    async def round_trip(**message):
        start = time.perf_counter()
        reply = await bus.call(Message(**message))
        assert reply.message_type.name == "METHOD_RETURN", reply.body
        return time.perf_counter() - start
    # Baseline: the same trip through the bus daemon to a dbus-fast service that does nothing.
    ping = [await round_trip(destination=bus.unique_name, path="/echo", interface="org.moodtui.BenchEcho",
                             member="Ping") for _ in range(repeats)]
    play_pause = []
    for _ in range(repeats):
        play_pause.append(await round_trip(destination="org.mpris.MediaPlayer2.moodtui", path="/org/mpris/MediaPlayer2",
                                           interface="org.mpris.MediaPlayer2.Player", member="PlayPause"))
        await asyncio.sleep(0.05)
    print(json.dumps({"ping": ping, "play_pause": play_pause}))

asyncio.run(main(int(sys.argv[1])))
"""


async def mpris_round_trips(library: Path, repeats: int) -> dict[str, list[float]]:
    from moodtui.tui.app import MoodApp

    app = MoodApp(library)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.mpris.active and app.scan_done, 60, "the MPRIS name")
        result = await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-c", MPRIS_CLIENT, str(repeats)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if result.returncode != 0:
            raise SystemExit(f"bench_library_sync: the MPRIS client failed: {result.stderr.strip()}")
    return json.loads(result.stdout)


def with_private_bus() -> subprocess.Popen[str] | None:
    if shutil.which("dbus-run-session") is None:
        return None
    bus = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", 'echo "$DBUS_SESSION_BUS_ADDRESS"; exec sleep 600'],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert bus.stdout is not None
    os.environ["DBUS_SESSION_BUS_ADDRESS"] = bus.stdout.readline().strip()
    return bus


def summary(figures: list[float]) -> str:
    return f"median {ms(statistics.median(figures))}, worst {ms(max(figures))} (n={len(figures)})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000, help="files in the library (default 10000)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="moodtui-bench-sync-") as tmp:
        root = Path(tmp)
        os.environ["MOODTUI_HOME"] = str(root / "home")
        os.environ["MOODTUI_BASE_MODEL"] = str(root / "no-model.onnx")  # the library only
        os.environ["MOODTUI_CONFIG"] = str(root / "no-config.toml")
        library = root / "music"
        start = time.perf_counter()
        make_library(library, args.count)
        print(f"({args.count:,} files generated in {time.perf_counter() - start:.1f} s)")
        template = write_song(root / "template.ogg", "positive", 4.0)

        print("1. a new file to its row in the running app (10 ms polls of the table)")
        for mode, polling in (("inotify", False), ("poll", True)):
            raw_folder = root / f"raw-{mode}"
            raw_folder.mkdir()
            raw = raw_watch_latency(raw_folder, template, args.repeats, polling)
            os.environ["MOODTUI_WATCH"] = mode
            row = asyncio.run(app_latency(library, template, args.repeats, mode))
            ratio = statistics.median(row) / statistics.median(raw)
            print(f"   {mode:<8} row:      {summary(row)}")
            print(f"   {mode:<8} baseline: {summary(raw)}  (watcher alone, empty folder)   ratio {ratio:.1f}x")
        del os.environ["MOODTUI_WATCH"]

        print(f"2. longest UI stall during an F5 rescan of {args.count:,} files")
        idle, during, took = asyncio.run(rescan_stall(library))
        print(
            f"   rescan: {during:7.1f} ms worst stall (rescan took {took:.1f} s); baseline idle: {idle:7.1f} ms   "
            f"ratio {during / idle if idle else float('nan'):.1f}x"
        )

        print("3. MPRIS PlayPause round trip (private bus, dbus-fast client in another process)")
        bus = with_private_bus()
        if bus is None:
            print("   skipped: dbus-run-session is not installed (apt install dbus)")
            return 0
        try:
            small = root / "small"
            for k in range(3):
                write_song(small / f"song{k}.wav", "neutral", 8.0, seed=k)
            trips = asyncio.run(mpris_round_trips(small, max(args.repeats, 20)))
        finally:
            os.killpg(bus.pid, signal.SIGTERM)
            bus.wait(10)
        ratio = statistics.median(trips["play_pause"]) / statistics.median(trips["ping"])
        print(f"   PlayPause: {summary(trips['play_pause'])}")
        print(f"   baseline, a dbus-fast method that does nothing: {summary(trips['ping'])}   ratio {ratio:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
