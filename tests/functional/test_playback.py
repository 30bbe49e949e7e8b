"""The Player on real audio files; without a sound card it runs on miniaudio's null backend."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

import moodtui
from moodtui.errors import AudioError
from moodtui.player.playback import NULL_BACKEND_NOTICE, VOLUME_STEP, Player, _sound_server_or_card_present

SAMPLE_RATE = 22050
REPO_DIR = Path(moodtui.__file__).resolve().parent.parent
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")


@pytest.fixture(autouse=True)
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOODTUI_HOME", str(tmp_path / "home"))


@pytest.fixture
def player() -> Iterator[Player]:
    player = Player()
    yield player
    player.close()


def write_wav(path: Path, seconds: float) -> Path:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    sf.write(path, (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SAMPLE_RATE)
    return path


def write_m4a(path: Path, seconds: float) -> Path:
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-ac", "1", "-ar", "22050", "-c:a", "aac", str(path)],
        check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return path


def wait_for(condition, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_play_pause_resume_stop(player: Player, tmp_path: Path) -> None:
    song = write_wav(tmp_path / "song.wav", 3.0)
    assert player.duration_s is None and player.position_s == 0.0
    assert player.open(song) is True
    assert player.path == song
    assert player.duration_s == pytest.approx(3.0)
    assert not player.is_playing and player.position_s == 0.0

    player.play()
    assert player.is_playing
    assert wait_for(lambda: player.position_s > 0.2)

    player.pause()
    assert player.is_paused and not player.is_playing
    paused_at = player.position_s
    time.sleep(0.2)
    assert player.position_s == paused_at

    player.toggle()  # resume
    assert player.is_playing
    assert wait_for(lambda: player.position_s > paused_at + 0.1)
    player.toggle()  # pause
    assert player.is_paused

    player.stop()
    assert not player.is_playing and not player.is_paused and player.position_s == 0.0
    assert not player.at_end


def test_seek_is_clamped_and_relative(player: Player, tmp_path: Path) -> None:
    player.open(write_wav(tmp_path / "song.wav", 3.0))
    player.play()
    player.pause()
    player.seek(1.5)
    assert player.position_s == pytest.approx(1.5, abs=0.01)
    player.seek_relative(-0.5)
    assert player.position_s == pytest.approx(1.0, abs=0.01)
    player.seek(-10)
    assert player.position_s == 0.0
    player.seek_relative(+0.25)
    assert player.position_s == pytest.approx(0.25, abs=0.01)
    player.seek(1_000)  # clamped to the end: once playing, the track ends at once
    player.resume()
    assert wait_for(lambda: player.at_end, timeout_s=2.0)


def test_end_of_track_is_detected_for_auto_advance(player: Player, tmp_path: Path) -> None:
    player.open(write_wav(tmp_path / "short.wav", 0.4))
    player.play()
    assert not player.at_end
    assert wait_for(lambda: player.at_end, timeout_s=3.0)
    assert not player.is_playing
    assert player.position_s == pytest.approx(0.4)
    player.toggle()  # after the end: plays again from the start
    assert player.is_playing and not player.at_end


def test_volume_is_clamped_stepped_and_kept_across_tracks(player: Player, tmp_path: Path) -> None:
    assert player.volume == 1.0
    assert player.volume_up() == 1.0
    assert player.volume_down() == pytest.approx(1.0 - VOLUME_STEP)
    player.volume = 0.3
    player.open(write_wav(tmp_path / "a.wav", 0.5))
    assert player.volume == pytest.approx(0.3)
    assert player._playback.volume == pytest.approx(0.3)  # applied to the device
    player.volume = -2
    assert player.volume == 0.0
    player.open(write_wav(tmp_path / "b.wav", 0.5))
    assert player._playback.volume == 0.0


def test_null_backend_notice_is_given_once(player: Player, tmp_path: Path) -> None:
    assert player.backend_is_null is None and player.take_notice() is None
    player.open(write_wav(tmp_path / "song.wav", 0.5))
    if not _sound_server_or_card_present():
        assert player.backend_is_null is True
    notices = [player.take_notice(), player.take_notice()]
    assert notices == ([NULL_BACKEND_NOTICE, None] if player.backend_is_null else [None, None])


def test_non_utf8_file_name_plays(player: Player, tmp_path: Path) -> None:
    name = os.fsencode(tmp_path) + b"/caf\xe9.wav"
    shutil.copy(write_wav(tmp_path / "plain.wav", 0.5), name)
    assert player.open(os.fsdecode(name))
    assert player.duration_s == pytest.approx(0.5)


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


def test_m4a_without_ffmpeg_names_the_missing_tool(
    player: Player, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    song = tmp_path / "song.m4a"
    song.write_bytes(b"\x00" * 64)  # never decoded: the missing ffmpeg is found first
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(AudioError, match=r"song\.m4a: cannot play m4a without ffmpeg \(install ffmpeg\)"):
        player.open(song)


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
