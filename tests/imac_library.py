"""A small music folder for the IMAC matcher: real audio files tagged in the messy ways people tag."""

from __future__ import annotations

from pathlib import Path

import mutagen
import mutagen.wave
import numpy as np
import soundfile as sf
from mutagen.id3 import TIT2, TPE1


def write_audio(path: Path, samplerate: int = 22050, **format_options: str) -> Path:
    """One second of a quiet two-note chord, in the format the extension (or options) name."""
    t = np.arange(samplerate) / samplerate
    tone = 0.2 * (np.sin(2 * np.pi * 220 * t) + np.sin(2 * np.pi * 330 * t))
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone.astype(np.float32), samplerate, **format_options)
    return path


def tag(path: Path, artist: str, title: str) -> Path:
    """Write artist/title with mutagen's easy interface (ID3 for mp3, Vorbis comments otherwise)."""
    audio = mutagen.File(path, easy=True)
    if audio.tags is None:
        audio.add_tags()
    audio["artist"] = artist
    audio["title"] = title
    audio.save()
    return path


def imac_library(root: Path) -> Path:
    """A small library: IMAC songs tagged in messy ways, plus files that must not match or must be
    skipped."""
    root.mkdir(parents=True, exist_ok=True)
    # Break My Stride, Matthew Wilder: 2_0_0
    tag(write_audio(root / "80s" / "stride.mp3"), "MATTHEW WILDER", "Break My Stride (Remastered 2011)")
    # All Is Full Of Love, Björk: 0_4_1 (tagged without the accent)
    tag(write_audio(root / "bjork.ogg"), "Bjork", "All Is Full of Love [Radio Edit]")
    # Single Ladies (Put a Ring on It), Beyoncé: 2_0_0
    tag(
        write_audio(root / "beyonce.flac"),
        "Beyoncé feat. Jay-Z",
        "Single Ladies (Put A Ring On It) - Album Version",
    )
    # The Trapeze Swinger, Iron & Wine: 0_3_3, a tie, so never a training example
    tag(
        write_audio(root / "deep" / "er" / "trapeze.opus", 48000, format="OGG", subtype="OPUS"),
        "Iron and Wine",
        "The Trapeze Swinger",
    )
    # Tostaky (Le Continent), Noir Désir: 0_0_1, in a WAV file's ID3 chunk
    wav = mutagen.wave.WAVE(write_audio(root / "tostaky.wav"))
    wav.add_tags()
    wav.tags.add(TPE1(encoding=3, text=["Noir Désir"]))
    wav.tags.add(TIT2(encoding=3, text=["Tostaky (Le Continent) (Live)"]))
    wav.save()

    write_audio(root / "untagged.ogg")
    (root / "broken.mp3").write_text("this is not an mp3 file\n")
    tag(write_audio(root / "unknown.flac"), "moodtui test", "A Song Nobody Tagged On Last.fm")
    (root / "notes.txt").write_text("not audio, not scanned\n")
    return root
