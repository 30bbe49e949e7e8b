"""The analysis pool (moodtui.mood.pool) on real files and real worker processes."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pool_work
import pytest

from audio_factory import write_song
from conftest import run_moodtui
from moodtui.mood.analysis import AnalysisCache, analyse_file, analyse_paths
from moodtui.mood.model import MoodModel
from moodtui.mood.pool import WORKER_DIED, AnalysisPool, analyse_path, worker_count
from moodtui.mood.scheduler import AnalysisScheduler
from moodtui.sqlite_cache import Cache


@pytest.fixture(scope="module")
def songs(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("pool-songs")
    kinds = ("positive", "neutral", "negative")
    formats = (".ogg", ".mp3", ".flac", ".wav", ".opus", ".ogg")
    return [
        os.fspath(write_song(folder / f"song{i}{ext}", kinds[i % 3], 7.0 + i, seed=i)) for i, ext in enumerate(formats)
    ]


def test_pool_gives_exactly_the_single_process_results(songs, small_model):
    model = MoodModel.load(small_model)
    alone = {path: analyse_file(path, model) for path in songs}
    pooled = {}
    assert analyse_paths(songs, model, None, workers=2, isolate=True, on_result=lambda r: pooled.__setitem__(r.path, r))
    assert set(pooled) == set(songs)
    for path in songs:
        result = pooled[path]
        assert result.error is None and not result.cached
        assert np.array_equal(result.mood.slice_probs, alone[path].slice_probs)
        assert np.array_equal(result.mood.embeddings, alone[path].embeddings)
        assert np.array_equal(result.mood.starts_s, alone[path].starts_s)
        assert result.mood.duration_s == alone[path].duration_s
        assert result.mood.model_version == model.version


def test_results_stream_into_the_cache_and_are_answered_from_it(songs, small_model, tmp_path):
    model = MoodModel.load(small_model)
    cache = AnalysisCache(Cache(tmp_path / "cache.sqlite"))
    seen_in_cache = []

    def arrived(result):
        # Written before the caller hears of it: a crash later loses nothing already done.
        seen_in_cache.append(cache.get(result.path, model) is not None)

    analyse_paths(songs[:3], model, cache, workers=2, isolate=True, on_result=arrived)
    assert seen_in_cache == [True, True, True]
    again = []
    analyse_paths(songs[:3], model, cache, workers=2, isolate=True, on_result=again.append)
    assert [r.cached for r in again] == [True, True, True]


def test_a_worker_killed_mid_file_costs_that_file_only(songs, small_model, tmp_path):
    model = MoodModel.load(small_model)
    long_song = os.fspath(write_song(tmp_path / "long.wav", "negative", 240.0, seed=9))
    items = [songs[0], long_song, *songs[1:4]]
    pool = AnalysisPool(2, model_path=small_model)
    outcomes = []
    killed = []

    def arrived(outcome):
        outcomes.append(outcome)
        if not killed:
            # The long file is being analysed now: kill every worker process.
            killed.extend(pool.worker_pids())
            for pid in killed:
                os.kill(pid, signal.SIGKILL)

    with pool:
        assert pool.run(analyse_path, items, on_outcome=arrived)
    assert killed and pool.crashes >= 1
    by_item = {o.item: o for o in outcomes}
    assert set(by_item) == set(items)
    assert all(o.ok for o in outcomes), [o.error for o in outcomes]
    # The retried long file gives what an undisturbed analysis gives.
    assert np.array_equal(by_item[long_song].value.slice_probs, analyse_file(long_song, model).slice_probs)


def test_a_file_that_kills_its_worker_is_reported_and_the_rest_finish():
    outcomes = []
    with AnalysisPool(2) as pool:
        assert pool.run(pool_work.kill_own_worker_on, ["a", "b", "crash-me", "c", "d", "e"], on_outcome=outcomes.append)
    by_item = {o.item: o for o in outcomes}
    assert sorted(by_item) == ["a", "b", "c", "crash-me", "d", "e"]
    assert by_item["crash-me"].error == WORKER_DIED
    assert {item: o.value for item, o in by_item.items() if o.ok} == {x: x.upper() for x in "abcde"}


def test_cancel_stops_promptly_and_ends_the_workers():
    pool = AnalysisPool(2)
    stop = threading.Event()
    pids: list[int] = []
    result: list[bool] = []

    def run():
        result.append(pool.run(pool_work.sleep_long, ["x", "y", "z"], on_outcome=lambda o: None, cancelled=stop.is_set))

    thread = threading.Thread(target=run)
    thread.start()
    deadline = time.monotonic() + 60
    while len(pids) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
        pids = pool.worker_pids()
    assert len(pids) == 2
    started = time.monotonic()
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and result == [False]
    assert time.monotonic() - started < 3.0
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            for _ in range(50):
                os.kill(pid, 0)  # gone (reaped) or about to be
                time.sleep(0.05)


def test_pause_starts_nothing_new_until_resumed():
    paused = threading.Event()
    paused.set()
    outcomes = []
    timer = threading.Timer(1.0, paused.clear)
    timer.start()
    started = time.monotonic()
    with AnalysisPool(2) as pool:
        pool.run(pool_work.kill_own_worker_on, ["a", "b"], on_outcome=outcomes.append, paused=paused.is_set)
    assert time.monotonic() - started >= 1.0
    assert sorted(o.value for o in outcomes) == ["A", "B"]


def test_worker_count_follows_the_setting_and_the_cores(monkeypatch):
    monkeypatch.delenv("MOODTUI_WORKERS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert worker_count(playing=False) == cores
    assert worker_count(playing=True) == max(1, cores - 1)
    monkeypatch.setenv("MOODTUI_WORKERS", "3")
    assert worker_count(playing=True) == 3
    assert worker_count(playing=True, setting=5) == 5


def test_the_playing_track_is_analysed_before_the_queue(songs, small_model, tmp_path):
    model = MoodModel.load(small_model)
    cache = AnalysisCache(Cache(tmp_path / "cache.sqlite"))
    scheduler = AnalysisScheduler(cache)
    playing = songs[-1]  # last in the library's queue
    library_results = []
    finished_at: dict[str, float] = {}

    def report(batch):
        now = time.monotonic()
        for path in [*batch.moods, *batch.errors]:
            library_results.append(path)
            finished_at.setdefault(path, now)

    worker = threading.Thread(
        target=scheduler.analyse_library,
        args=(model, songs),
        kwargs=dict(cancelled=lambda: False, report=report, workers=1),
    )
    worker.start()
    mood = scheduler.analyse_playing(playing, model, on_slices=lambda *_: None, cancelled=lambda: False)
    played_at = time.monotonic()
    worker.join(120)
    assert mood.path == playing
    assert sorted(library_results) == sorted(songs)
    # At most the one file already in flight finished before the playing track did.
    assert sum(t < played_at for t in finished_at.values()) <= 1
    assert cache.get(playing, model) is not None


def test_analyse_command_prints_a_summary_and_exits_1_on_a_failure(songs, model_env, tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for path in songs[:3]:
        (library / Path(path).name).write_bytes(Path(path).read_bytes())
    (library / "broken.mp3").write_bytes(b"not audio at all" * 100)
    result = run_moodtui("analyse", "--workers", "2", str(library), env_home=model_env)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1, out + err
    assert "4 files" in out and "3 analysed" in out and "1 failed" in out
    assert "broken.mp3" in out and "broken.mp3" in err
    (library / "broken.mp3").unlink()
    again = run_moodtui("analyse", str(library), env_home=model_env)
    assert again.returncode == 0, again.stderr.decode()
    assert "3 from the cache" in again.stdout.decode() and "0 failed" in again.stdout.decode()


def test_label_takes_several_files_and_the_old_form_still_works(songs, model_env):
    assert run_moodtui("label", songs[0], songs[1], songs[2], "negative", env_home=model_env).returncode == 0
    assert run_moodtui("label", songs[3], "positive", env_home=model_env).returncode == 0
    listed = run_moodtui("labels", "--json", env_home=model_env)
    import json

    labels = {entry["path"]: entry["label"] for entry in json.loads(listed.stdout)}
    assert labels == {songs[0]: "negative", songs[1]: "negative", songs[2]: "negative", songs[3]: "positive"}
    wrong = run_moodtui("label", songs[0], songs[1], env_home=model_env)
    assert wrong.returncode == 2 and b"mood" in wrong.stderr
    missing = run_moodtui("label", songs[4], "/no/such/file.ogg", "neutral", env_home=model_env)
    assert missing.returncode == 1 and b"file.ogg" in missing.stderr
    labels = {e["path"]: e["label"] for e in json.loads(run_moodtui("labels", "--json", env_home=model_env).stdout)}
    assert labels[songs[4]] == "neutral"  # the readable file is labelled all the same


def test_predict_and_label_take_folders_walked_as_the_library_walks_them(model_env, tmp_path):
    import json

    folder = tmp_path / "album"
    first = write_song(folder / "01 one.flac", "positive", 3.5)
    second = write_song(folder / "disc 2" / "02 two.ogg", "negative", 3.5, seed=1)
    write_song(folder / ".hidden.wav", "neutral", 3.5)  # hidden: the library does not list it
    (folder / "cover.txt").write_text("not a song")
    empty = tmp_path / "nothing here"
    empty.mkdir()

    predicted = run_moodtui("predict", "--json", str(folder), str(empty), env_home=model_env, timeout=120)
    rows = json.loads(predicted.stdout)
    assert [row["path"] for row in rows] == [str(first), str(second), str(empty)]  # in the order given
    assert "song" in rows[0] and "song" in rows[1] and rows[2]["error"] == "no audio files in this folder"
    assert predicted.returncode == 1  # the empty folder is reported, and the exit code says so
    assert f"{empty}: no audio files in this folder" in predicted.stderr.decode()

    labelled = run_moodtui("label", str(folder), "neutral", env_home=model_env)
    assert labelled.returncode == 0, labelled.stderr.decode()
    assert run_moodtui("label", str(empty), "positive", env_home=model_env).returncode == 1
    listed = json.loads(run_moodtui("labels", "--json", env_home=model_env).stdout)
    assert {entry["path"]: entry["label"] for entry in listed} == {str(first): "neutral", str(second): "neutral"}


def test_the_fork_server_starts_early_with_onnxruntime_loaded_and_one_thread(songs, small_model):
    # Started before the caller's own start-up, its imports (onnxruntime, scipy.fft) run on
    # another core; workers forked from it must inherit no thread, so it must hold none itself.
    from multiprocessing import forkserver

    from moodtui.mood.pool import start_helpers

    start_helpers()
    model = MoodModel.load(small_model)
    results = []
    assert analyse_paths(songs[:2], model, None, workers=2, isolate=True, on_result=results.append)
    assert [r.error for r in results] == [None, None]
    server = forkserver._forkserver._forkserver_pid
    assert server is not None
    maps = Path(f"/proc/{server}/maps").read_text()
    assert "onnxruntime_pybind11_state" in maps and "scipy/fft" in maps
    assert len(os.listdir(f"/proc/{server}/task")) == 1
