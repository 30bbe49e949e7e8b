"""The Player where another process takes part: ffmpeg transcodes (m4a, a file nothing else opens)
and a child process whose terminal output is read (ALSA and JACK messages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import moodtui
from moodtui.errors import AudioError
from moodtui.player.playback import Player
from player_tools import wait_for, write_wav

REPO_DIR = Path(moodtui.__file__).resolve().parent.parent


needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODTUI_HOME", str(tmp_path / "home"))


def write_m4a(path: Path, seconds: float) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-ac", "1", "-ar", "22050", "-c:a", "aac", str(path)],
        check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return path


# Not a unit test: a file libsndfile and miniaudio refuse is tried with ffmpeg (a process) when it is installed.
def test_a_broken_file_is_an_audio_error_naming_it(player: Player, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp3"
    broken.write_text("not audio\n")
    with pytest.raises(AudioError, match=r"broken\.mp3: ") as caught:
        player.open(broken)
    assert "\n" not in str(caught.value)
    assert player.path is None and player.duration_s is None
    with pytest.raises(AudioError, match=r"missing\.wav: no such file"):
        player.open(tmp_path / "missing.wav")


@needs_ffmpeg
def test_m4a_plays_through_an_ffmpeg_transcode(player: Player, tmp_path: Path) -> None:
    song = write_m4a(tmp_path / "song.m4a", 1.0)
    assert player.open(song) is True
    assert player.path == song
    assert player.duration_s == pytest.approx(1.0, abs=0.05)
    transcoded = player._playing_temp
    assert transcoded is not None and transcoded.exists()
    player.play()
    assert wait_for(lambda: player.position_s > 0.1)

    player.open(write_wav(tmp_path / "next.wav", 0.5))  # the transcoded copy is no longer needed
    assert not transcoded.exists()
    temp_dir = transcoded.parent
    player.close()
    assert not temp_dir.exists()


@needs_ffmpeg
def test_a_newer_open_wins_over_a_slow_transcode(player: Player, tmp_path: Path) -> None:
    slow = write_m4a(tmp_path / "long.m4a", 60.0)
    fast = write_wav(tmp_path / "fast.wav", 0.5)
    results: list[bool] = []
    worker = threading.Thread(target=lambda: results.append(player.open(slow)))
    worker.start()
    time.sleep(0.05)
    assert player.open(fast) is True
    worker.join()
    assert results == [False]
    assert player.path == fast
    temp_dir = player._temp_dir
    assert temp_dir is None or list(temp_dir.iterdir()) == []  # the cancelled transcode left nothing


PLAYBACK_SCRIPT = """
import sys, time
{setup}
from just_playback import Playback
playback = Playback()
playback.load_file(sys.argv[1])
playback.play()
time.sleep(0.1)
playback.close()
"""


def run_playback_process(song: Path, setup: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", PLAYBACK_SCRIPT.format(setup=setup), str(song)],
        capture_output=True, text=True, timeout=60, cwd=REPO_DIR,
        env={**os.environ, "PYTHONPATH": str(REPO_DIR)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stderr


def test_alsa_and_jack_messages_do_not_reach_the_terminal(tmp_path: Path) -> None:
    song = write_wav(tmp_path / "song.wav", 0.3)
    unsilenced = run_playback_process(song, setup="")
    if not unsilenced:
        pytest.skip("the audio libraries print nothing on this machine (a sound device is present)")
    assert "ALSA lib" in unsilenced or "jack" in unsilenced.lower()  # what there is to silence

    silenced = run_playback_process(
        song, setup="from moodtui.player.playback import silence_native_audio_errors\nsilence_native_audio_errors()"
    )
    assert silenced == ""


def test_player_silences_the_audio_libraries_itself(tmp_path: Path) -> None:
    song = write_wav(tmp_path / "song.wav", 0.3)
    script = (
        "import sys, time\nfrom moodtui.player.playback import Player\n"
        "player = Player()\nplayer.open(sys.argv[1])\nplayer.play()\ntime.sleep(0.1)\nplayer.close()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(song)], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO_DIR)},
    )  # fmt: skip
    assert result.returncode == 0
    assert result.stderr == ""
