"""Who a music file is, independently of where it lives: a cheap content fingerprint.

A label must follow a song when the listener moves or renames the file, so labels are keyed by
content, not by path. Hashing a whole 200 MB file on every lookup would be far too slow, so
:func:`fingerprint` hashes the file size plus four 64 KiB windows: the start (container headers
and the usual place of ID3v2 / FLAC / MP4 tags), one third, two thirds, and the end (ID3v1 / APE
tags, the last frames). That is at most 256 KiB of reading whatever the file size.

Why that is enough: compressed audio is high-entropy, so two different recordings practically
never share their exact byte size *and* the same bytes at four places; two copies of one file
always give the same fingerprint, wherever they are.

What it misses, by design:
- An edit that changes the size or touches a sampled window (re-tagging, most tag editors
  rewrite the header; adding cover art) gives a new fingerprint: to the store it looks like a new
  file. ``moodtui.listener.labels`` then falls back to the path, so a song re-tagged in place keeps its
  label; a song re-tagged *and* moved loses it.
- An edit that keeps the size and falls only between the windows (a tag rewritten in place
  inside its padding) keeps the fingerprint: the song is still taken for the same song, which is
  what a listener expects of a tag edit.
- The same recording in two encodings (an mp3 and a flac of one song) is two different files.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from typing import BinaryIO

from moodtui.errors import AudioError

CHUNK_BYTES = 64 * 1024
# Window starts as fractions of the file size; the last window is aligned on the end of the file.
_WINDOW_FRACTIONS = (0.0, 1 / 3, 2 / 3)
# Versioned salt: changing the sampling scheme must change every fingerprint, never collide.
_SALT = b"moodtui-fingerprint-v1"

_CAUSES = {
    errno.ENOENT: "no such file",
    errno.EISDIR: "is a directory",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def fingerprint(path: str | os.PathLike[str]) -> str:
    """A content fingerprint of the file at ``path`` (32 hex digits), the same wherever it lives.

    Reads at most 256 KiB (see the module docstring for what it sees and what it misses).
    Raises :class:`AudioError` naming the file when it is missing, not a regular file or unreadable.
    """
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer, forever. The
        # file type is checked on the open descriptor (no race with a rename in between).
        with open(path, "rb", opener=lambda name, flags: os.open(name, flags | os.O_NONBLOCK)) as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise AudioError(path, "not a regular file")
            return _fingerprint_open_file(handle, info.st_size)
    except OSError as error:
        raise AudioError(path, _cause(error)) from error


def _fingerprint_open_file(handle: BinaryIO, size: int) -> str:
    digest = hashlib.blake2b(_SALT, digest_size=16)
    digest.update(size.to_bytes(8, "little"))
    if size <= CHUNK_BYTES * (len(_WINDOW_FRACTIONS) + 1):
        # Small file: the windows would overlap, so hash it whole.
        digest.update(handle.read())
    else:
        starts = [int(size * fraction) for fraction in _WINDOW_FRACTIONS] + [size - CHUNK_BYTES]
        for start in starts:
            handle.seek(start)
            digest.update(handle.read(CHUNK_BYTES))
    return digest.hexdigest()


def _cause(error: OSError) -> str:
    if error.errno in _CAUSES:
        return _CAUSES[error.errno]
    return f"cannot read ({error.strerror or error})"
