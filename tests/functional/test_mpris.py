"""MPRIS on a real private session bus (dbus-run-session), driven with dbus-send, watched with dbus-monitor."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_tui import make_library, run, wait_until

from moodtui.player.mpris import BUS_NAME, OBJECT_PATH, track_id
from moodtui.tui.app import MoodApp

pytestmark = pytest.mark.skipif(
    shutil.which("dbus-run-session") is None or shutil.which("dbus-send") is None,
    reason="dbus-run-session / dbus-send are not installed (apt install dbus)",
)

SIZE = (110, 34)
PLAYER = "org.mpris.MediaPlayer2.Player"


@pytest.fixture
def session_bus(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private session bus for this test: its address is in DBUS_SESSION_BUS_ADDRESS."""
    process = subprocess.Popen(
        ["dbus-run-session", "--", "sh", "-c", 'echo "$DBUS_SESSION_BUS_ADDRESS"; exec sleep 600'],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    address = process.stdout.readline().strip()
    assert address, "dbus-run-session printed no address"
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", address)
    try:
        yield address
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(10)


def dbus_send(*args: str) -> str:
    result = subprocess.run(
        ["dbus-send", "--session", "--print-reply", f"--dest={BUS_NAME}", OBJECT_PATH, *args],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def get_property(interface: str, name: str) -> str:
    return dbus_send("org.freedesktop.DBus.Properties.Get", f"string:{interface}", f"string:{name}")


async def call(*args: str) -> str:
    """dbus-send from a thread: the app's event loop (which answers) keeps running."""
    return await asyncio.to_thread(dbus_send, *args)


async def prop(interface: str, name: str) -> str:
    return await asyncio.to_thread(get_property, interface, name)


def test_mpris_drives_the_player_on_a_private_bus(tmp_path: Path, model_env: Path, session_bus: str) -> None:
    library = make_library(tmp_path / "music")
    monitor = subprocess.Popen(
        ["dbus-monitor", "--session", f"type='signal',path='{OBJECT_PATH}'"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.mpris.active and app.scan_done, "the MPRIS name and the scan")
            assert 'string "moodtui"' in await prop("org.mpris.MediaPlayer2", "Identity")
            assert '"Stopped"' in await prop(PLAYER, "PlaybackStatus")

            await call(f"{PLAYER}.PlayPause")
            await wait_until(pilot, lambda: app.playing is not None and app.player.is_playing, "playback")
            first = app.playing
            assert '"Playing"' in await prop(PLAYER, "PlaybackStatus")
            # The mood joins the metadata once the playing song is analysed (the analysis pool may
            # take seconds to start): paused meanwhile, so the 6-s song cannot end and move on.
            await call(f"{PLAYER}.Pause")
            await wait_until(pilot, lambda: first.mood is not None, "the playing song's mood", timeout=30)
            await call(f"{PLAYER}.Play")
            assert app.playing is first
            metadata = await prop(PLAYER, "Metadata")
            for expected in (
                f'"{first.track.title}"',
                f'"{first.track.artist}"',
                f'"{first.track.album}"',
                '"mpris:length"',
                '"file://',
                f'object path "{track_id(first.path)}"',
                '"moodtui:mood"',
            ):
                assert expected in metadata, (expected, metadata)

            await call(f"{PLAYER}.Pause")
            assert app.player.is_paused and '"Paused"' in await prop(PLAYER, "PlaybackStatus")
            await call(f"{PLAYER}.Play")
            assert app.player.is_playing

            # Positions are checked paused: under load one dbus-send round trip can take longer
            # than the tolerance, and the song would play on between the call and the check.
            await call(f"{PLAYER}.Pause")
            await call(f"{PLAYER}.SetPosition", f"objpath:{track_id(first.path)}", "int64:3000000")
            assert abs(app.player.position_s - 3.0) < 0.5
            await call(f"{PLAYER}.Seek", "int64:-2000000")
            assert abs(app.player.position_s - 1.0) < 0.5
            await call("org.freedesktop.DBus.Properties.Set", f"string:{PLAYER}", "string:Volume", "variant:double:0.5")
            assert app.player.volume == pytest.approx(0.5)

            await call(f"{PLAYER}.Next")
            await wait_until(pilot, lambda: app.playing is not first, "the next track")
            await call(f"{PLAYER}.Previous")
            await wait_until(pilot, lambda: app.playing is first, "the previous track")
            await call(f"{PLAYER}.Stop")
            assert app.playing is None and '"Stopped"' in await prop(PLAYER, "PlaybackStatus")

            await call("org.mpris.MediaPlayer2.Quit")
            await wait_until(pilot, lambda: app.return_code is not None, "the app to quit", timeout=10)

    try:
        run(scenario)
        time.sleep(0.3)
    finally:
        monitor.terminate()
        output = monitor.communicate(timeout=10)[0]
    assert "member=PropertiesChanged" in output
    assert 'string "PlaybackStatus"' in output and 'string "Playing"' in output and 'string "Paused"' in output
    assert "member=Seeked" in output


def test_without_a_session_bus_the_player_says_nothing(
    tmp_path: Path, model_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "no-runtime"))
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_until(pilot, lambda: app.scan_done, "the scan")
            await pilot.pause(0.3)
            assert not app.mpris.active
            assert not [n for n in app.notices if "bus" in n.lower() or "mpris" in n.lower()]
            await pilot.press("space")
            await wait_until(pilot, lambda: app.playing is not None, "playback without MPRIS")

    run(scenario)
