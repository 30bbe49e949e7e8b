"""The player keeps up with the disk: the folder watcher (inotify and polling), F5 rescan, and
labels / models written by the command line while the app runs. Real files, the real app (Pilot)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_tui import make_library, run, wait_settled, wait_until

from audio_factory import write_song
from moodtui.library.watcher import DataFolderWatch, watch_folder
from moodtui.tui.app import MoodApp

SIZE = (110, 34)


def titles(app: MoodApp) -> list[str]:
    return sorted(row.track.title for row in app.view.rows)


@pytest.mark.parametrize("polling", [False, True], ids=["inotify", "polling"])
def test_watch_folder_reports_added_and_removed_files(tmp_path: Path, polling: bool) -> None:
    root = tmp_path / "music"
    root.mkdir()
    seen: list[set[Path]] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=watch_folder, args=(root, lambda p: seen.append(set(p)), stop), kwargs={"polling": polling}, daemon=True
    )
    thread.start()
    time.sleep(1.2)  # the watch (or the first poll) is in place
    song = write_song(root / "A" / "song.wav", "neutral", 0.5)
    deadline = time.monotonic() + 10
    while not any(song in batch or song.parent in batch for batch in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any(song in batch or song.parent in batch for batch in seen), (polling, seen)
    seen.clear()
    song.unlink()
    deadline = time.monotonic() + 10
    while not any(song in batch for batch in seen) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(5)
    assert any(song in batch for batch in seen), (polling, seen)
    assert not thread.is_alive()


def test_data_folder_watch_sees_an_atomic_replace(tmp_path: Path) -> None:
    labels = tmp_path / "labels.json"
    watch = DataFolderWatch({"labels": labels, "model": tmp_path / "models" / "current"})
    assert watch.changed() == set()
    labels.write_text("{}")
    assert watch.changed() == {"labels"}
    assert watch.changed() == set()
    replacement = tmp_path / "labels.tmp"
    replacement.write_text("{}")  # same size, new inode
    replacement.replace(labels)
    assert watch.changed() == {"labels"}


@pytest.mark.parametrize("mode", ["inotify", "poll"])
def test_files_added_and_removed_while_running_reach_the_table(
    tmp_path: Path, model_env: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("MOODTUI_WATCH", mode)
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert len(app.view.rows) == 4
            await pilot.pause(1.2)  # the watcher is in place
            # An untagged file in an Artist/Album folder: its row takes them from the folders.
            write_song(library / "Gamma" / "First Album" / "New Song.wav", "positive", 4.0, seed=9)
            await wait_until(pilot, lambda: "New Song" in titles(app), "the new file's row", timeout=10)
            row = app.view.by_path[str(library / "Gamma" / "First Album" / "New Song.wav")]
            assert (row.track.artist, row.track.album) == ("Gamma", "First Album")
            await wait_until(pilot, lambda: row.predicted is not None, "the new file to be analysed", timeout=20)
            (library / "Beta Crew" / "Hum.ogg").unlink()
            shutil.rmtree(library / "Alpha Band")
            await wait_until(
                pilot, lambda: titles(app) == ["New Song", "Night Drive"], "removed rows to go", timeout=10
            )
            assert any("new file" in notice for notice in app.notices)

    run(scenario)


def test_f5_rescans_and_says_what_changed(tmp_path: Path, model_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODTUI_WATCH", "off")  # only the rescan can see the changes
    library = make_library(tmp_path / "music")

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            write_song(library / "Loose Song.wav", "neutral", 4.0)
            (library / "Beta Crew" / "Hum.ogg").unlink()
            await pilot.pause(1.0)
            assert "Loose Song" not in titles(app)  # nothing watches
            await pilot.press("f5")
            await wait_until(
                pilot, lambda: "Loose Song" in titles(app) and "Hum" not in titles(app), "the rescan", timeout=10
            )
            assert app.notices[-1] == "library: 1 new file, 1 removed"
            await pilot.press("f5")
            await wait_until(pilot, lambda: app.notices[-1] == "library: no changes", "the second rescan", timeout=10)

    run(scenario)


def test_a_label_written_by_the_cli_while_running_shows_in_the_table(
    tmp_path: Path, model_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MOODTUI_WATCH", "off")
    library = make_library(tmp_path / "music")
    song = library / "Beta Crew" / "Hum.ogg"

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            row = app.view.by_path[str(song)]
            assert row.user_label is None
            result = await asyncio_run_cli("label", str(song), "positive")
            assert result.returncode == 0, result.stderr
            started = time.monotonic()
            await wait_until(pilot, lambda: row.user_label == "positive", "the CLI's label in the table", timeout=5)
            assert time.monotonic() - started < 3.5

    run(scenario)


async def asyncio_run_cli(*args: str) -> subprocess.CompletedProcess:
    import asyncio

    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "moodtui", *args], capture_output=True, text=True, timeout=120
    )


def test_a_model_switched_by_the_cli_while_running_is_used(
    tmp_path: Path, model_env: Path, small_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from moodtui.mood.versions import MODEL_FILE, models_root

    monkeypatch.setenv("MOODTUI_WATCH", "off")
    library = make_library(tmp_path / "music")
    version = models_root(model_env) / "personal-test"  # a second version: the small model renamed
    version.mkdir(parents=True)
    shutil.copy(small_model, version / MODEL_FILE)
    meta = json.loads(small_model.with_suffix(".json").read_text())
    meta["version"] = "personal-test"
    (version / MODEL_FILE).with_suffix(".json").write_text(json.dumps(meta))

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert app.model is not None and app.model.version == "test-small"
            result = await asyncio_run_cli("rollback", "personal-test")
            assert result.returncode == 0, result.stderr
            started = time.monotonic()
            await wait_until(
                pilot,
                lambda: app.model is not None and app.model.version == "personal-test",
                "the CLI's model in the app",
                timeout=10,
            )
            assert time.monotonic() - started < 5
            assert any("now using personal-test" in notice for notice in app.notices)

    run(scenario)
