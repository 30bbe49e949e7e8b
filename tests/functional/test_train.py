"""The training job (`moodtui train`) as a real subprocess: splits, export checks, atomic swaps, failures."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from audio_factory import write_song
from conftest import run_moodtui
from listener_tools import label_songs, opposite_listener
from moodtui import CLASSES
from moodtui.listener.progress import EpochEnded, JobDone, JobStarted, from_line
from moodtui.mood.analysis import analyse_file
from moodtui.mood.model import MoodModel
from moodtui.mood.versions import current_name, list_versions
from moodtui.train.data import Song, song_folds, split_by_song
from moodtui.train.job import personal_replay_share


def _songs(n_per_class: int, groups_of: int = 1) -> list[Song]:
    return [
        Song(Path(f"/x/{c}{k}.wav"), i, group=f"{c}{k // groups_of}")
        for i, c in enumerate(CLASSES)
        for k in range(n_per_class)
    ]


def test_split_is_by_song_never_by_slice_and_stratified():
    songs = _songs(10, groups_of=2)  # pairs of files that are one recording share a group
    train, val = split_by_song(songs, 0.2, seed=1)
    assert {s.group for s in train}.isdisjoint({s.group for s in val})
    assert len(train) + len(val) == len(songs)
    assert sorted({s.label for s in val}) == [0, 1, 2]


def test_folds_cover_every_song_once():
    songs = _songs(4)
    folds = song_folds(songs, 5, seed=0)
    flat = sorted(i for f in folds for i in f)
    assert flat == list(range(len(songs)))


def test_replay_share_follows_how_much_the_base_agrees_with_the_listener():
    # A base head that reads the class off the first three embedding dimensions.
    kernel, bias = np.eye(4, 3, dtype=np.float32) * 5, np.zeros(3, np.float32)
    songs = [np.tile(np.eye(4, dtype=np.float32)[c], (6, 1)) for c in (0, 1, 2) * 3]  # 9 songs
    like_base = [0, 1, 2] * 3
    opposite = [2, 1, 0] * 3
    assert personal_replay_share(songs, like_base, kernel, bias) == pytest.approx(0.3)
    # The base gets only the neutral songs right (3 of 9, chance): no replay of its taste.
    assert personal_replay_share(songs, opposite, kernel, bias) == 0.0
    # More labels: the share shrinks even for a listener who feels like the base.
    assert personal_replay_share(songs * 10, like_base * 10, kernel, bias) == pytest.approx(3 / 90)


def test_small_model_metadata_describes_data_and_validation(small_model):
    meta = json.loads(small_model.with_suffix(".json").read_text())
    assert meta["classes"] == list(CLASSES)
    assert meta["data"]["val_songs"] > 0 and meta["data"]["train_songs"] > meta["data"]["val_songs"]
    assert sum(meta["data"]["songs_per_class"].values()) == meta["data"]["songs"]
    assert np.array(meta["validation"]["confusion"]).sum() == meta["validation"]["songs"]
    assert 0 <= meta["validation"]["song_accuracy"] <= 1
    assert meta["export_check"]["max_abs_diff"] <= 1e-4
    assert len(meta["head"]["kernel"]) == 64


def test_progress_is_one_json_line_per_epoch(small_model):
    lines = (small_model.parent / "train-stdout.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    epochs = [e for e in events if e["event"] == "epoch"]
    assert [e["epoch"] for e in epochs] == list(range(1, 13))
    assert events[-1]["event"] == "done"
    # The player reads every line back into the job's own event classes.
    typed = [from_line(line) for line in lines]
    assert None not in typed
    assert [e.epoch for e in typed if isinstance(e, EpochEnded)] == list(range(1, 13))
    assert isinstance(typed[0], JobStarted) and typed[0].mode == "full"
    assert isinstance(typed[-1], JobDone) and typed[-1].version == events[-1]["version"]


def test_keras_and_onnx_agree_on_real_features(tmp_path, small_model):
    song = write_song(tmp_path / "song.wav", "positive", 9.0, seed=7)
    code = f"""
import os, sys, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import numpy as np, keras
from moodtui.audio.decode import decode
from moodtui.mood.features import slice_features
from moodtui.mood.model import MoodModel
x = slice_features(decode({str(song)!r}))
k = keras.models.load_model({str(small_model.with_suffix(".keras"))!r}, compile=False)(x, training=False)
o = MoodModel.load({str(small_model)!r}).predict(x)
print(json.dumps([float(np.abs(np.asarray(k["probs"]) - o.probs).max()),
                  float(np.abs(np.asarray(k["embedding"]) - o.embeddings).max())]))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    probs_diff, emb_diff = json.loads(result.stdout.strip().splitlines()[-1])
    assert probs_diff <= 1e-4 and emb_diff <= 1e-4


def test_personal_retrain_swaps_in_a_model_that_learned_the_listener(tmp_path, model_env):
    songs = opposite_listener(tmp_path)
    label_songs(model_env, songs)
    result = run_moodtui("train", timeout=600)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    # TensorFlow's start-up notices (oneDNN, through absl whatever the log level) stay off the terminal.
    assert b"oneDNN" not in result.stderr and b"absl" not in result.stderr, result.stderr.decode()[-2000:]
    events = [json.loads(line) for line in result.stdout.decode().splitlines()]
    done = events[-1]
    assert done["event"] == "done"
    assert current_name() == done["version"]
    meta = json.loads((model_env / "models" / done["version"] / "model.json").read_text())
    assert meta["kind"] == "personal" and meta["embedding_id"] == "test-small"
    assert meta["agreement"]["songs"] == 6 and 0 <= meta["agreement"]["song_agreement"] <= 1
    assert meta["data"]["replay_slices"] > 0
    new = MoodModel.load(model_env / "models" / done["version"] / "model.onnx")
    flipped = sum(analyse_file(path, new).label == label for path, label in songs.items())
    assert flipped >= 5, f"the personal model follows the listener on {flipped}/6 songs"
    # The head in the metadata reproduces the ONNX output (the player re-scores its cache with it).
    mood = analyse_file(next(iter(songs)), new)
    np.testing.assert_allclose(new.head_probs(mood.embeddings), mood.slice_probs, atol=1e-4)
    # models and rollback
    listing = json.loads(run_moodtui("models", "--json").stdout)
    assert [row["version"] for row in listing] == ["base", done["version"]]
    assert run_moodtui("rollback").returncode == 0
    assert current_name() == "base"


def test_too_few_labels_is_a_clear_message(tmp_path, model_env):
    label_songs(model_env, {str(write_song(tmp_path / "a.wav", "positive", 4.0)): "positive"})
    result = run_moodtui("train")
    assert result.returncode == 1
    assert "only 1 labelled song(s): label at least 3 songs" in result.stderr.decode()
    assert current_name() == "base"


def test_failed_training_leaves_the_previous_model(tmp_path, model_env):
    broken = tmp_path / "broken.mp3"
    broken.write_text("not audio")
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"path,label\n{broken},positive\n{tmp_path / 'gone.wav'},negative\n")
    before = sorted(p.name for p in (model_env / "models").glob("*")) if (model_env / "models").exists() else []
    result = run_moodtui("train", "--manifest", str(manifest), "--mode", "full", "--epochs", "1")
    assert result.returncode == 1
    assert "no readable training songs" in result.stderr.decode()
    assert current_name() == "base"
    after = sorted(p.name for p in (model_env / "models").glob("*") if not p.name.startswith(".staging"))
    assert after == [n for n in before if not n.startswith(".staging")] or after == []


def test_killed_training_leaves_the_previous_model_and_a_second_job_is_refused(tmp_path, model_env):
    songs = opposite_listener(tmp_path)
    label_songs(model_env, songs)
    env = dict(os.environ)
    proc = subprocess.Popen(
        [sys.executable, "-m", "moodtui", "train"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert json.loads(proc.stdout.readline())["event"] == "start"
        # While it runs, a second job is refused with the reason.
        second = run_moodtui("train")
        assert second.returncode == 1 and "a retrain is already running" in second.stderr.decode()
        time.sleep(1.0)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert current_name() == "base"
    assert [v.name for v in list_versions()] == ["base"]


def test_segment_rows_train_on_the_slices_inside_each_window(tmp_path, home):
    song = write_song(tmp_path / "two-moods.wav", "positive", 12.0)
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        f"path,label,group,start_s,end_s\n{song},positive,t,0,6\n{song},negative,t,6,12\n"
        f"{write_song(tmp_path / 'b.wav', 'neutral', 6.0)},neutral,b,,\n"
    )
    result = run_moodtui(
        "train",
        "--manifest",
        str(manifest),
        "--mode",
        "full",
        "--epochs",
        "1",
        "--val-fraction",
        "0",
        "--output",
        str(tmp_path / "out" / "m"),
    )
    assert result.returncode == 0, result.stderr.decode()[-1500:]
    data = next(json.loads(line) for line in result.stdout.decode().splitlines() if '"data"' in line)
    assert data["train_slices"] == 2 + 2 + 2 and data["val_songs"] == 0
