"""The label store (a real TinyDB file) and the content fingerprint, on real files, in one process."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from audio_factory import write_noise
from moodtui import CLASSES
from moodtui.cli.labels import run_label, run_labels
from moodtui.errors import AudioError, MoodtuiError
from moodtui.listener.identity import CHUNK_BYTES, fingerprint
from moodtui.listener.labels import LABELS_FILE_NAME, LabelStore, default_store


def flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        byte = handle.read(1)
        handle.seek(offset)
        handle.write(bytes([byte[0] ^ 0xFF]))


def test_fingerprint_follows_content_not_path(tmp_path: Path) -> None:
    song = write_noise(tmp_path / "a.wav")
    copy = tmp_path / "sub" / "renamed.wav"
    copy.parent.mkdir()
    shutil.copyfile(song, copy)
    other = write_noise(tmp_path / "b.wav", seed=1)

    assert fingerprint(song) == fingerprint(copy)
    assert fingerprint(song) != fingerprint(other)


def test_fingerprint_samples_windows_of_a_big_file(tmp_path: Path) -> None:
    song = write_noise(tmp_path / "a.wav")
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
    song = write_noise(tmp_path / "short.wav", seconds=1.0)
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


def test_label_and_undo_round_trip_through_the_file(tmp_path: Path) -> None:
    db = tmp_path / "data" / LABELS_FILE_NAME
    a = write_noise(tmp_path / "a.wav")
    b = write_noise(tmp_path / "b.wav", seed=1)
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
    songs = [write_noise(tmp_path / f"{i}.wav", seconds=1.0, seed=i) for i in range(3)]
    for song, label in zip(songs, CLASSES):
        store.add_label(song, label)
    by_fingerprint = store.labels_by_fingerprint()
    assert {fingerprint(s): label for s, label in zip(songs, CLASSES)} == {
        fp: record.label for fp, record in by_fingerprint.items()
    }
    assert store.label_for(songs[1], fingerprint=fingerprint(songs[1])).label == "neutral"


def test_moved_file_keeps_its_label(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    song = write_noise(tmp_path / "old name.wav")
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
    kept, gone = write_noise(tmp_path / "kept.wav", seed=1), write_noise(tmp_path / "gone.wav", seed=2)
    store = LabelStore(db)
    store.add_label(kept, "positive")
    store.add_label(gone, "negative")
    assert store.current_labels()[1].size == gone.stat().st_size
    moved = tmp_path / "new folder" / "renamed.wav"
    moved.parent.mkdir()
    gone.rename(moved)
    other = write_noise(tmp_path / "other.wav", seed=3, seconds=5.0)  # another size: never read
    library = [(p, p.stat().st_size) for p in (kept, moved, other)]

    [found] = LabelStore(db).find_moved(library)
    assert found.path == str(moved) and found.label == "negative"
    # Stored: a fresh store (another process) sees the label at the new path without a lookup.
    assert {r.path: r.label for r in LabelStore(db).current_labels()} == {str(kept): "positive", str(moved): "negative"}
    assert LabelStore(db).find_moved(library) == []


def test_copy_does_not_steal_the_path(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    song = write_noise(tmp_path / "a.wav")
    LabelStore(db).add_label(song, "negative")
    copy = tmp_path / "copy.wav"
    shutil.copyfile(song, copy)
    assert LabelStore(db).label_for(copy).label == "negative"  # same content, same song
    assert [r.path for r in LabelStore(db).history()] == [str(song)]  # the original still exists


def test_file_retagged_in_place_keeps_its_label(tmp_path: Path) -> None:
    db = tmp_path / LABELS_FILE_NAME
    song = write_noise(tmp_path / "a.wav")
    LabelStore(db).add_label(song, "neutral")
    flip_byte(song, 50)  # the header window: a new fingerprint
    new_fingerprint = fingerprint(song)

    record = LabelStore(db).label_for(song)
    assert record is not None and record.label == "neutral" and record.fingerprint == new_fingerprint
    assert set(LabelStore(db).labels_by_fingerprint()) == {new_fingerprint}


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
        store.add_label(write_noise(tmp_path / "a.wav", seconds=1.0), "happy")
    with pytest.raises(AudioError, match="gone.mp3: no such file"):
        store.add_label(tmp_path / "gone.mp3", "positive")
    assert store.history() == []


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


def test_run_label_and_run_labels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # rich would wrap the long temporary path
    home = tmp_path / "home"
    song = write_noise(tmp_path / "[live] song.wav", seconds=1.0)
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
    write_noise(tmp_path / "a.wav", seconds=1.0)
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
    write_noise(tmp_path / "plain.wav", seconds=1.0).rename(song)  # soundfile wants UTF-8 names
    home = tmp_path / "home"
    assert run_label(str(song), "positive", home) == 0
    assert capsys.readouterr().out == f"labelled {tmp_path}/caf\\xe9.wav positive\n"
    record = LabelStore(home / LABELS_FILE_NAME).label_for(song)
    assert record is not None and record.path == str(song) and record.label == "positive"
