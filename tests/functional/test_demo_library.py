"""The committed demo library: what its README promises, and that the script makes it."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf

from moodtui.audio.decode import SAMPLE_RATE, decode
from moodtui.library.imac import read_tags, scan_directory
from moodtui.paths import demo_library_dir

REPO = Path(__file__).resolve().parents[2]
LIBRARY = demo_library_dir()
ROW = re.compile(
    r"^\| (?P<number>\d+) \| `(?P<file>[^`]+)` \| (?P<title>[^|]+) \| (?P<album>[^|]+) \| (?P<mood>\w+) \| [^|]+ "
    r"\| (?P<seconds>[\d.]+) s \| (?P<format>[^|]+) \| [^|]+ \| `(?P<sha256>[0-9a-f]{64})` \|$"
)


def readme_rows() -> list[dict[str, str]]:
    text = (LIBRARY / "README.md").read_text(encoding="utf-8")
    return [m.groupdict() for m in map(ROW.match, text.splitlines()) if m]


ROWS = readme_rows()


def test_readme_lists_every_file() -> None:
    assert len(ROWS) == 12
    audio_files = sorted(p.name for p in LIBRARY.iterdir() if p.name != "README.md")
    assert sorted(row["file"] for row in ROWS) == audio_files
    assert "CC0 1.0" in (LIBRARY / "README.md").read_text(encoding="utf-8")


def test_size_formats_and_moods() -> None:
    total = sum((LIBRARY / row["file"]).stat().st_size for row in ROWS)
    assert total < 6_000_000
    assert {Path(row["file"]).suffix for row in ROWS} == {".ogg", ".mp3", ".opus", ".flac", ".wav"}
    assert {row["mood"] for row in ROWS} == {"positive", "neutral", "negative"}
    assert len({row["album"] for row in ROWS}) == 4


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_file_matches_readme(row: dict[str, str]) -> None:
    path = LIBRARY / row["file"]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
    info = sf.info(path)
    assert f"{info.format} {info.subtype}, {info.samplerate} Hz" in row["format"]
    assert 30 <= info.duration <= 90
    assert info.duration == pytest.approx(float(row["seconds"]), abs=0.05)
    if path.suffix == ".opus":
        assert info.samplerate == 48000


@pytest.mark.parametrize("row", ROWS, ids=[row["file"] for row in ROWS])
def test_file_is_tagged(row: dict[str, str]) -> None:
    path = LIBRARY / row["file"]
    assert read_tags(path) == ("moodtui demo", row["title"])
    audio = mutagen.File(path, easy=path.suffix != ".wav")
    if path.suffix == ".wav":
        tags = {frame: str(audio.tags[frame]) for frame in ("TALB", "TCON", "TRCK")}
        assert tags == {"TALB": row["album"], "TCON": "Demo", "TRCK": f"{row['number']}/12"}
    else:
        assert audio["album"] == [row["album"]]
        assert audio["genre"] == ["Demo"]
        assert audio["tracknumber"] == [f"{row['number']}/12"]


def test_core_decodes_every_file() -> None:
    for row in ROWS:
        samples = decode(LIBRARY / row["file"])
        assert samples.ndim == 1
        assert samples.size / SAMPLE_RATE == pytest.approx(float(row["seconds"]), abs=0.1)
        # Music, not silence or noise: loud enough, never clipping.
        rms = float(np.sqrt(np.mean(samples**2)))
        assert 0.03 < rms < 0.4 and float(np.abs(samples).max()) < 1.0


def test_no_demo_file_is_an_imac_song() -> None:
    scan = scan_directory(LIBRARY)
    assert scan.matches == [] and scan.skipped == []
    assert len(scan.unmatched) == 12


def test_script_regenerates_the_wav(tmp_path: Path) -> None:
    """Re-render the short WAV piece with the script: the samples equal the committed file's.

    (PCM WAV depends on no encoder version; a tolerance of one 16-bit step absorbs floating-point
    differences between machines.)
    """
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_demo_library.py"), "--out", str(tmp_path), "--only", "9"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    wav = next(row["file"] for row in ROWS if row["file"].endswith(".wav"))
    fresh, fresh_sr = sf.read(tmp_path / wav, dtype="int16")
    committed, committed_sr = sf.read(LIBRARY / wav, dtype="int16")
    assert fresh_sr == committed_sr and fresh.shape == committed.shape
    assert np.max(np.abs(fresh.astype(np.int32) - committed)) <= 1
    assert not (tmp_path / "README.md").exists()  # --only never rewrites the README


# The demo's intended moods (README table) against the shipped base model. The base never trained
# on anything the demo script makes. Issue 9's goal is 11 of 12; base-20261201-2235 gets 6, the
# same 6 as base-20261201-2117 before it (two Bright Side pieces and Rain on Slate come out
# neutral, Slow Clouds negative, Static Storm and Red Line positive: see models/MODEL_CARD.md).
# This floor makes a later base that does worse fail.
SHIPPED_DEMO_RIGHT = 6


def test_shipped_model_gets_the_demo_moods_it_is_known_to_get() -> None:
    from moodtui.mood.analysis import analyse_file
    from moodtui.mood.model import MoodModel
    from moodtui.paths import shipped_model_path

    model = MoodModel.load(shipped_model_path())
    assert model.has_energy and model.temperature != 1.0
    # Its head reads the musical descriptors; the graph alone is that head at their mean.
    assert model.uses_descriptors
    results = {row["file"]: analyse_file(LIBRARY / row["file"], model) for row in ROWS}
    from moodtui.mood.features import slice_features

    graph = model.run(slice_features(decode(LIBRARY / ROWS[0]["file"])))
    np.testing.assert_allclose(model.head_probs(graph.embeddings), graph.probs, atol=1e-5)
    first = results[ROWS[0]["file"]]
    np.testing.assert_allclose(first.slice_probs, model.head_probs(first.embeddings, first.descriptors), atol=1e-6)
    right = [row["file"] for row in ROWS if results[row["file"]].label == row["mood"]]
    assert len(right) >= SHIPPED_DEMO_RIGHT, right
    # The energy axis orders the demo as written: the bright and tense pieces above the calm ones.
    energy = {row["album"]: [] for row in ROWS}
    for row in ROWS:
        energy[row["album"]].append(results[row["file"]].energy)
    assert min(energy["Bright Side"] + energy["Pressure"]) > max(energy["Still Water"])
