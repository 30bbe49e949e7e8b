"""Files only ffmpeg writes or decodes: the ffmpeg containers, m4a, an Ogg named .mp3 and an mp3
named .ogg (decoded, analysed, played). The formats table and the walk themselves:
tests/unit/test_formats_and_walk.py.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from audio_factory import write_song
from moodtui.audio import formats
from moodtui.audio.decode import SAMPLE_RATE, decode
from moodtui.library.scan import walk_audio_files
from moodtui.player.playback import Player

needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MOODTUI_HOME", str(home))
    return home


def ffmpeg_convert(source: Path, target: Path, *args: str) -> Path:
    subprocess.run(["ffmpeg", "-y", "-v", "error", "-i", str(source), *args, str(target)], check=True)
    return target


@pytest.fixture(scope="module")
def disguised(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An Ogg Vorbis file named .mp3 and an mp3 (with an ID3 tag) named .ogg, 4 s each."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is needed to write mp3 files")
    folder = tmp_path_factory.mktemp("disguised")
    ogg = write_song(folder / "real.ogg", "positive", 4.0)
    mp3 = ffmpeg_convert(ogg, folder / "real.mp3", "-metadata", "title=Disguised")
    shutil.copy(ogg, folder / "ogg inside.mp3")
    shutil.copy(mp3, folder / "mp3 inside.ogg")
    return {"ogg_as_mp3": folder / "ogg inside.mp3", "mp3_as_ogg": folder / "mp3 inside.ogg"}


@needs_ffmpeg
def test_m4a_decodes_through_ffmpeg(tmp_path):
    wav = write_song(tmp_path / "song.wav", "neutral", 4.0)
    m4a = tmp_path / "song.m4a"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
    audio = decode(m4a)
    assert abs(audio.size / SAMPLE_RATE - 4.0) < 0.15


@needs_ffmpeg
@pytest.mark.parametrize("ext", [".webm", ".mka", ".m4b"])
def test_ffmpeg_containers_that_are_listed_decode(tmp_path: Path, ext: str) -> None:
    wav = write_song(tmp_path / "song.wav", "neutral", 4.0)
    codec = {".webm": ["-c:a", "libopus"], ".mka": ["-c:a", "flac"], ".m4b": ["-c:a", "aac", "-f", "mp4"]}[ext]
    song = ffmpeg_convert(wav, tmp_path / f"song{ext}", *codec)
    assert formats.sniff(song).needs_ffmpeg
    assert abs(decode(song).size / SAMPLE_RATE - 4.0) < 0.15
    assert [e.name for e in walk_audio_files(tmp_path)] == sorted(["song.wav", f"song{ext}"])


def test_an_ogg_named_mp3_and_an_mp3_named_ogg_decode(disguised: dict[str, Path]) -> None:
    assert formats.sniff(disguised["ogg_as_mp3"]) is formats.OGG
    assert formats.sniff(disguised["mp3_as_ogg"]) is formats.MP3  # behind an ID3 tag
    for path in disguised.values():
        assert abs(decode(path).size / SAMPLE_RATE - 4.0) < 0.15, path.name


def test_an_ogg_named_mp3_and_an_mp3_named_ogg_are_analysed(disguised: dict[str, Path], model_env: Path) -> None:
    from moodtui.mood.analysis import analyse_file
    from moodtui.mood.versions import load_current_model

    model, _ = load_current_model()
    for path in disguised.values():
        mood = analyse_file(path, model)
        assert abs(mood.duration_s - 4.0) < 0.15 and mood.slice_probs.shape == (2, 3), path.name


def test_an_ogg_named_mp3_and_an_mp3_named_ogg_play_for_their_length(disguised: dict[str, Path]) -> None:
    player = Player()
    try:
        for path in disguised.values():
            assert player.open(path)
            assert player.path == path
            assert player.duration_s == pytest.approx(4.0, abs=0.15), path.name  # not tinytag's guess
            player.play()
            time.sleep(0.3)
            assert player.is_playing and not player.at_end
    finally:
        player.close()
