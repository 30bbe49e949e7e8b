"""Library scanning, the index cache (a real sqlite file, shared by threads) and the choice of library
folder, on real audio files.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from moodtui.errors import MoodtuiError
from moodtui.library.scan import LibraryIndex, ScanStats, Track, resolve_library_dir, scan
from moodtui.paths import demo_library_dir
from moodtui.sqlite_cache import Cache

# MOODTUI_HOME is a fresh folder: nothing reads or writes the real data folder.
pytestmark = pytest.mark.usefixtures("home")


SAMPLE_RATE = 22050


NON_UTF8_NAME = b"caf\xe9 \xff.flac"  # Latin-1 bytes: not valid UTF-8


def write_tone(path: Path | bytes, seconds: float = 0.5, **tags: str) -> None:
    """A short sine tone in the format of the extension, tagged with mutagen when tags are given."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    with open(path, "wb") as file:  # a file object: soundfile cannot take a bytes path
        file_format = {".mp3": "MP3", ".ogg": "OGG", ".flac": "FLAC", ".wav": "WAV"}[
            os.path.splitext(os.fsdecode(path))[1]
        ]
        sf.write(file, tone, SAMPLE_RATE, format=file_format)
    if tags:
        audio = mutagen.File(os.fsdecode(path), easy=True)
        if audio.tags is None:
            audio.add_tags()
        for key, value in tags.items():
            audio[key] = value
        audio.save()


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """A small nested library: tagged mp3/ogg/flac, untagged wav, broken files, odd names."""
    root = tmp_path / "music"
    album = root / "Artist A" / "Album X"
    album.mkdir(parents=True)
    write_tone(album / "01 first.mp3", title="First", artist="Artist A", album="Album X", tracknumber="1/2")
    write_tone(album / "02 second.ogg", title="Second", artist="Artist A", album="Album X", tracknumber="2")
    (root / "Artist B").mkdir()
    write_tone(root / "Artist B" / "single.flac", title="Single", artist="Artist B")
    write_tone(root / "untagged song.wav")
    (root / "broken.mp3").write_text("this is not an mp3 file\n")
    (root / "empty.mp3").touch()
    write_tone(os.fsencode(root / "Artist B") + b"/" + NON_UTF8_NAME)
    # Not picked up: a hidden folder, a hidden file, a cover picture.
    (root / ".hidden").mkdir()
    write_tone(root / ".hidden" / "secret.wav")
    write_tone(root / ".dotfile.wav")
    (album / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    # A symbolic link back to the top: must not be walked twice (or forever).
    (album / "loop").symlink_to(root, target_is_directory=True)
    return root


def scan_all(root: Path, index: LibraryIndex | None = None, **kwargs) -> dict[str, Track]:
    tracks = [track for batch in scan(root, index, **kwargs) for track in batch]
    by_name = {track.path.name: track for track in tracks}
    assert len(by_name) == len(tracks), "a file was yielded twice"
    return by_name


def test_scan_reads_tags_and_falls_back_to_the_file_name(library: Path) -> None:
    tracks = scan_all(library)
    assert sorted(tracks) == sorted(
        ["01 first.mp3", "02 second.ogg", "single.flac", "untagged song.wav", "broken.mp3",
         "empty.mp3", os.fsdecode(NON_UTF8_NAME)]
    )  # fmt: skip
    first = tracks["01 first.mp3"]
    assert (first.title, first.artist, first.album, first.track_number) == ("First", "Artist A", "Album X", 1)
    assert first.error is None
    assert first.duration_s == pytest.approx(0.5, abs=0.1)  # mp3 frames pad the end a little
    assert first.path == library / "Artist A" / "Album X" / "01 first.mp3"
    assert first.size == first.path.stat().st_size
    assert first.mtime_ns == first.path.stat().st_mtime_ns
    second = tracks["02 second.ogg"]
    assert (second.title, second.track_number, second.duration_s) == ("Second", 2, pytest.approx(0.5, abs=0.01))
    single = tracks["single.flac"]
    assert (single.title, single.artist, single.album, single.track_number) == ("Single", "Artist B", None, None)
    untagged = tracks["untagged song.wav"]
    assert (untagged.title, untagged.artist, untagged.error) == ("untagged song", None, None)
    assert untagged.duration_s == pytest.approx(0.5)


def test_broken_files_become_tracks_with_a_reason(library: Path) -> None:
    tracks = scan_all(library)
    broken, empty = tracks["broken.mp3"], tracks["empty.mp3"]
    assert broken.error == "not audio (a text file)"
    assert "\n" not in broken.error
    assert (broken.title, broken.duration_s) == ("broken", None)
    assert (empty.error, empty.title, empty.size) == ("empty file (0 bytes)", "empty", 0)


def test_non_utf8_file_name_round_trips_through_the_index(library: Path) -> None:
    index = LibraryIndex()
    for _ in range(2):  # the first scan reads the file, the second takes it from the index
        track = scan_all(library, index)[os.fsdecode(NON_UTF8_NAME)]
        assert os.fsencode(track.path).endswith(b"/" + NON_UTF8_NAME)
        assert track.path.exists()
        assert track.title == "caf\\xe9 \\xff"  # printable: undecodable bytes shown as \xNN
        track.title.encode("utf-8")
        assert track.error is None and track.duration_s == pytest.approx(0.5)


def test_batches_arrive_while_walking(library: Path) -> None:
    stats = ScanStats()
    batches = scan(library, batch_size=3, stats=stats)
    first = next(batches)
    assert len(first) == 3 and stats.files == 3
    rest = [track for batch in batches for track in batch]
    assert len(rest) == 4 and stats.files == 7


def test_second_scan_takes_tags_from_the_index(library: Path) -> None:
    index = LibraryIndex()
    cold = ScanStats()
    first = scan_all(library, index, stats=cold)
    assert cold.tag_reads == 7

    # A new LibraryIndex on the same cache file: what a second start of the program sees.
    warm = ScanStats()
    second = scan_all(library, LibraryIndex(Cache()), stats=warm)
    assert warm.tag_reads == 0
    assert second == first

    # A changed file (new size and mtime) is read again; the others still come from the index.
    changed = library / "Artist A" / "Album X" / "02 second.ogg"
    audio = mutagen.File(changed, easy=True)
    audio["title"] = "Second, retitled"
    audio.save()
    os.utime(changed, ns=(changed.stat().st_atime_ns, changed.stat().st_mtime_ns + 10**9))
    after = ScanStats()
    tracks = scan_all(library, index, stats=after)
    assert after.tag_reads == 1
    assert tracks["02 second.ogg"].title == "Second, retitled"


def test_vanished_files_leave_the_index_only_after_a_complete_scan(library: Path) -> None:
    index = LibraryIndex()
    scan_all(library, index)
    gone = library / "untagged song.wav"
    gone.unlink()

    partial = scan(library, index, batch_size=1)
    next(partial)
    partial.close()  # the caller stopped early: it cannot know what vanished
    assert os.fsencode(gone) in index.entries_under(library)

    stats = ScanStats()
    tracks = scan_all(library, index, stats=stats)
    assert "untagged song.wav" not in tracks
    assert stats.removed == 1
    entries = index.entries_under(library)
    assert os.fsencode(gone) not in entries
    assert len(entries) == 6


def test_entries_under_a_folder_exclude_its_sibling_with_a_longer_name(tmp_path: Path) -> None:
    for name in ("music", "music2"):
        (tmp_path / name).mkdir()
        write_tone(tmp_path / name / "song.wav")
    index = LibraryIndex()
    scan_all(tmp_path / "music", index)
    scan_all(tmp_path / "music2", index)
    assert list(index.entries_under(tmp_path / "music")) == [os.fsencode(tmp_path / "music" / "song.wav")]


def test_scan_of_a_missing_folder_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(MoodtuiError, match="nowhere: no such folder"):
        next(scan(tmp_path / "nowhere"))


def test_cache_is_shared_by_threads_in_wal_mode(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite")
    index = LibraryIndex(cache)
    errors: list[BaseException] = []

    def put_many(worker: int) -> None:
        try:
            for i in range(50):
                index.put([Track(tmp_path / f"w{worker}-{i}.mp3", "t", None, None, None, 1.0, 1, 1)])
        except BaseException as error:  # reported to the main thread below
            errors.append(error)

    threads = [threading.Thread(target=put_many, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(index.entries_under(tmp_path)) == 200
    cache.close()
    with sqlite3.connect(tmp_path / "cache.sqlite") as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_corrupt_cache_file_is_moved_aside_and_a_new_one_starts(tmp_path: Path) -> None:
    (tmp_path / "cache.sqlite").write_bytes(b"not a database" * 100)
    cache = Cache(tmp_path / "cache.sqlite")
    assert LibraryIndex(cache).entries_under(tmp_path) == {}
    notice = cache.take_recovery_notice()
    assert notice is not None and "cache.sqlite: the cache was damaged (file is not a database)" in notice
    assert cache.take_recovery_notice() is None  # said once
    (aside,) = tmp_path.glob("cache.sqlite.corrupt-*")
    assert aside.read_bytes() == b"not a database" * 100


def test_a_cache_that_cannot_be_opened_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "cache.sqlite").symlink_to(tmp_path / "gone" / "cache.sqlite")  # into a missing folder
    with pytest.raises(MoodtuiError, match="cache.sqlite: cannot open the cache"):
        LibraryIndex(Cache(tmp_path / "cache.sqlite"))


def test_library_dir_defaults_to_music_and_falls_back_to_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    folder, notice = resolve_library_dir(None)
    assert folder == demo_library_dir()
    assert notice is not None and "Music does not exist" in notice and "demo library" in notice

    music = tmp_path / "Music"
    (music / "sub").mkdir(parents=True)
    (music / "sub" / "notes.txt").write_text("no audio here")
    folder, notice = resolve_library_dir(None)
    assert folder == demo_library_dir()
    assert notice is not None and "no audio files in" in notice

    write_tone(music / "sub" / "song.wav")
    assert resolve_library_dir(None) == (music, None)


def test_explicit_library_dir_must_exist(tmp_path: Path) -> None:
    assert resolve_library_dir(str(tmp_path)) == (tmp_path, None)
    with pytest.raises(MoodtuiError, match="missing: no such folder"):
        resolve_library_dir(str(tmp_path / "missing"))
