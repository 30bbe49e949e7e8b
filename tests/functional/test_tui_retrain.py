"""`R` in a running player: a real personal retrain (TensorFlow in its own process) on the small model."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
from test_tui import SIZE, make_library, run, screen_text, wait_settled, wait_until
from textual.widgets import DataTable

from moodtui.listener.label_next import changes_summary
from moodtui.listener.labels import LabelStore
from moodtui.mood.versions import current_name, list_versions
from moodtui.tui.app import MoodApp
from moodtui.tui.screens.changes import ChangesScreen
from moodtui.tui.screens.models import ModelsScreen

# Labels that contradict the synthesised sound, so the personal model must move its predictions.
OPPOSITE_LABELS = {"Sunny Days": "negative", "Night Drive": "positive", "Grey Morning": "negative", "Hum": "positive"}


def label_library(home: Path, library: Path) -> None:
    store = LabelStore(home / "labels.json")
    for path in library.glob("*/*.*"):
        title = {
            "Sunny Days.flac": "Sunny Days",
            "Night Drive.ogg": "Night Drive",
            "Grey Morning.flac": "Grey Morning",
            "Hum.ogg": "Hum",
        }[path.name]
        store.add_label(path, OPPOSITE_LABELS[title])


def test_retrain_swaps_the_model_in_the_running_app(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music")
    label_library(model_env, library)
    # An unlabelled minute-long song to play through the retrain, however slow the machine.
    make_library(library, [("long.flac", "neutral", 60.0, "Long Song", "L", "M")])

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            old_version = app.model.version
            before = {row.path: row.predicted.copy() for row in app.view.rows}
            long_song = next(row for row in app.view.rows if row.track.title == "Long Song")
            app.track_list.move_to(long_song)
            await pilot.press("enter")  # playback continues during the retrain
            await wait_until(pilot, lambda: app.playing is long_song and not app.opening, "playback")

            await pilot.press("R")
            assert app.model_keeper.retraining
            await pilot.press("R")
            assert any("already running" in text for text in app.notices)
            await wait_until(pilot, lambda: app.status_bar.progress_bar.display, "progress", timeout=120)
            assert "retrain: " in screen_text(app)
            assert app.player.position_s > 0 and app.player.is_playing

            await wait_until(pilot, lambda: app.model.version != old_version, "the new model", timeout=180)
            await wait_until(pilot, lambda: app.moods_version == app.model.version, "the rescored moods")
            await wait_settled(pilot, app)
            assert not app.model_keeper.retraining and not app.status_bar.progress_bar.display
            assert any(text.startswith("new model ") for text in app.notices), app.notices
            new_model_notice = next(text for text in app.notices if text.startswith("new model "))
            assert "the new model agrees with" in new_model_notice and "switched to the new model" in new_model_notice
            # What changed: the summary in the notice, and the screen listing the songs.
            changes = app.model_keeper.last_changes
            if not changes:
                # Seen once in a full CI run: the head the job chose by cross-validation on these 4
                # songs moved none of them across a class boundary (the guard allows a tie with the
                # current model). Then the notice must say so and no changes screen may open.
                head = (app.model.metadata.get("personal") or {}).get("head")
                assert "no song changes mood" in new_model_notice, (new_model_notice, head)
                await pilot.pause(0.3)
                assert not isinstance(app.screen, ChangesScreen), head
                return
            assert changes_summary(changes) in new_model_notice  # "1 song changes" or "N songs change"
            await wait_until(pilot, lambda: isinstance(app.screen, ChangesScreen), "the mood changes screen")
            listed = app.screen.query_one(DataTable)
            assert [key.value for key in listed.rows] == [change.path for change in changes]
            labelled = {row.path for row in app.view.rows if row.user_label is not None}
            assert labelled <= {change.path for change in changes}, "every contradicted song changes mood"
            if long_song.path in {change.path for change in changes}:
                assert changes[0].path == long_song.path, "the playing song comes first"
            assert "change mood" in screen_text(app)
            await pilot.press("escape")
            assert f"model {app.model.version}" in screen_text(app)
            changed = [
                not np.allclose(row.predicted, before[row.path], atol=1e-3)
                for row in app.view.rows
                if row.user_label is not None
            ]
            assert all(changed), "the personal model should change the prediction of every labelled song"
            # The playing song is analysed again under the new model.
            await wait_until(
                pilot,
                lambda: app.now_playing.song is not None and app.now_playing.song.model_version == app.model.version,
                "re-analysis",
            )

    run(scenario)


def test_quitting_during_a_retrain_stops_the_job(model_env: Path, tmp_path: Path) -> None:
    library = make_library(tmp_path / "music")
    label_library(model_env, library)
    job: dict[str, int] = {}

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            await pilot.press("R")
            await wait_until(pilot, lambda: app.model_keeper.job is not None and app.model_keeper.job.pid, "the job")
            job["pid"] = app.model_keeper.job.pid
            job["q"] = time.monotonic()
            await pilot.press("q")

    run(scenario)
    assert time.monotonic() - job["q"] < 5.0
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(job["pid"], 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError("the training job is still running after quitting")


def test_a_failed_retrain_keeps_the_model_and_says_why(
    model_env: Path, small_model: Path, tmp_path: Path, monkeypatch
) -> None:
    # A base model without its Keras weights: the personal retrain cannot start from it.
    base = tmp_path / "no-keras"
    base.mkdir()
    for suffix in (".onnx", ".json"):
        shutil.copy(small_model.with_suffix(suffix), base / f"model{suffix}")
    monkeypatch.setenv("MOODTUI_BASE_MODEL", str(base / "model.onnx"))
    library = make_library(tmp_path / "music")
    label_library(model_env, library)

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            version = app.model.version
            before = {row.path: row.predicted.copy() for row in app.view.rows}
            await pilot.press("R")
            await wait_until(pilot, lambda: not app.model_keeper.retraining, "the retrain to end", timeout=120)
            assert app.model_keeper.last_retrain is not None and not app.model_keeper.last_retrain.ok
            failure = next(text for text in app.notices if text.startswith("retrain failed"))
            assert "the previous model stays in use" in failure and len(failure.splitlines()) == 1
            assert app.model.version == version
            for row in app.view.rows:
                np.testing.assert_array_equal(row.predicted, before[row.path])

    run(scenario)


def test_a_worse_retrain_is_kept_but_not_switched_on(model_env: Path, tmp_path: Path) -> None:
    from conftest import run_moodtui

    library = make_library(tmp_path / "music")
    label_library(model_env, library)
    # A personal model that learned the listener is in use.
    trained = run_moodtui("train", timeout=600)
    assert trained.returncode == 0, trained.stderr.decode()[-1500:]
    personal = current_name()
    assert personal != "base"

    async def scenario() -> None:
        app = MoodApp(library)
        async with app.run_test(size=SIZE) as pilot:
            await wait_settled(pilot, app)
            assert app.model.version == personal
            before = {row.path: row.predicted.copy() for row in app.view.rows}
            # A retrain that may only keep the base's own layer: worse on the listener's songs.
            app.model_keeper.retrain_args = ("--heads", "base", "--version", "worse")
            await pilot.press("R")
            await wait_until(
                pilot,
                lambda: app.model_keeper.last_retrain is not None and not app.model_keeper.retraining,
                "the retrain to end",
                timeout=180,
            )
            result = app.model_keeper.last_retrain
            assert result.ok and not result.switched, result
            kept = next(text for text in app.notices if "kept the current one" in text)
            assert kept.startswith("the new model agrees with ") and "`m` to switch anyway" in kept
            assert app.model.version == personal and current_name() == personal
            for row in app.view.rows:
                np.testing.assert_array_equal(row.predicted, before[row.path])
            assert "worse" in [v.name for v in list_versions()]
            # `m` lists it; Enter on it switches anyway.
            await pilot.press("m")
            await wait_until(pilot, lambda: isinstance(app.screen, ModelsScreen), "the models screen")
            table = app.screen.query_one(DataTable)
            await wait_until(pilot, lambda: table.row_count > 0, "the versions")
            assert "worse" in [key.value for key in table.rows]

    run(scenario)
