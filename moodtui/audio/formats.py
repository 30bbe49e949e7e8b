"""The one table of audio formats: which files the library lists, how each is decoded and played.

Every part of moodtui that needs to know about formats asks here: the folder walker (what to
list), the decoder (which decoder reads a file) and the player (what miniaudio opens itself and
what is transcoded with ffmpeg first). A file's format is found from its first bytes (its
"magic"), not from its name, so an Ogg file named ``.mp3`` or an mp3 named ``.ogg`` is still
decoded and played by the right code; the extension is only the fall-back for content that is
not recognised.

Formats that only ffmpeg decodes are listed only while an ``ffmpeg`` executable is on the PATH:
the library never shows a file that nothing here can read.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

SNIFF_BYTES = 64
"""Bytes read from the start of a file (after any ID3v2 tag) to recognise its format."""


@dataclass(frozen=True, slots=True)
class AudioFormat:
    name: str
    """Short name used in messages ("mp3", "mp4/aac", ...)."""
    extensions: tuple[str, ...]
    """File name extensions (lower case, with the dot) the library lists for this format."""
    decoder: str
    """Who decodes it for analysis: "sndfile" (opened by libsndfile; FLAC and Vorbis then decoded by
    miniaudio), "mp3" (libmpg123, else miniaudio's dr_mp3) or "ffmpeg"."""
    plays_natively: bool
    """True when miniaudio (the player) opens it itself; otherwise it is transcoded with ffmpeg."""

    @property
    def needs_ffmpeg(self) -> bool:
        return self.decoder == "ffmpeg"


WAV = AudioFormat("wav", (".wav",), "sndfile", True)
FLAC = AudioFormat("flac", (".flac",), "sndfile", True)
OGG = AudioFormat("ogg", (".ogg", ".oga", ".opus"), "sndfile", True)  # Vorbis, Opus, FLAC in Ogg
AIFF = AudioFormat("aiff", (".aiff", ".aif", ".aifc"), "sndfile", True)
# mp3 is never given to libsndfile: its bundled mpg123 prints to fd 2, where the player draws.
MP3 = AudioFormat("mp3", (".mp3",), "mp3", True)
MP4 = AudioFormat("mp4/aac", (".m4a", ".m4b", ".mp4"), "ffmpeg", False)  # AAC and ALAC in MP4
AAC = AudioFormat("aac", (".aac",), "ffmpeg", False)  # raw ADTS stream
MATROSKA = AudioFormat("matroska", (".mka", ".webm"), "ffmpeg", False)
ASF = AudioFormat("wma", (".wma",), "ffmpeg", False)
APE = AudioFormat("ape", (".ape",), "ffmpeg", False)
WAVPACK = AudioFormat("wavpack", (".wv",), "ffmpeg", False)
MUSEPACK = AudioFormat("musepack", (".mpc",), "ffmpeg", False)

FORMATS: tuple[AudioFormat, ...] = (WAV, FLAC, OGG, AIFF, MP3, MP4, AAC, MATROSKA, ASF, APE, WAVPACK, MUSEPACK)

_BY_EXTENSION = {ext: fmt for fmt in FORMATS for ext in fmt.extensions}


def ffmpeg_path() -> str | None:
    """The ``ffmpeg`` executable, or None when it is not installed."""
    return shutil.which("ffmpeg")


def listed_extensions(ffmpeg: bool | None = None) -> frozenset[str]:
    """The extensions the library lists: what can be decoded now (ffmpeg formats only with ffmpeg).

    ``ffmpeg`` says whether ffmpeg is available; by default it is looked up on the PATH.
    """
    if ffmpeg is None:
        ffmpeg = ffmpeg_path() is not None
    return frozenset(ext for fmt in FORMATS if ffmpeg or not fmt.needs_ffmpeg for ext in fmt.extensions)


def format_of_name(name: str | os.PathLike[str]) -> AudioFormat | None:
    """The format a file name's extension stands for, or None."""
    return _BY_EXTENSION.get(os.path.splitext(os.fsdecode(name))[1].lower())


def sniff_bytes(head: bytes) -> AudioFormat | None:
    """The format whose signature ``head`` (a file's first bytes, ID3v2 tag removed) starts with."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return WAV
    if head[:4] == b"fLaC":
        return FLAC
    if head[:4] == b"OggS":
        return OGG
    if head[:4] == b"FORM" and head[8:12] in (b"AIFF", b"AIFC"):
        return AIFF
    if head[4:8] == b"ftyp":
        return MP4
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska and WebM
        return MATROSKA
    if head[:8] == b"\x30\x26\xb2\x75\x8e\x66\xcf\x11":  # the ASF header object's GUID
        return ASF
    if head[:4] == b"MAC ":
        return APE
    if head[:4] == b"wvpk":
        return WAVPACK
    if head[:4] == b"MPCK" or head[:3] == b"MP+":
        return MUSEPACK
    if len(head) >= 4 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG audio frame sync
        layer = (head[1] >> 1) & 0b11
        if layer == 0 and head[1] & 0xF0 == 0xF0:  # "layer 0" is ADTS: AAC
            return AAC
        bitrate, rate = head[2] >> 4, (head[2] >> 2) & 0b11
        if layer != 0 and bitrate != 0b1111 and rate != 0b11:
            return MP3
    return None


def _id3_size(head: bytes) -> int:
    """Bytes an ID3v2 tag at the start of ``head`` takes (0 when there is none)."""
    if len(head) < 10 or head[:3] != b"ID3" or any(b & 0x80 for b in head[6:10]):
        return 0
    size = (head[6] << 21) | (head[7] << 14) | (head[8] << 7) | head[9]
    footer = 10 if head[5] & 0x10 else 0
    return 10 + size + footer


def sniff(path: str | os.PathLike[str]) -> AudioFormat | None:
    """The format of the file at ``path`` from its content, or None when it is not recognised.

    Raises OSError when the file cannot be read.
    """
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        skip = _id3_size(head)
        if skip:
            handle.seek(skip)
            after = handle.read(SNIFF_BYTES)
            # ID3v2 in front of anything else is (nearly always) an mp3 whose first frame is odd.
            return sniff_bytes(after) or MP3
    return sniff_bytes(head)


TEXT_SNIFF_BYTES = 512
NOT_AUDIO_TEXT = "not audio (a text file)"
"""The reason given for a text file with an audio file's name (notes saved as ``.mp3``)."""


def looks_like_text(path: str | os.PathLike[str]) -> bool:
    """True when the file starts like text (UTF-8, no NUL byte, no control characters but
    whitespace) and like no audio format: a text file with an audio file's name. Raises OSError."""
    with open(path, "rb") as handle:
        head = handle.read(TEXT_SNIFF_BYTES)
    if not head or b"\0" in head or sniff_bytes(head[:SNIFF_BYTES]) is not None or head[:3] == b"ID3":
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 3:  # not just a character cut at the end of the sample
            return False
        text = head[: error.start].decode("utf-8")
    return all(ch.isprintable() or ch in "\t\n\r\f\v" for ch in text)


def format_of(path: str | os.PathLike[str]) -> AudioFormat | None:
    """The file's format: from its content, else from its extension; None when neither knows it."""
    try:
        found = sniff(path)
    except OSError:
        found = None
    return found or format_of_name(path)


__all__ = [
    "FORMATS",
    "AudioFormat",
    "ffmpeg_path",
    "format_of",
    "format_of_name",
    "listed_extensions",
    "looks_like_text",
    "sniff",
    "sniff_bytes",
]
