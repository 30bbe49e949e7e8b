"""The Player on real audio files; without a sound card it runs on miniaudio's null backend."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest

from moodtui.errors import AudioError
from moodtui.player.playback import NULL_BACKEND_NOTICE, VOLUME_STEP, Player, _sound_server_or_card_present
from player_tools import wait_for, write_wav

# MOODTUI_HOME is a fresh folder: nothing reads or writes the real data folder.
pytestmark = pytest.mark.usefixtures("home")


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


def test_m4a_without_ffmpeg_names_the_missing_tool(
    player: Player, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    song = tmp_path / "song.m4a"
    song.write_bytes(b"\x00" * 64)  # never decoded: the missing ffmpeg is found first
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(AudioError, match=r"song\.m4a: cannot play m4a without ffmpeg \(install ffmpeg\)"):
        player.open(song)
