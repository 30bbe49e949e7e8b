#!/usr/bin/env python3
"""Generate a big tagged music library for benchmarks: DEST/<artist>/<album>/<nn> <title>.<ext>.

Each file is a half-second tone (mp3, flac or ogg/vorbis in turn) with title, artist, album and
track number tags. One template per format is encoded once; every file is that template with its
own tags, written by mutagen in memory, so 10,000 files take seconds.

    python scripts/make_big_library.py /tmp/big-library --count 10000
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import mutagen
import numpy as np
import soundfile as sf

SAMPLE_RATE = 22050
TRACKS_PER_ALBUM = 10
ALBUMS_PER_ARTIST = 5
# The mix of a typical collection: mostly mp3, some flac, some ogg.
FORMATS = ("MP3", "MP3", "MP3", "FLAC", "OGG")


def encode_templates(seconds: float = 0.5) -> dict[str, bytes]:
    """One short tone per format, encoded once."""
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    templates = {}
    for file_format in set(FORMATS):
        buffer = io.BytesIO()
        sf.write(buffer, tone, SAMPLE_RATE, format=file_format)
        templates[file_format] = buffer.getvalue()
    return templates


def tagged_copy(template: bytes, tags: dict[str, str]) -> bytes:
    buffer = io.BytesIO(template)
    audio = mutagen.File(buffer, easy=True)
    if audio.tags is None:
        audio.add_tags()
    for key, value in tags.items():
        audio[key] = value
    buffer.seek(0)
    audio.save(buffer)
    return buffer.getvalue()


def make_library(dest: Path, count: int) -> None:
    templates = encode_templates()
    for i in range(count):
        album_index, track_index = divmod(i, TRACKS_PER_ALBUM)
        artist_index = album_index // ALBUMS_PER_ARTIST
        artist, album = f"Artist {artist_index:04d}", f"Album {album_index:05d}"
        title = f"Song {i:06d}"
        file_format = FORMATS[i % len(FORMATS)]
        folder = dest / artist / album
        folder.mkdir(parents=True, exist_ok=True)
        tags = {"title": title, "artist": artist, "album": album, "tracknumber": str(track_index + 1)}
        path = folder / f"{track_index + 1:02d} {title}.{file_format.lower()}"
        path.write_bytes(tagged_copy(templates[file_format], tags))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to create the library in")
    parser.add_argument("--count", type=int, default=10_000, help="number of audio files (default 10000)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    make_library(args.dest, args.count)
    print(f"wrote {args.count} files to {args.dest} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
