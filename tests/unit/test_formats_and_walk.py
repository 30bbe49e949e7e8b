"""The one formats table and the one folder walk: what is listed, content sniffing, folder layout."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from audio_factory import write_song
from moodtui.audio import formats
from moodtui.library.imac import ImacScan, _audio_files
from moodtui.library.scan import (
    LibraryIndex,
    folder_layout,
    is_listed,
    scan,
    scan_paths,
    walk_audio_files,
)

# MOODTUI_HOME is a fresh folder: nothing reads or writes the real data folder.
pytestmark = pytest.mark.usefixtures("home")


def test_every_extension_has_one_format_and_ffmpeg_formats_are_listed_only_with_ffmpeg() -> None:
    extensions = [ext for fmt in formats.FORMATS for ext in fmt.extensions]
    assert len(extensions) == len(set(extensions))
    without = formats.listed_extensions(ffmpeg=False)
    with_ffmpeg = formats.listed_extensions(ffmpeg=True)
    assert {".mp3", ".flac", ".ogg", ".opus", ".wav", ".aiff"} <= without
    assert not {".m4a", ".webm", ".mka", ".m4b", ".mpc", ".wma"} & without
    assert {".webm", ".mka", ".m4b", ".m4a", ".mpc"} <= with_ffmpeg
    assert ".alac" not in with_ffmpeg  # ALAC lives in .m4a files: there is no .alac file


def test_walk_lists_ffmpeg_formats_only_when_ffmpeg_is_on_the_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("a.webm", "b.mka", "c.m4b", "d.ogg", "e.alac"):
        (tmp_path / name).write_bytes(b"x")
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin"))
    assert [e.name for e in walk_audio_files(tmp_path)] == ["d.ogg"]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ffmpeg").write_text("#!/bin/sh\n")
    (bin_dir / "ffmpeg").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert [e.name for e in walk_audio_files(tmp_path)] == ["a.webm", "b.mka", "c.m4b", "d.ogg"]


def test_sniffing_recognises_formats_by_their_first_bytes(tmp_path: Path) -> None:
    for ext, name in ((".wav", "wav"), (".flac", "flac"), (".ogg", "ogg"), (".aiff", "aiff")):
        song = write_song(tmp_path / f"song{ext}", "neutral", 1.0)
        renamed = song.rename(tmp_path / f"renamed-{name}.bin")
        assert formats.sniff(renamed).name == name
    assert formats.sniff_bytes(b"\0\0\0\x20ftypM4A ").name == "mp4/aac"
    assert formats.sniff_bytes(b"\x1a\x45\xdf\xa3\x01").name == "matroska"
    assert formats.sniff_bytes(b"\xff\xf1\x50\x80").name == "aac"  # ADTS
    assert formats.sniff_bytes(b"\xff\xfb\x90\x64").name == "mp3"
    assert formats.sniff_bytes(b"this is not audio") is None
    (tmp_path / "text.mp3").write_text("not audio")
    assert formats.sniff(tmp_path / "text.mp3") is None
    assert formats.format_of(tmp_path / "text.mp3") is formats.MP3  # falls back to the name


def test_the_player_and_imac_match_walk_the_same_files(tmp_path: Path) -> None:
    for relative in ("a/one.flac", "a/.hidden.flac", ".secret/two.flac", "b/three.ogg", "b/notes.txt", "four.mp3"):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes(b"x")
    walked = [Path(e.path) for e in walk_audio_files(tmp_path)]
    assert [p.relative_to(tmp_path).as_posix() for p in walked] == ["four.mp3", "a/one.flac", "b/three.ogg"]
    assert _audio_files(tmp_path, ImacScan()) == walked
    assert [
        is_listed(tmp_path / r, tmp_path) for r in ("a/one.flac", "a/.hidden.flac", ".secret/x.flac", "b/notes.txt")
    ] == [True, False, False, False]


def test_artist_and_album_come_from_the_folders_when_the_tags_lack_them(tmp_path: Path) -> None:
    root = tmp_path / "music"
    assert folder_layout(root / "Nina" / "Blue Days" / "01.ogg", root) == ("Nina", "Blue Days")
    assert folder_layout(root / "Nina" / "Blue Days" / "CD2" / "01.ogg", root) == ("Nina", "Blue Days")
    assert folder_layout(root / "Nina - Blue Days" / "01.ogg", root) == ("Nina", "Blue Days")
    assert folder_layout(root / "Loose" / "01.ogg", root) == (None, None)
    assert folder_layout(root / "01.ogg", root) == (None, None)

    write_song(root / "Nina" / "Blue Days" / "untagged.wav", "neutral", 0.5)
    tagged = write_song(root / "Nina" / "Blue Days" / "tagged.flac", "neutral", 0.5)
    import mutagen

    audio = mutagen.File(tagged, easy=True)
    audio["artist"], audio["album"] = "Tag Artist", "Tag Album"
    audio.save()
    for _ in range(2):  # the first scan reads the tags, the second takes them from the index
        tracks = {t.path.name: t for batch in scan(root, LibraryIndex()) for t in batch}
        assert (tracks["untagged.wav"].artist, tracks["untagged.wav"].album) == ("Nina", "Blue Days")
        assert (tracks["tagged.flac"].artist, tracks["tagged.flac"].album) == ("Tag Artist", "Tag Album")


def test_scan_paths_reports_new_changed_and_gone_files(tmp_path: Path) -> None:
    root = tmp_path / "music"
    first = write_song(root / "A" / "B" / "first.wav", "neutral", 0.5)
    index = LibraryIndex()
    assert len([t for batch in scan(root, index) for t in batch]) == 1
    added = write_song(root / "A" / "B" / "added.wav", "positive", 0.5)
    folder = root / "New Artist" / "New Album"
    write_song(folder / "x.wav", "positive", 0.5)
    write_song(root / ".hidden" / "y.wav", "positive", 0.5)
    found, gone = scan_paths(root, [added, root / "New Artist", root / ".hidden", first], index)
    assert sorted(t.path.name for t in found) == ["added.wav", "first.wav", "x.wav"]
    assert {t.path.name: t.artist for t in found}["x.wav"] == "New Artist"
    assert gone == []
    first.unlink()
    shutil.rmtree(root / "New Artist")
    found, gone = scan_paths(root, [first, root / "New Artist"], index)
    assert found == [] and gone == [first, root / "New Artist"]
    assert sorted(os.path.basename(k) for k in index.entries_under(root)) == [b"added.wav"]
