"""ReplayGain from tags the tests write (flac, mp3/ID3, opus/R128, m4a through ffmpeg), and the App
playing at the tagged gain.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import mutagen
import pytest
from mutagen.id3 import ID3, TXXX
from test_tui import make_library, run, wait_until

from audio_factory import write_song
from moodtui.audio.replaygain import ReplayGainTags, read_replaygain
from moodtui.config import Settings
from moodtui.tui.app import MoodApp

RG_TAGS = {
    "replaygain_track_gain": "-6.20 dB",
    "replaygain_track_peak": "0.988",
    "replaygain_album_gain": "-4.00 dB",
    "replaygain_album_peak": "1.000",
}


def tag_vorbis(path: Path, tags: dict[str, str]) -> Path:
    audio = mutagen.File(path)
    if audio.tags is None:
        audio.add_tags()
    for key, value in tags.items():
        audio[key] = value
    audio.save()
    return path


def test_tags_of_every_kind_are_read(tmp_path: Path) -> None:
    flac = tag_vorbis(write_song(tmp_path / "a.flac", "neutral", 1.0), {k.upper(): v for k, v in RG_TAGS.items()})
    assert read_replaygain(flac) == ReplayGainTags(-6.2, 0.988, -4.0, 1.0)

    opus = tag_vorbis(write_song(tmp_path / "b.opus", "neutral", 1.0), {"R128_TRACK_GAIN": "-1280"})
    assert read_replaygain(opus).track_gain_db == pytest.approx(-5.0 + 5.0)  # -1280/256 dB at -23 LUFS

    if shutil.which("ffmpeg") is not None:
        wav = write_song(tmp_path / "c.wav", "neutral", 1.0)
        mp3 = tmp_path / "c.mp3"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), str(mp3)], check=True)
        id3 = ID3(mp3)
        for key, value in RG_TAGS.items():
            id3.add(TXXX(encoding=3, desc=key.upper(), text=[value]))
        id3.save(mp3)
        assert read_replaygain(mp3) == ReplayGainTags(-6.2, 0.988, -4.0, 1.0)

        m4a = tmp_path / "d.m4a"
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-c:a", "aac", str(m4a)], check=True)
        mp4 = mutagen.File(m4a)
        mp4["----:com.apple.iTunes:replaygain_track_gain"] = [b"-3.50 dB"]
        mp4.save()
        assert read_replaygain(m4a).track_gain_db == -3.5

    untagged = write_song(tmp_path / "e.wav", "neutral", 1.0)
    assert read_replaygain(untagged) == ReplayGainTags()
    (tmp_path / "f.mp3").write_text("not audio")
    assert read_replaygain(tmp_path / "f.mp3") == ReplayGainTags()


@pytest.mark.parametrize("mode", ["track", "album", "off"])
def test_the_app_plays_at_the_tagged_gain_and_shows_it(
    tmp_path: Path, model_env: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("MOODTUI_WATCH", "off")
    library = make_library(tmp_path / "music")
    for song in (library / "Alpha Band").iterdir():
        tag_vorbis(song, RG_TAGS)

    async def scenario() -> None:
        app = MoodApp(library, settings=Settings(replaygain=mode))
        async with app.run_test(size=(110, 34)) as pilot:
            await wait_until(pilot, lambda: app.scan_done and bool(app.view.visible), "the scan")
            app.play_row(app.view.by_path[str(library / "Alpha Band" / "Sunny Days.flac")])
            await wait_until(pilot, lambda: app.player.is_playing, "playback")
            await pilot.pause(0.1)
            status = str(app.status_bar.line.render())
            expected = {
                "track": (10 ** (-6.2 / 20), "RG track -6.2 dB"),
                "album": (10 ** (-4 / 20), "RG album -4.0 dB"),
                "off": (1.0, None),
            }[mode]
            assert app.player.output_volume == pytest.approx(expected[0])
            if expected[1]:
                assert expected[1] in status
            else:
                assert "RG" not in status
            if mode == "track":  # an untagged song: full volume, and the status line says why
                app.play_row(app.view.by_path[str(library / "Beta Crew" / "Hum.ogg")])
                await wait_until(
                    pilot,
                    lambda: "RG track: no tags" in str(app.status_bar.line.render()),
                    "the untagged song's status",
                )
                assert app.player.output_volume == 1.0

    run(scenario)
