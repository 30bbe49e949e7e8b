"""ReplayGain in-process: the modes' fallbacks, peaks that prevent clipping, and the gain times the
volume in the real player.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest

from audio_factory import write_song
from moodtui.audio.replaygain import ReplayGainTags, choose_gain
from moodtui.player.playback import Player


def test_modes_fall_back_and_peaks_prevent_clipping() -> None:
    tags = ReplayGainTags(-6.2, 0.988, -4.0, 1.0)
    assert choose_gain(tags, "off").factor == 1.0 and choose_gain(tags, "off").text is None
    track = choose_gain(tags, "track")
    assert track.factor == pytest.approx(10 ** (-6.2 / 20)) and track.text == "RG track -6.2 dB"
    assert choose_gain(tags, "album").factor == pytest.approx(10 ** (-4.0 / 20))
    only_album = ReplayGainTags(album_gain_db=-2.0)
    assert choose_gain(only_album, "track").factor == pytest.approx(10 ** (-2.0 / 20))
    loud_peak = choose_gain(ReplayGainTags(track_gain_db=+6.0, track_peak=0.8), "track")
    assert loud_peak.factor == pytest.approx(1 / 0.8)  # +6 dB would clip: lifted only to the peak
    assert loud_peak.text == f"RG track {20 * math.log10(1 / 0.8):+.1f} dB (peak-limited)"
    assert choose_gain(ReplayGainTags(), "album").text == "RG album: no tags"


def test_the_player_applies_the_gain_times_the_volume(tmp_path: Path) -> None:
    song = write_song(tmp_path / "a.wav", "neutral", 2.0)
    player = Player()
    try:
        player.open(song)
        player.volume = 0.8
        player.set_gain(0.5)
        player.play()
        time.sleep(0.1)
        assert player.output_volume == pytest.approx(0.4)
        assert player._playback.volume == pytest.approx(0.4)  # what miniaudio was told
        player.set_gain(2.0)
        assert player.output_volume == 1.0  # miniaudio's ceiling
    finally:
        player.close()
