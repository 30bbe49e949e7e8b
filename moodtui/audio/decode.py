"""Decoding audio files to mono float32 at one fixed sample rate, streamed in blocks.

The decoder is chosen by the file's content (``moodtui.audio.formats``, the one table of formats), not
its name: flac, ogg/vorbis, opus, wav and aiff are opened by libsndfile (through soundfile), which
reads their headers and names what is wrong with a bad one; mono and stereo FLAC and Ogg Vorbis are
then decoded by miniaudio's dr_flac and stb_vorbis (faster, and what the player plays them with),
the rest by libsndfile; mp3
by the system's libmpg123 when it is installed (``moodtui.audio.mpg123``: mono, and 44.1 kHz
files at half rate, straight to the model's rate), else by miniaudio's dr_mp3; never by the
mpg123 inside libsndfile, which prints warnings about damaged mp3 files straight to fd 2, where
the player draws its screen; every other container
(m4a/aac, webm/mka, wma, ...) goes through the ``ffmpeg`` executable when it is installed. A file is never loaded whole: a 3-hour mix is read, down-mixed and resampled block by
block, so memory stays bounded by the block size.
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import soundfile
import soxr

from moodtui.audio import mpg123
from moodtui.audio.formats import NOT_AUDIO_TEXT, AudioFormat, ffmpeg_path, format_of_name, looks_like_text, sniff
from moodtui.errors import AudioError

SAMPLE_RATE = 22_050


def ffmpeg_input(path: str | os.PathLike[str]) -> list[str]:
    """The ffmpeg arguments that read ``path`` as a local file and nothing else.

    A file name is never read as a URL: ``tcp:127.0.0.1:9.m4a`` or ``http:x.mp3`` would make
    ffmpeg open a connection. ``file:`` + the absolute path names the file; the whitelist refuses
    every other protocol, also for references inside the file (playlists, HLS, concat).
    """
    return ["-protocol_whitelist", "file,pipe", "-i", "file:" + os.path.abspath(os.fsdecode(path))]


def check_readable(path: Path) -> None:
    """Raise a one-line AudioError for the common reasons a path cannot be decoded at all."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise AudioError(path, "no such file") from None
    except PermissionError:
        raise AudioError(path, "permission denied") from None
    except OSError as exc:
        raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(st.st_mode):
        raise AudioError(path, "is a directory, not an audio file")
    if not stat.S_ISREG(st.st_mode):
        # A FIFO or device would block or stream forever.
        raise AudioError(path, "not a regular file")
    if st.st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise AudioError(path, "permission denied")


def _content_format(path: Path) -> AudioFormat | None:
    """The file's format (by content, else by name); AudioError for a text file named like audio."""
    try:
        found = sniff(path)
        if found is None and looks_like_text(path):
            raise AudioError(path, NOT_AUDIO_TEXT)
    except OSError as exc:
        raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
    return found or format_of_name(path)


def check_audio(path: str | os.PathLike[str]) -> None:
    """Raise a one-line AudioError unless ``path`` is a regular, non-empty file whose start
    decodes as audio (what ``moodtui label`` accepts). Reads about one second of it."""
    path = Path(path)
    check_readable(path)
    for _block in decode_blocks(path, SAMPLE_RATE):
        return
    raise AudioError(path, "no audio in it")


def decode_blocks(
    path: str | os.PathLike[str],
    block_samples: int,
    first_block_samples: int | None = None,
    warnings: list[str] | None = None,
) -> Iterator[np.ndarray]:
    """Yield the track as mono float32 blocks at SAMPLE_RATE.

    Every block but the last has exactly ``block_samples`` samples (the first has
    ``first_block_samples`` when given, so a player can show the first slice quickly). Raises
    AudioError naming the file and the cause. A damaged file that still decodes in part (a
    truncated download) yields what decodes and appends a one-line reason to ``warnings``.
    """
    path = Path(path)
    check_readable(path)
    fmt = _content_format(path)
    sink = warnings if warnings is not None else []
    if fmt is not None and fmt.decoder == "ffmpeg":
        source = _ffmpeg_chunks(path)
    elif fmt is not None and fmt.decoder == "mp3":
        source = _mp3_chunks(path, sink, block_samples)
    else:
        # libsndfile's formats, and content nothing recognises (libsndfile, then ffmpeg, try it).
        source = _native_chunks(path, sink)
    yield from _rechunk(source, block_samples, first_block_samples or block_samples)


def decode(path: str | os.PathLike[str]) -> np.ndarray:
    """The whole track as one mono float32 array (for short files; analysis streams instead)."""
    blocks = list(decode_blocks(path, block_samples=SAMPLE_RATE * 60))
    return np.concatenate(blocks) if blocks else np.zeros(0, dtype=np.float32)


def _rechunk(source: Iterator[np.ndarray], block: int, first: int) -> Iterator[np.ndarray]:
    pending: list[np.ndarray] = []
    pending_len = 0
    want = first
    for chunk in source:
        if chunk.size == 0:
            continue
        pending.append(chunk)
        pending_len += chunk.size
        while pending_len >= want:
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield joined[:want]
            rest = joined[want:]
            pending = [rest] if rest.size else []
            pending_len = rest.size
            want = block
    if pending_len:
        yield np.concatenate(pending) if len(pending) > 1 else pending[0]


def downmix(frames: np.ndarray) -> np.ndarray:
    """(n, channels) float32 -> contiguous mono float32, the mean of the channels.

    Column by column: ``frames.mean(axis=1)`` reduces along the short axis and cost as much as
    decoding a flac file (measured: 130 ms against 23 ms for 4 minutes of stereo).
    """
    if frames.shape[1] == 1:
        return np.ascontiguousarray(frames[:, 0])
    mono = np.add(frames[:, 0], frames[:, 1])
    for channel in range(2, frames.shape[1]):
        mono += frames[:, channel]
    mono *= np.float32(1.0 / frames.shape[1])
    return mono


def _truncation(decoded_s: float, expected_s: float) -> str | None:
    if expected_s > 0 and decoded_s < 0.97 * expected_s - 0.2:
        return f"truncated or damaged: decoded {decoded_s:.1f} s of {expected_s:.1f} s"
    return None


def _native_chunks(path: Path, warnings: list[str]) -> Iterator[np.ndarray]:
    try:
        # Not the name: libsndfile cannot open non-UTF-8 file names. libsndfile reads the file
        # descriptor itself: given the Python file object, its read/seek/tell callbacks into
        # Python cost 5-7 % of a flac decode (measured), 2 % of an opus one.
        handle = open(path, "rb")
    except OSError as exc:
        raise AudioError(path, f"cannot read ({exc.strerror or exc})") from None
    try:
        sound = soundfile.SoundFile(handle.fileno(), closefd=False)
    except soundfile.LibsndfileError as exc:
        handle.close()
        # libsndfile refused the file; ffmpeg sometimes copes (odd mp3 headers, ...).
        if ffmpeg_path():
            try:
                yield from _ffmpeg_chunks(path)
                return
            except AudioError:
                pass
        raise AudioError(path, f"not a readable {_kind(path)} file ({_sndfile_reason(exc)})") from None
    except (OSError, RuntimeError) as exc:
        handle.close()
        raise AudioError(path, f"cannot read ({exc})") from None
    with handle, sound:
        if sound.samplerate <= 0 or sound.channels <= 0:
            raise AudioError(path, "invalid audio header (no sample rate or channels)")
        resampler = None
        if sound.samplerate != SAMPLE_RATE:
            resampler = soxr.ResampleStream(sound.samplerate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        decoded_frames = 0
        for mono in _miniaudio_or_sndfile(path, sound):
            decoded_frames += mono.size
            yield resampler.resample_chunk(mono, last=False) if resampler is not None else mono
        if resampler is not None:
            yield resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
        if decoded_frames == 0:
            raise AudioError(path, "no audio data in file")
        problem = _truncation(decoded_frames / sound.samplerate, sound.frames / sound.samplerate)
        if problem:
            warnings.append(problem)


# Read ~10 s at a time: large enough to amortise call overhead, small enough to bound memory.
_READ_SECONDS = 10


def _miniaudio_format(sound: soundfile.SoundFile) -> Any:
    """The miniaudio decoder for what libsndfile opened, when it has a faster one, else None.

    dr_flac and stb_vorbis (the decoders the player itself plays these files with) decode FLAC
    a third faster than libsndfile's libFLAC and Ogg Vorbis a sixth faster (4 min of 44.1 kHz
    stereo: 97 against 143 ms, 211 against 270; ``scripts/bench_predict.py``), FLAC bit for bit
    the same and Vorbis within 2e-7. Only for mono and stereo: their mono is the mean of the
    channels, as ``downmix`` makes it; miniaudio would weigh surround channels by position.
    """
    if sound.channels > 2:
        return None
    import miniaudio

    if sound.format == "FLAC":
        return miniaudio.FileFormat.FLAC
    if sound.format == "OGG" and sound.subtype == "VORBIS":
        return miniaudio.FileFormat.VORBIS
    return None


def _miniaudio_or_sndfile(path: Path, sound: soundfile.SoundFile) -> Iterator[np.ndarray]:
    """The file's mono chunks at its own rate: from miniaudio where it has the faster decoder
    (``_miniaudio_format``), else (or when miniaudio refuses the file) from libsndfile."""
    fileformat = _miniaudio_format(sound)
    if fileformat is not None:
        import miniaudio

        decoded = 0
        frames = sound.samplerate * _READ_SECONDS
        f32 = miniaudio.SampleFormat.FLOAT32
        try:
            with contextlib.ExitStack() as opened:
                try:
                    # By name where it encodes: miniaudio then reads the file itself, without the
                    # Python read callback (4,000 calls a song, 6 % of a FLAC decode).
                    stream = miniaudio.stream_file(
                        os.fspath(path.resolve()), f32, nchannels=1, sample_rate=sound.samplerate, frames_to_read=frames
                    )
                except (UnicodeError, miniaudio.MiniaudioError):  # a name that is not UTF-8, or refused by name
                    handle = opened.enter_context(open(path, "rb"))
                    stream = miniaudio.stream_any(
                        _FileSource(handle).source,
                        fileformat,
                        f32,
                        nchannels=1,
                        sample_rate=sound.samplerate,
                        frames_to_read=frames,
                    )
                for chunk in stream:
                    mono = np.frombuffer(chunk, dtype=np.float32)
                    decoded += mono.size
                    yield mono
            return
        except (miniaudio.MiniaudioError, OSError):
            if decoded:
                # A damaged file: keep what decoded (the truncation check reports it).
                return
            # Nothing decoded: libsndfile, which opened the file, reads it below.
    yield from _sndfile_mono(path, sound)


def _sndfile_mono(path: Path, sound: soundfile.SoundFile) -> Iterator[np.ndarray]:
    frames_per_read = sound.samplerate * _READ_SECONDS
    decoded_any = False
    while True:
        try:
            data = sound.read(frames_per_read, dtype="float32", always_2d=True)
        except (soundfile.LibsndfileError, RuntimeError) as exc:
            if decoded_any:
                # A truncated file: keep what decoded, like every player does.
                return
            raise AudioError(path, f"cannot decode ({_sndfile_reason(exc)})") from None
        if data.shape[0] == 0:
            return
        decoded_any = True
        yield downmix(data)
        if data.shape[0] < frames_per_read:
            return


class _FileSource:
    """Feeds miniaudio from a Python file object (so any file name works, UTF-8 or not)."""

    def __init__(self, handle) -> None:
        import miniaudio

        class Source(miniaudio.StreamableSource):
            def read(self, num_bytes: int) -> bytes:
                return handle.read(num_bytes)

            def seek(self, offset: int, origin) -> bool:
                handle.seek(offset, 1 if origin == miniaudio.SeekOrigin.CURRENT else 0)
                return True

        self.source = Source()


def _mp3_chunks(path: Path, warnings: list[str], block_samples: int) -> Iterator[np.ndarray]:
    import mutagen.mp3

    try:
        # mutagen declares FileType.info as None and sets MPEGInfo's fields at run time.
        info: Any = mutagen.mp3.MP3(path).info
    except (mutagen.MutagenError, OSError) as exc:
        raise AudioError(path, f"not a readable mp3 file ({_first_line(exc)})") from None
    with open(path, "rb") as handle:
        if mpg123.available():
            rate, source = _mpg123_source(path, handle, info.sample_rate, block_samples)
        else:
            rate, source = info.sample_rate, _dr_mp3_source(path, handle, info.sample_rate)
        resampler = None
        if rate != SAMPLE_RATE:
            resampler = soxr.ResampleStream(rate, SAMPLE_RATE, 1, dtype="float32", quality="HQ")
        decoded = 0
        try:
            for mono in source:
                decoded += mono.size
                yield resampler.resample_chunk(mono, last=False) if resampler is not None else mono
        finally:
            source.close()  # libmpg123's handle, before the file closes
        if resampler is not None:
            yield resampler.resample_chunk(np.zeros(0, dtype=np.float32), last=True)
    if decoded == 0:
        raise AudioError(path, "not a readable mp3 file (no audio frames)")
    # The length mutagen reads from the Xing/Info header is the encoder's frame count.
    problem = _truncation(decoded / rate, info.length)
    if problem:
        warnings.append(problem)


def _mpg123_source(
    path: Path, handle, sample_rate: int, block_samples: int
) -> tuple[int, Generator[np.ndarray, None, None]]:
    """libmpg123's mono chunks: at half rate for 44.1 kHz files (straight to the model's rate),
    then read a block at a time, so the blocks need no joining (5-8 ms of a 4-min song)."""
    half_rate = sample_rate == 2 * SAMPLE_RATE
    try:
        rate, _, chunks = mpg123.decode_float32(
            handle.fileno(), half_rate=half_rate, read_frames=block_samples if half_rate else None
        )
    except mpg123.Mpg123Error as exc:
        raise AudioError(path, f"not a readable mp3 file ({exc})") from None

    def source() -> Generator[np.ndarray, None, None]:
        decoded = 0
        try:
            for chunk in chunks:
                decoded += chunk.size
                yield chunk
        except mpg123.Mpg123Error as exc:
            # A damaged file: keep what decoded (the truncation check reports it).
            if decoded == 0:
                raise AudioError(path, f"not a readable mp3 file ({exc})") from None
        finally:
            chunks.close()

    return rate, source()


def _dr_mp3_source(path: Path, handle, sample_rate: int) -> Generator[np.ndarray, None, None]:
    """miniaudio's dr_mp3, mono at the file's rate: where libmpg123 is not installed."""
    import miniaudio

    stream = miniaudio.stream_any(
        _FileSource(handle).source,
        miniaudio.FileFormat.MP3,
        miniaudio.SampleFormat.FLOAT32,
        nchannels=1,
        sample_rate=sample_rate,
        frames_to_read=sample_rate * 10,
    )
    decoded = 0
    try:
        for chunk in stream:
            mono = np.frombuffer(chunk, dtype=np.float32)
            decoded += mono.size
            yield mono
    except miniaudio.DecodeError as exc:
        if decoded == 0:
            raise AudioError(path, f"not a readable mp3 file ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _ffmpeg_chunks(path: Path) -> Iterator[np.ndarray]:
    exe = ffmpeg_path()
    if exe is None:
        raise AudioError(path, f"{_kind(path)} files need ffmpeg to decode; install ffmpeg")
    cmd = [
        exe,
        "-nostdin",
        "-hide_banner",
        "-v",
        "error",
        *ffmpeg_input(path),
        "-vn",
        "-f",
        "f32le",
        "-acodec",
        "pcm_f32le",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    decoded = 0
    leftover = b""
    try:
        while True:
            raw = proc.stdout.read(SAMPLE_RATE * 4 * 10)
            if not raw:
                break
            raw = leftover + raw
            usable = len(raw) - len(raw) % 4
            leftover = raw[usable:]
            if usable:
                decoded += usable // 4
                yield np.frombuffer(raw[:usable], dtype="<f4").astype(np.float32, copy=False)
    finally:
        if proc.poll() is None:
            proc.kill()
        stderr = proc.stderr.read().decode("utf-8", "replace")
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    if decoded == 0:
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else "no audio stream"
        raise AudioError(path, f"ffmpeg cannot decode it ({_strip_path(reason, path)})")


def _kind(path: Path) -> str:
    return path.suffix.lower().lstrip(".") or "extensionless"


def _sndfile_reason(exc: Exception) -> str:
    text = str(exc)
    # soundfile prefixes the message with the path; keep only libsndfile's reason.
    if ": " in text:
        text = text.rsplit(": ", 1)[-1]
    return text.strip().rstrip(".") or "unknown format"


def _strip_path(message: str, path: Path) -> str:
    for name in ("file:" + os.path.abspath(os.fsdecode(path)), os.fspath(path)):
        message = message.replace(name, "")
    return message.strip(" :") or message
