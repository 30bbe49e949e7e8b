"""libmpg123 through ctypes, when the system has it: mp3 decoded straight to mono at half rate.

libmpg123 can mix the channels to mono and decode a 44.1 kHz mp3 at 22,050 Hz, the model's rate,
inside its synthesis filterbank (``MPG123_DOWN_SAMPLE``): no resampler runs after it and the
decoder itself does less work. Measured on a 4-minute 44.1 kHz stereo mp3 (one core, CPU time):
dr_mp3 to mono at 44.1 kHz 138 ms + soxr HQ 19 ms, libmpg123 at 22,050 Hz mono 120 ms; the
model's outputs over every slice of the bench tracks agree within 0.007 (no slice changes class;
``scripts/bench_predict.py`` prints the check).

It is optional: no wheel ships libmpg123 callable from Python (the one inside soundfile's
libsndfile keeps its symbols private), so it is the system's ``libmpg123.so.0`` (Debian:
libmpg123-0, which libsndfile1 and most players pull in) or nothing, and then dr_mp3 decodes
(``moodtui.audio.decode``). ``MOODTUI_MP3_DECODER=dr_mp3`` picks dr_mp3 even when libmpg123
exists (tests and the benchmark compare the two). ``MPG123_QUIET`` keeps libmpg123 from writing
on fd 2, where the player draws (the reason libsndfile's own mpg123 is not used for mp3).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Generator
from functools import lru_cache

import numpy as np

DECODER_ENV = "MOODTUI_MP3_DECODER"

# From mpg123.h (stable ABI since 1.x): parameters, flags, return codes, encodings.
_ADD_FLAGS = 2
_DOWN_SAMPLE = 4
_MONO_MIX = 0x4
_QUIET = 0x20
_OK = 0
_NEW_FORMAT = -11
_DONE = -12
_ENC_FLOAT_32 = 0x200
_MONO = 1
_STEREO = 2
# The MPEG audio sample rates (a half-rate decode of 44.1 / 48 / 32 kHz gives 22,050 / 24,000 /
# 16,000 Hz, also among them).
_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


class Mpg123Error(Exception):
    """libmpg123 could not open or decode the stream; the message is libmpg123's reason."""


@lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    # The soname first: the dynamic loader finds it without find_library's ldconfig/gcc
    # subprocesses (each analysis worker loads the library once).
    lib = _load("libmpg123.so.0") or _load("libmpg123.0.dylib") or _load(ctypes.util.find_library("mpg123"))
    if lib is None:
        return None
    handle, size_p, long_p, int_p = ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.c_long, ctypes.c_int
    try:
        lib.mpg123_init.restype = ctypes.c_int
        lib.mpg123_new.restype = handle
        lib.mpg123_new.argtypes = [ctypes.c_char_p, ctypes.POINTER(int_p)]
        lib.mpg123_delete.argtypes = [handle]
        lib.mpg123_param.argtypes = [handle, int_p, long_p, ctypes.c_double]
        lib.mpg123_format_none.argtypes = [handle]
        lib.mpg123_format.argtypes = [handle, long_p, int_p, int_p]
        lib.mpg123_open_fd.argtypes = [handle, int_p]
        lib.mpg123_close.argtypes = [handle]
        lib.mpg123_getformat.argtypes = [handle, ctypes.POINTER(long_p), ctypes.POINTER(int_p), ctypes.POINTER(int_p)]
        lib.mpg123_read.argtypes = [handle, ctypes.c_void_p, ctypes.c_size_t, size_p]
        lib.mpg123_strerror.restype = ctypes.c_char_p
        lib.mpg123_strerror.argtypes = [handle]
        lib.mpg123_plain_strerror.restype = ctypes.c_char_p
        lib.mpg123_plain_strerror.argtypes = [int_p]
    except AttributeError:  # not the libmpg123 this code knows
        return None
    if lib.mpg123_init() != _OK:
        return None
    return lib


def _load(name: str | None) -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


def available() -> bool:
    """True when mp3 is decoded by libmpg123 (present, and not turned off by MOODTUI_MP3_DECODER)."""
    return os.environ.get(DECODER_ENV, "") != "dr_mp3" and _library() is not None


def decode_float32(
    fd: int, *, mono: bool = True, half_rate: bool = False, read_frames: int | None = None
) -> tuple[int, int, Generator[np.ndarray, None, None]]:
    """Open the mp3 on ``fd`` (left open) for float32 decoding; returns (rate, channels, chunks).

    ``mono`` mixes the channels to their mean; ``half_rate`` decodes at half the file's rate
    (44.1 kHz -> 22,050 Hz). Rate and channels are what libmpg123 will deliver, read from the
    first frame; chunks are interleaved. Every chunk but the last holds ``read_frames`` frames
    (default: 10 s at the output rate): a caller that cuts the stream into
    blocks of that size gets them without a copy. Raises Mpg123Error when the stream does not
    open; the chunks raise it on an error after the first samples (callers keep what came).
    """
    lib = _library()
    if lib is None:
        raise Mpg123Error("libmpg123 is not available")
    error = ctypes.c_int(0)
    handle = lib.mpg123_new(None, ctypes.byref(error))
    if not handle:
        raise Mpg123Error(_plain(lib, error.value))
    try:
        _check(lib, handle, lib.mpg123_param(handle, _ADD_FLAGS, _QUIET | (_MONO_MIX if mono else 0), 0.0))
        _check(lib, handle, lib.mpg123_param(handle, _DOWN_SAMPLE, 1 if half_rate else 0, 0.0))
        _check(lib, handle, lib.mpg123_format_none(handle))
        for rate in _RATES:
            _check(lib, handle, lib.mpg123_format(handle, rate, _MONO if mono else _MONO | _STEREO, _ENC_FLOAT_32))
        _check(lib, handle, lib.mpg123_open_fd(handle, fd))
        rate, channels, encoding = _format(lib, handle)
        if (mono and channels != _MONO) or encoding != _ENC_FLOAT_32 or rate <= 0:
            raise Mpg123Error(f"unexpected output format ({rate} Hz, {channels} channels)")
    except BaseException:
        lib.mpg123_delete(handle)
        raise
    frames = read_frames or rate * 10
    return rate, channels, _chunks(lib, handle, (rate, channels, encoding), frames)


def _format(lib: ctypes.CDLL, handle: int) -> tuple[int, int, int]:
    rate, channels, encoding = ctypes.c_long(0), ctypes.c_int(0), ctypes.c_int(0)
    _check(
        lib, handle, lib.mpg123_getformat(handle, ctypes.byref(rate), ctypes.byref(channels), ctypes.byref(encoding))
    )
    return rate.value, channels.value, encoding.value


def _chunks(lib: ctypes.CDLL, handle: int, own: tuple[int, int, int], frames: int) -> Generator[np.ndarray, None, None]:
    done = ctypes.c_size_t(0)
    # Garbage in a damaged file can look like frames of another rate ("Frankenstein stream");
    # what decodes from them is dropped (at the wrong rate it would be resampled wrongly) until
    # the stream's own frames come back.
    own_format = True
    try:
        while True:
            buffer = np.empty(frames * own[1], dtype=np.float32)
            status = lib.mpg123_read(handle, buffer.ctypes.data, buffer.nbytes, ctypes.byref(done))
            if done.value and own_format:
                yield buffer[: done.value // 4]
            if status == _DONE:
                return
            if status == _NEW_FORMAT:
                own_format = _format(lib, handle) == own
            elif status != _OK:
                raise Mpg123Error(_reason(lib, handle, status))
    finally:
        lib.mpg123_close(handle)
        lib.mpg123_delete(handle)


def _check(lib: ctypes.CDLL, handle: int, status: int) -> None:
    if status != _OK:
        raise Mpg123Error(_reason(lib, handle, status))


def _reason(lib: ctypes.CDLL, handle: int, status: int) -> str:
    text = lib.mpg123_strerror(handle) if status == -1 else lib.mpg123_plain_strerror(status)
    return (text or b"").decode("utf-8", "replace").strip().rstrip(".") or f"libmpg123 error {status}"


def _plain(lib: ctypes.CDLL, status: int) -> str:
    return (lib.mpg123_plain_strerror(status) or b"").decode("utf-8", "replace").strip() or f"error {status}"
