"""The label store and the content fingerprint, on real files and real processes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from moodtui import CLASSES
from moodtui.cli.labels import run_label, run_labels
from moodtui.errors import AudioError, MoodtuiError
from moodtui.listener.identity import CHUNK_BYTES, fingerprint
from moodtui.listener.labels import LABELS_FILE_NAME, LabelStore, default_store

REPO_DIR = Path(__file__).resolve().parents[2]


def write_song(path: Path, seconds: float = 8.0, seed: int = 0) -> Path:
    """A short noise WAV (about 350 KB at 8 s: big enough for the sampled fingerprint)."""
    rng = np.random.default_rng(seed)
    sf.write(path, rng.uniform(-0.5, 0.5, int(22_050 * seconds)).astype(np.float32), 22_050, subtype="PCM_16")
    return path


def python_process(script: str, *args: str, **popen_args) -> subprocess.Popen:
    """A real Python child process running ``script`` with this checkout importable."""
    env = dict(os.environ, PYTHONPATH=str(REPO_DIR))
    return subprocess.Popen(
        [sys.executable, "-c", script, *args], env=env, text=True, stdout=subprocess.PIPE, **popen_args
    )


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


# -- fingerprint --------------------------------------------------------------------------------


def test_fingerprint_follows_content_not_path(tmp_path: Path) -> None:
    song = write_song(tmp_path / "a.wav")
    copy = tmp_path / "sub" / "renamed.wav"
    copy.parent.mkdir()
    shutil.copyfile(song, copy)
    other = write_song(tmp_path / "b.wav", seed=1)

    assert fingerprint(song) == fingerprint(copy)
    assert fingerprint(song) != fingerprint(other)


def test_fingerprint_samples_windows_of_a_big_file(tmp_path: Path) -> None:
    song = write_song(tmp_path / "a.wav")
    size = song.stat().st_size
    assert size > 4 * CHUNK_BYTES
    original = fingerprint(song)

    flip_byte(song, size // 3 + 10)  # inside the window at one third
    assert fingerprint(song) != original
    flip_byte(song, size // 3 + 10)
    assert fingerprint(song) == original
    # Between the windows: not seen, by design (an in-place tag edit keeps the song's identity).
    between = size // 3 + CHUNK_BYTES + 100
    assert between < 2 * size // 3
    flip_byte(song, between)
    assert fingerprint(song) == original


def test_fingerprint_of_small_file_hashes_all_of_it(tmp_path: Path) -> None:
    song = write_song(tmp_path / "short.wav", seconds=1.0)
    original = fingerprint(song)
    flip_byte(song, song.stat().st_size // 2)
    assert fingerprint(song) != original


@pytest.mark.parametrize(
    ("make", "cause"), [(lambda p: p, "no such file"), (lambda p: p.mkdir() or p, "is a directory")]
)
def test_fingerprint_errors_name_the_file(tmp_path: Path, make, cause: str) -> None:
    target = make(tmp_path / "missing.mp3")
    with pytest.raises(AudioError) as raised:
        fingerprint(target)
    message = str(raised.value)
    assert "missing.mp3" in message and cause in message and "\n" not in message


# -- labels ---------------------------------------------------------------------------------------


def test_label_and_undo_round_trip_through_the_file(tmp_path: Path) -> None:
    db = tmp_path / "data" / LABELS_FILE_NAME
    a = write_song(tmp_path / "a.wav")
    b = write_song(tmp_path / "b.wav", seed=1)
    store = LabelStore(db)
    assert store.undo_last() is None
    model_row = np.array([0.2, 0.5, 0.3], np.float32)  # a model output row, in class order
    first = store.add_label(a, "neutral", model_version="v1", model_probs=model_row)
    probs = {"positive": 0.6, "neutral": 0.3, "negative": 0.1}
    store.add_label(a, "positive", model_version="v1", model_probs=probs)
    store.add_label(b, "negative")

    undone = store.undo_last()
    assert undone is not None and undone.label == "negative" and undone.undone
    undone = store.undo_last()
    assert undone is not None and undone.label == "positive"

    reopened = LabelStore(db)  # a new process would see exactly this
    assert reopened.recovered_from is None
    assert reopened.history() == store.history()  # the writer's in-memory view matches the file
    current = reopened.current_labels()
    assert [(r.path, r.label) for r in current] == [(str(a), "neutral")]  # the previous label is back
    assert reopened.label_for(b) is None
    assert current[0] == first
    assert dict(current[0].model_probs) == pytest.approx({"positive": 0.2, "neutral": 0.5, "negative": 0.3})
    assert current[0].model_version == "v1"
    history = reopened.history()
    assert [r.label for r in history] == ["neutral", "positive", "negative"]
    assert [r.undone for r in history] == [False, True, True]
    raw = json.loads(db.read_text())  # plain TinyDB JSON on disk
    assert len(raw["labels"]) == 3
    assert raw["labels"]["1"]["model_probs"]["neutral"] == pytest.approx(0.5)
    assert raw["labels"]["1"]["labelled_at"].endswith("+00:00")


def test_label_for_is_by_fingerprint_and_bulk_read(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / LABELS_FILE_NAME)
    songs = [write_song(tmp_path / f"{i}.wav", seconds=1.0, seed=i) for i in range(3)]
    for song, label in zip(songs, CLASSES):
        store.add_label(song, label)
    by_fingerprint = store.labels_by_fingerprint()
    assert {fingerprint(s): label for s, label in zip(songs, CLASSES)} == {
        fp: record.label for fp, record in by_fingerprint.items()
    }
    assert store.label_for(songs[1], fingerprint=fingerprint(songs[1])).label == "neutral"


def test_moved_file_keeps_its_label(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    song = write_song(tmp_path / "old name.wav")
    LabelStore(db).add_label(song, "positive")
    moved = tmp_path / "albums" / "new name.wav"
    moved.parent.mkdir()
    song.rename(moved)

    record = LabelStore(db).label_for(moved)
    assert record is not None and record.label == "positive" and record.path == str(moved)
    # The stored path followed the file.
    assert [r.path for r in LabelStore(db).history()] == [str(moved)]


def test_moved_files_are_found_among_a_library_scan_by_size_then_fingerprint(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    kept, gone = write_song(tmp_path / "kept.wav", seed=1), write_song(tmp_path / "gone.wav", seed=2)
    store = LabelStore(db)
    store.add_label(kept, "positive")
    store.add_label(gone, "negative")
    assert store.current_labels()[1].size == gone.stat().st_size
    moved = tmp_path / "new folder" / "renamed.wav"
    moved.parent.mkdir()
    gone.rename(moved)
    other = write_song(tmp_path / "other.wav", seed=3, seconds=5.0)  # another size: never read
    library = [(p, p.stat().st_size) for p in (kept, moved, other)]

    [found] = LabelStore(db).find_moved(library)
    assert found.path == str(moved) and found.label == "negative"
    # Stored: a fresh store (another process) sees the label at the new path without a lookup.
    assert {r.path: r.label for r in LabelStore(db).current_labels()} == {str(kept): "positive", str(moved): "negative"}
    assert LabelStore(db).find_moved(library) == []


def test_copy_does_not_steal_the_path(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    song = write_song(tmp_path / "a.wav")
    LabelStore(db).add_label(song, "negative")
    copy = tmp_path / "copy.wav"
    shutil.copyfile(song, copy)
    assert LabelStore(db).label_for(copy).label == "negative"  # same content, same song
    assert [r.path for r in LabelStore(db).history()] == [str(song)]  # the original still exists


def test_file_retagged_in_place_keeps_its_label(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    song = write_song(tmp_path / "a.wav")
    LabelStore(db).add_label(song, "neutral")
    flip_byte(song, 50)  # the header window: a new fingerprint
    new_fingerprint = fingerprint(song)

    record = LabelStore(db).label_for(song)
    assert record is not None and record.label == "neutral" and record.fingerprint == new_fingerprint
    assert set(LabelStore(db).labels_by_fingerprint()) == {new_fingerprint}


def test_a_label_written_by_another_process_is_seen(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    song = write_song(tmp_path / "a.wav", seconds=1.0)
    store = LabelStore(db)
    store.add_label(song, "positive")
    assert store.label_for(song).label == "positive"  # now held in memory
    writer = python_process(
        "import sys; from moodtui.listener.labels import LabelStore; "
        "LabelStore(sys.argv[1]).add_label(sys.argv[2], 'negative')",
        str(db),
        str(song),
    )
    assert writer.wait(timeout=30) == 0
    assert store.label_for(song).label == "negative"


def test_bad_model_probs_are_refused(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / LABELS_FILE_NAME)
    with pytest.raises(ValueError):
        store.add_label("/x.mp3", "positive", fingerprint="f", model_probs=[0.5, 0.5])
    with pytest.raises(ValueError):
        store.add_label("/x.mp3", "positive", fingerprint="f", model_probs={"happy": 1.0})
    assert store.history() == []


def test_unknown_label_and_missing_file_are_one_line_errors(tmp_path: Path) -> None:
    store = LabelStore(tmp_path / LABELS_FILE_NAME)
    with pytest.raises(MoodtuiError, match="unknown label 'happy': use one of positive, neutral, negative"):
        store.add_label(write_song(tmp_path / "a.wav", seconds=1.0), "happy")
    with pytest.raises(AudioError, match="gone.mp3: no such file"):
        store.add_label(tmp_path / "gone.mp3", "positive")
    assert store.history() == []


# -- processes, crashes, corruption ---------------------------------------------------------------

WRITER = """
import sys, time
from moodtui.listener.labels import LabelStore
store = LabelStore(sys.argv[1], lock_timeout=30)
name, count = sys.argv[2], int(sys.argv[3])
print("ready", flush=True)
sys.stdin.readline()  # start together
for i in range(count):
    store.add_label(f"/music/{name}-{i}.mp3", "positive", fingerprint=f"{name}-{i}")
    time.sleep(0.003)  # a listener's pace, however fast: lets the other writer take the lock
"""


def test_two_processes_writing_at_once_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    count = 40
    writers = [python_process(WRITER, str(db), name, str(count), stdin=subprocess.PIPE) for name in ("a", "b")]
    for writer in writers:
        assert writer.stdout.readline().strip() == "ready"
    for writer in writers:
        writer.stdin.write("go\n")
        writer.stdin.flush()
    reads = 0
    while any(writer.poll() is None for writer in writers):
        raw = db.read_bytes() if db.exists() else b""
        if raw:
            json.loads(raw)  # a reader never sees a partial file
            reads += 1
    assert [writer.wait() for writer in writers] == [0, 0]
    assert reads > 0

    history = LabelStore(db).history()
    assert sorted(r.fingerprint for r in history) == sorted(f"{n}-{i}" for n in "ab" for i in range(count))
    assert [r.id for r in history] == list(range(1, 2 * count + 1))
    # The writers really interleaved (otherwise this test would prove little).
    names = [r.fingerprint[0] for r in history]
    assert sum(1 for x, y in zip(names, names[1:]) if x != y) > 1


KILLED_WRITER = """
import sys, time
from moodtui.listener.labels import LabelStore
store = LabelStore(sys.argv[1])
n = len(store.history())
print("ready", flush=True)
while True:
    store.add_label(f"/music/{n}.mp3", ("positive", "neutral", "negative")[n % 3], fingerprint=f"fp-{n}")
    print(n, flush=True)
    n += 1
"""


def test_kill_9_during_writes_never_corrupts_the_database(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    rng = random.Random(5)
    present = 0  # writes found in the database after the previous kill
    for _ in range(20):
        writer = python_process(KILLED_WRITER, str(db))
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.08))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        done = [int(line) for line in writer.stdout.read().split()]
        writer.stdout.close()
        acknowledged = done[-1] + 1 if done else present
        if not db.exists():
            # Killed before its first write finished (a loaded machine is slow to start): nothing
            # was acknowledged, so nothing may be missing.
            assert acknowledged == 0, acknowledged
            continue

        json.loads(db.read_bytes())
        store = LabelStore(db)
        assert store.recovered_from is None
        written = [r.fingerprint for r in store.history()]
        # A prefix of the writes: every acknowledged one, in order, plus at most the one in flight.
        assert written == [f"fp-{n}" for n in range(len(written))]
        assert acknowledged <= len(written) <= acknowledged + 1
        present = len(written)
    assert present > 20  # the writers really were writing when killed
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert len(leftovers) <= 1  # each writer removes temporary files of killed ones


@pytest.mark.parametrize(
    "content",
    [
        b'{"labels": {"1": {"path": "/a.mp3", "fingerp',  # torn write
        b"\xff\xfe not json",
        b"[1, 2, 3]",
        b'{"labels": {"1": {"path": "/a.mp3", "fingerprint": "f", "label": "happy", "labelled_at": "t"}}}',
        b'{"meta": {"1": {"schema": "one"}}, "labels": {}}',
    ],
)
def test_corrupt_database_is_moved_aside_and_reported(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / LABELS_FILE_NAME
    db.write_bytes(content)
    store = LabelStore(db)

    assert store.recovered_from is not None
    assert store.recovered_from.name.startswith(f"{LABELS_FILE_NAME}.corrupt-")
    assert store.recovered_from.read_bytes() == content  # kept as it was
    assert "\n" not in store.recovery_message and str(store.recovered_from) in store.recovery_message
    assert store.history() == []
    store.add_label("/music/a.mp3", "positive", fingerprint="f")
    assert [r.label for r in LabelStore(db).history()] == ["positive"]
    assert store.recovered_from.read_bytes() == content


def test_database_from_a_newer_moodtui_is_left_alone(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    content = b'{"meta": {"1": {"schema": 99}}, "labels": {}}'
    db.write_bytes(content)
    with pytest.raises(MoodtuiError, match="schema 99, newer"):
        LabelStore(db)
    assert db.read_bytes() == content
    assert [p.name for p in tmp_path.iterdir()] == [LABELS_FILE_NAME]


LOCK_HOLDER = """
import sys, time
from moodtui.listener.labels import LabelStore
store = LabelStore(sys.argv[1])
with store._locked():
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_held_lock_times_out_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    holder = python_process(LOCK_HOLDER, str(db))
    try:
        assert holder.stdout.readline().strip() == "held"
        store = LabelStore(db, lock_timeout=0.3)
        with pytest.raises(MoodtuiError) as raised:
            store.add_label("/music/a.mp3", "positive", fingerprint="f")
        assert str(raised.value) == (f"labels database {db} is locked by another moodtui process (pid {holder.pid})")
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    # The kernel released the dead holder's lock.
    assert store.add_label("/music/a.mp3", "positive", fingerprint="f").id == 1


# -- CLI handlers ---------------------------------------------------------------------------------


def test_run_label_and_run_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # rich would wrap the long temporary path
    home = tmp_path / "home"
    song = write_song(tmp_path / "[live] song.wav", seconds=1.0)
    assert run_label(str(song), "neutral", home) == 0
    assert run_label(str(song), "positive", home) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"labelled {song} neutral", f"labelled {song} positive (was neutral)"]

    assert run_labels(home, as_json=True) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(item["path"], item["label"]) for item in listed] == [(str(song), "positive")]
    assert listed[0]["fingerprint"] == fingerprint(song)

    assert run_labels(home, as_json=False) == 0
    table = capsys.readouterr().out
    assert "[live] song.wav" in table and "positive" in table  # not eaten as rich markup


@pytest.mark.parametrize(
    ("file_name", "label", "message"),
    [
        ("a.wav", "happy", "moodtui: unknown label 'happy': use one of positive, neutral, negative"),
        ("gone.wav", "positive", "moodtui: {path}: no such file"),
    ],
)
def test_run_label_errors_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], file_name: str, label: str, message: str
) -> None:
    write_song(tmp_path / "a.wav", seconds=1.0)
    path = tmp_path / file_name
    assert run_label(str(path), label, tmp_path / "home") == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == message.format(path=path) + "\n"


def test_default_store_lives_in_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODTUI_HOME", str(tmp_path / "home"))
    store = default_store()
    assert store.path == tmp_path / "home" / LABELS_FILE_NAME
    store.add_label("/music/a.mp3", "negative", fingerprint="f")
    assert store.path.exists() and store.lock_path.exists()


def test_file_name_that_is_not_utf8_round_trips(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    song = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9.wav")))  # latin-1 name
    write_song(tmp_path / "plain.wav", seconds=1.0).rename(song)  # soundfile wants UTF-8 names
    home = tmp_path / "home"
    assert run_label(str(song), "positive", home) == 0
    assert capsys.readouterr().out == f"labelled {tmp_path}/caf\\xe9.wav positive\n"
    record = LabelStore(home / LABELS_FILE_NAME).label_for(song)
    assert record is not None and record.path == str(song) and record.label == "positive"
