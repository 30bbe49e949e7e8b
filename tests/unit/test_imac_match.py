"""The IMAC matcher, in-process, on real tagged audio files and the real shipped table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imac_library import imac_library, tag, write_audio
from moodtui.cli.imac_match import run_imac_match
from moodtui.library.imac import (
    ImacIndex,
    ImacMatch,
    ImacSong,
    load_table,
    match_directory,
    normalise,
    read_tags,
    scan_directory,
    shipped_index,
    training_rows,
)


@pytest.fixture
def music(tmp_path: Path) -> Path:
    return imac_library(tmp_path / "music")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Break My Stride (Remastered 2011)", "break my stride"),
        ("Break My Stride - Remastered", "break my stride"),
        ("Smile [Radio Edit]", "smile"),
        ("Fast Car (LP Version)", "fast car"),
        ("I Go To Sleep (Live)", "i go to sleep"),
        ("Bent (Single Version)", "bent"),
        ("I've Been Thinking featuring Cat Power (Album Version)", "ive been thinking"),
        ("Don\u2019t Stop (feat. Somebody Else) - Live at Wembley", "dont stop"),
        ("Everyday ft. Guest", "everyday"),
        ("I Love Rock n\u00b4 Roll", "i love rock n roll"),
        ("  Sous   le CIEL de Paris ", "sous le ciel de paris"),
        ("Entre Caníbales", "entre canibales"),
        ("Black & Blue", "black and blue"),
        ("\u201cQuoted\u201d Title!?", "quoted title"),
        # Bracketed or dashed parts that are part of the name stay (only their punctuation goes).
        ("Happy Xmas (War Is Over)", "happy xmas war is over"),
        ("Lover - Come Back to Me", "lover come back to me"),
        ("Live and Let Die", "live and let die"),
        # Removing the suffix would leave nothing: keep the words.
        ("(Live)", "live"),
        ("艶かしき安息、躊躇いに微笑み", "艶かしき安息 躊躇いに微笑み"),
    ],
)
def test_normalise_title(text: str, expected: str) -> None:
    assert normalise(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The Polyphonic Spree", "polyphonic spree"),
        ("MATTHEW WILDER", "matthew wilder"),
        ("Dobenbeck feat. Joanna", "dobenbeck"),
        ("Bob Marley & The Wailers", "bob marley and the wailers"),
        ("Lillebjørn Nilsen", "lillebjorn nilsen"),
        ("Mediæval Bæbes", "mediaeval baebes"),
        ("Glen Hansard & Markéta Irglová", "glen hansard and marketa irglova"),
        ("G. Love & Special Sauce", "g love and special sauce"),
        ("The The", "the"),
    ],
)
def test_normalise_artist(text: str, expected: str) -> None:
    assert normalise(text, artist=True) == expected


def test_leading_the_is_dropped_for_artists_only() -> None:
    assert normalise("The End Of Everything") == "the end of everything"


def test_load_table_reads_every_row() -> None:
    songs = load_table()
    assert len(songs) == 4159
    assert songs[2] == ImacSong("TRAAAZF12903CCCF6B", "Break My Stride", "Matthew Wilder", (2, 0, 0))
    labels = [song.label for song in songs]
    # The README's strict-maximum figures: 431 ties dropped.
    assert (labels.count("positive"), labels.count("neutral"), labels.count("negative")) == (1264, 1437, 1027)
    assert labels.count(None) == 431


@pytest.mark.parametrize(
    ("counts", "label"),
    [
        ((2, 0, 1), "positive"),
        ((0, 3, 1), "neutral"),
        ((0, 0, 1), "negative"),
        ((1, 1, 0), None),
        ((0, 3, 3), None),
        ((0, 0, 0), None),
    ],
)
def test_label_is_the_strict_maximum(counts: tuple[int, int, int], label: str | None) -> None:
    assert ImacSong("TRX", "t", "a", counts).label == label


def test_rows_sharing_a_key_are_pooled() -> None:
    # "Sittin' On The Dock Of The Bay" and "(Sittin' On) The Dock Of The Bay" normalise alike.
    songs = shipped_index().lookup("Otis Redding", "Sittin' On the Dock of the Bay")
    assert {song.title for song in songs} == {
        "(Sittin' On) The Dock Of The Bay",
        "Sittin' On The Dock Of The Bay",
    }
    match = ImacMatch(Path("x.mp3"), "Otis Redding", "Sittin' On the Dock of the Bay", songs)
    assert match.counts == tuple(sum(column) for column in zip(*(s.counts for s in songs)))


def test_pooled_counts_can_tie() -> None:
    index = ImacIndex(
        [
            ImacSong("TR1", "Same Song", "Band", (1, 0, 0)),
            ImacSong("TR2", "Same Song (Live)", "Band", (0, 0, 1)),
        ]
    )
    songs = index.lookup("band", "same song")
    assert [s.msd_track_id for s in songs] == ["TR1", "TR2"]
    assert ImacMatch(Path("x.ogg"), "band", "same song", songs).label is None


def test_loose_key_ignores_bracketed_parts() -> None:
    index = shipped_index()
    assert [s.msd_track_id for s in index.lookup("Polyphonic Spree", "Happy Xmas")] == ["TRAGWFY128E0789A35"]
    assert [s.title for s in index.lookup("Beyonce", "Single Ladies")] == ["Single Ladies (Put a Ring on It)"]
    assert index.lookup("Polyphonic Spree", "Happy Birthday") == ()


def test_read_tags(music: Path) -> None:
    assert read_tags(music / "80s" / "stride.mp3") == ("MATTHEW WILDER", "Break My Stride (Remastered 2011)")
    assert read_tags(music / "tostaky.wav") == ("Noir Désir", "Tostaky (Le Continent) (Live)")
    assert read_tags(music / "untagged.ogg") is None


def test_scan_directory(music: Path) -> None:
    scan = scan_directory(music)
    found = {m.path.relative_to(music).as_posix(): (m.counts, m.label) for m in scan.matches}
    assert found == {
        "80s/stride.mp3": ((2, 0, 0), "positive"),
        "beyonce.flac": ((2, 0, 0), "positive"),
        "bjork.ogg": ((0, 4, 1), "neutral"),
        "deep/er/trapeze.opus": ((0, 3, 3), None),
        "tostaky.wav": ((0, 0, 1), "negative"),
    }
    assert [(p.name, a, t) for p, a, t in scan.unmatched] == [
        ("unknown.flac", "moodtui test", "A Song Nobody Tagged On Last.fm")
    ]
    skipped = {p.name: reason for p, reason in scan.skipped}
    assert skipped.keys() == {"broken.mp3", "untagged.ogg"}
    assert skipped["untagged.ogg"] == "no artist/title tags"
    assert skipped["broken.mp3"].startswith("cannot read tags")
    assert scan.audio_file_count == 8
    assert [m.path for m in match_directory(music)] == [m.path for m in scan.matches]


def test_training_rows_drop_ties(music: Path) -> None:
    rows = {(p.name, label) for p, label in training_rows(music)}
    assert rows == {
        ("stride.mp3", "positive"),
        ("beyonce.flac", "positive"),
        ("bjork.ogg", "neutral"),
        ("tostaky.wav", "negative"),
    }


def test_run_imac_match_json(music: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_imac_match(music, as_json=True) == 0
    out, err = capsys.readouterr()
    records = {Path(r["path"]).name: r for r in json.loads(out)}
    assert records["stride.mp3"] == {
        "path": str(music / "80s" / "stride.mp3"),
        "artist": "MATTHEW WILDER",
        "title": "Break My Stride (Remastered 2011)",
        "msd_track_ids": ["TRAAAZF12903CCCF6B"],
        "counts": {"positive": 2, "neutral": 0, "negative": 0},
        "label": "positive",
    }
    assert records["trapeze.opus"]["label"] is None
    assert err.splitlines()[-1] == (
        "8 audio files: 5 found in IMAC (4 with a clear label, 1 tied), 1 not in IMAC, 2 skipped"
    )
    assert f"skipped {music / 'untagged.ogg'}: no artist/title tags" in err


def test_run_imac_match_table(music: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that rich does not wrap the cells
    assert run_imac_match(music, as_json=False) == 0
    out, _ = capsys.readouterr()
    assert "[Radio Edit]" in out  # shown literally, not swallowed as rich markup
    assert "Tostaky" in out and "negative" in out and "tie" in out


def test_run_imac_match_missing_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_imac_match(tmp_path / "nowhere", as_json=False) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"moodtui imac-match: {tmp_path / 'nowhere'}: no such folder\n"


def test_nothing_found_prints_no_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tag(write_audio(tmp_path / "mine.ogg"), "Nobody", "Nothing")
    assert run_imac_match(tmp_path, as_json=False) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "1 audio files: 0 found in IMAC (0 with a clear label, 0 tied), 1 not in IMAC, 0 skipped\n"
