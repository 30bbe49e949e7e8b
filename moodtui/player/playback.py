"""Audio playback: a thread-safe :class:`Player` around ``just_playback.Playback`` (miniaudio).

Three things that just_playback does not do for us:

* **Native audio libraries write to the terminal.** When miniaudio probes ALSA and JACK on a
  machine without a sound card, libasound and libjack print error lines straight to file
  descriptor 2, which is where Textual draws. :func:`silence_native_audio_errors` installs no-op
  error handlers in those C libraries (never redirecting fd 2, which would also hide our own
  errors); the Player calls it before it creates its first ``Playback``.
* **No sound device.** miniaudio then falls back to its *null* backend, which plays silently but
  keeps time, so the player (position, end of track) works as usual. :attr:`Player.backend_is_null`
  tells, and :meth:`Player.take_notice` gives a one-time notice for the user.
* **Formats miniaudio cannot decode** (m4a/aac/mp4/wma..., from ``moodtui.audio.formats``, which
  recognises a file by its content): :meth:`Player.open` transcodes them
  with ffmpeg to a temporary wav file (deleted when the next track is opened and on close), so
  ``open`` can take a moment: call it from a worker thread. The player's lock is not held while
  ffmpeg runs, so other calls (pause, position...) from the UI thread stay immediate meanwhile,
  and a newer ``open`` cancels an older one. A long file is transcoded in two steps, so that it
  starts at once whatever its length (a 3-hour m4a took 75 s in one step): its first
  :data:`HEAD_S` seconds, which play while ffmpeg writes the whole file beside them, then the
  whole file, swapped in at the same position (:attr:`Player.duration_s` is the file's real
  length meanwhile, and the end of the first part waits for the rest). A transcode larger than
  :data:`LARGE_TRANSCODE_BYTES` is said (:meth:`Player.take_notice`): where, and how big.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
import threading
import weakref
from pathlib import Path

from just_playback import Playback
from just_playback.ma_result import MiniaudioError
from tinytag import TinyTagException

from moodtui.audio.decode import check_audio, check_readable, ffmpeg_input
from moodtui.audio.formats import ffmpeg_path, format_of
from moodtui.errors import AudioError, display_path

NULL_BACKEND_NOTICE = "no sound device: playing silently on the null backend"
VOLUME_STEP = 0.05
TRANSCODE_TIMEOUT_S = 300.0
HEAD_S = 30.0
"""Seconds of a long transcoded file that play while the rest is transcoded."""
LARGE_TRANSCODE_BYTES = 512 * 1024 * 1024
"""A temporary wav larger than this is said (a 3-hour m4a is 1.9 GB of wav)."""

# --- keeping libasound / libjack quiet -----------------------------------------------------------

# ALSA: void handler(const char *file, int line, const char *function, int err, const char *fmt, ...)
# The variadic tail cannot be declared with ctypes; the handler ignores it, which the C calling
# conventions allow (the caller cleans up the arguments).
_ALSA_ERROR_HANDLER = ctypes.CFUNCTYPE(
    None, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p
)
# JACK: void handler(const char *message)
_JACK_MESSAGE_HANDLER = ctypes.CFUNCTYPE(None, ctypes.c_char_p)

_silencer_lock = threading.Lock()
# The C function pointers (and the libraries) must outlive every call the libraries make.
_silencer_keepalive: list[object] | None = None


def _ignore(*_args: object) -> None:
    """Receives libasound / libjack messages and drops them."""


def silence_native_audio_errors() -> None:
    """Install no-op error handlers in libasound and libjack, when they are present. Idempotent.

    The libraries are loaded by the same names that miniaudio later ``dlopen``s, so both share
    one copy of the library and therefore the handler; ctypes never unloads them.
    """
    global _silencer_keepalive
    with _silencer_lock:
        if _silencer_keepalive is not None:
            return
        keepalive: list[object] = []
        try:
            asound = ctypes.CDLL("libasound.so.2")
        except OSError:
            pass  # no ALSA on this system: nothing to silence
        else:
            handler = _ALSA_ERROR_HANDLER(_ignore)
            asound.snd_lib_error_set_handler(handler)
            keepalive += [asound, handler]
        for name in ("libjack.so.0", "libjack.so"):
            try:
                jack = ctypes.CDLL(name)
            except OSError:
                continue
            handler = _JACK_MESSAGE_HANDLER(_ignore)
            jack.jack_set_error_function(handler)
            jack.jack_set_info_function(handler)
            keepalive += [jack, handler]
            break
        _silencer_keepalive = keepalive


# --- the player ----------------------------------------------------------------------------------

_IDLE, _STOPPED, _PLAYING, _PAUSED = "idle", "stopped", "playing", "paused"


class Player:
    """Plays one track at a time. Every method may be called from any thread.

    The audio device is opened by the first :meth:`open`. Positions and durations are in
    seconds. Usage: ``player.open(path)`` (from a worker thread), then ``player.play()``; poll
    :attr:`position_s` for display and :attr:`at_end` to advance to the next track.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._playback: Playback | None = None
        self._state = _IDLE
        self._path: Path | None = None
        self._volume = 1.0
        self._gain = 1.0  # ReplayGain factor of the loaded track (set_gain)
        self._backend_is_null: bool | None = None
        self._notice_given = False
        # open() calls are numbered so that a slow one (transcoding) cannot override a newer one.
        self._generation = 0
        self._transcoder: subprocess.Popen[bytes] | None = None
        self._playing_temp: Path | None = None  # the transcoded file being played, if any
        self._temp_dir: Path | None = None
        self._temp_dir_cleanup: weakref.finalize | None = None
        self._rest_pending = False  # the head of a long file plays; the whole file is being transcoded
        self._length_s: float | None = None  # the real length of a file whose head plays
        self._notices: list[str] = []

    # -- opening ----------------------------------------------------------------------------------

    def open(self, path: str | os.PathLike[str]) -> bool:
        """Load ``path``, stopped at its start (call :meth:`play` next); stops the current track.

        Returns False (and loads nothing) when another ``open`` started meanwhile and won.
        Raises AudioError when the file cannot be played, e.g. an m4a file without ffmpeg.
        May take a moment for files that need transcoding: call it from a worker thread.
        """
        path = Path(path)
        check_readable(path)  # a FIFO, an empty file ...: the decoder's words, before anything opens it
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._cancel_transcoder()
            if self._playback is not None and self._state != _IDLE:
                self._playback.stop()
                self._state = _STOPPED
        fmt = format_of(path)
        try:
            if fmt is not None and fmt.plays_natively:
                try:
                    return self._load(generation, path, self._named_for(path, fmt.extensions))
                except AudioError:
                    if ffmpeg_path() is None:
                        raise
            length_s = _length_s(path)
            head = length_s is not None and length_s > 2 * HEAD_S
            transcoded = self._transcode(generation, path, HEAD_S if head else None)
            if transcoded is None:
                return False
            loaded = self._load(generation, path, transcoded)
            if loaded and head:
                self._transcode_rest(generation, path, length_s or 0.0)
            return loaded
        except AudioError:
            # miniaudio's and ffmpeg's messages ("Invalid argument", a codec error) do not say
            # what is wrong with the file: the decoder does ("not audio (a text file)" ...).
            if ffmpeg_path() is not None or (fmt is not None and fmt.plays_natively):
                check_audio(path)  # (without ffmpeg an m4a's reason is the missing ffmpeg, said already)
            raise

    def _named_for(self, path: Path, extensions: tuple[str, ...]) -> Path:
        """``path``, or a symbolic link to it whose extension matches its content.

        just_playback reads the length with tinytag, which trusts the extension: an Ogg file
        named ``.mp3`` would otherwise last 0.04 s.
        """
        if path.suffix.lower() in extensions:
            return path
        with self._lock:
            folder = self._ensure_temp_dir()
            for attempt in range(100):
                link = folder / f"renamed-{os.getpid()}-{self._generation}-{attempt}{extensions[0]}"
                try:
                    link.symlink_to(path.absolute())
                except FileExistsError:
                    continue
                return link
        return path

    def _load(self, generation: int, path: Path, playable: Path) -> bool:
        is_temp = playable != path
        with self._lock:
            if generation != self._generation:
                if is_temp:
                    playable.unlink(missing_ok=True)
                return False
            playback = self._ensure_playback(path)
            try:
                playback.load_file(os.fspath(playable))
            except (MiniaudioError, TinyTagException, OSError, ValueError) as error:
                if is_temp:
                    playable.unlink(missing_ok=True)
                self._state, self._path = _IDLE, None
                raise AudioError(path, f"cannot play this file ({error})") from error
            if self._playing_temp is not None and self._playing_temp != playable:
                self._playing_temp.unlink(missing_ok=True)
            self._playing_temp = playable if is_temp else None
            self._rest_pending, self._length_s = False, None  # _transcode_rest sets them for a head
            self._path = path
            self._state = _STOPPED
            if self._backend_is_null is None:
                self._backend_is_null = _uses_null_backend(playback)
            return True

    def _ensure_playback(self, path: Path) -> Playback:
        if self._playback is None:
            silence_native_audio_errors()
            try:
                self._playback = Playback()
            except MiniaudioError as error:
                raise AudioError(path, f"no audio output available ({error})") from error
            self._playback.set_volume(self.output_volume)
        return self._playback

    def _transcode_rest(self, generation: int, path: Path, length_s: float) -> None:
        """While the head plays: the whole file in a thread, swapped in when it is written."""
        with self._lock:
            if generation != self._generation:
                return
            self._rest_pending, self._length_s = True, length_s
            size = length_s * 44_100 * 2 * 2  # 16-bit stereo at 44.1 kHz: about what ffmpeg writes
            if size > LARGE_TRANSCODE_BYTES:
                self._notices.append(
                    f"{display_path(path.name)}: transcoding to a {_size_text(size)} temporary wav in "
                    f"{display_path(self._ensure_temp_dir().parent)} to play it (deleted when the track changes)"
                )

        def swap_in() -> None:
            try:
                whole = self._transcode(generation, path, None)
            except AudioError:
                whole = None  # the head plays on; its end is the end
            with self._lock:
                if generation != self._generation or self._playback is None:
                    if whole is not None:
                        whole.unlink(missing_ok=True)
                    return
                self._rest_pending = False
                if whole is None:
                    return
                playback, state = self._playback, self._state
                position = float(playback.curr_pos) if state in (_PLAYING, _PAUSED) else 0.0
                head, self._playing_temp = self._playing_temp, whole
                playback.stop()
                playback.load_file(os.fspath(whole))
                if state in (_PLAYING, _PAUSED):
                    playback.play()
                    playback.set_volume(self.output_volume)
                    playback.seek(position)
                    if state == _PAUSED:
                        playback.pause()
                if head is not None and head != whole:
                    head.unlink(missing_ok=True)

        threading.Thread(target=swap_in, name="moodtui-transcode", daemon=True).start()

    def _transcode(self, generation: int, path: Path, seconds: float | None = None) -> Path | None:
        """Decode ``path`` (its first ``seconds`` only, when given) with ffmpeg into a temporary
        wav; None if a newer open() cancelled it."""
        ffmpeg = ffmpeg_path()
        if ffmpeg is None:
            kind = path.suffix.lstrip(".").lower() or "this file"
            raise AudioError(path, f"cannot play {kind} without ffmpeg (install ffmpeg)")
        with self._lock:
            if generation != self._generation:
                return None
            descriptor, name = tempfile.mkstemp(suffix=".wav", dir=self._ensure_temp_dir())
            os.close(descriptor)
            output = Path(name)
            # -nostdin and stdin=DEVNULL: ffmpeg must never read the terminal the UI runs in.
            command = [ffmpeg, "-nostdin", "-v", "error", "-y", *ffmpeg_input(path),
                       *(["-t", f"{seconds:.3f}"] if seconds is not None else []),
                       "-map", "0:a:0", "-c:a", "pcm_s16le", "-f", "wav", "file:" + os.fspath(output)]  # fmt: skip
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
            self._transcoder = process
        try:
            _, stderr = process.communicate(timeout=TRANSCODE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            output.unlink(missing_ok=True)
            raise AudioError(path, f"ffmpeg took more than {TRANSCODE_TIMEOUT_S:.0f} s to decode it") from None
        finally:
            with self._lock:
                if self._transcoder is process:
                    self._transcoder = None
        with self._lock:
            cancelled = generation != self._generation
        if cancelled or process.returncode != 0:
            output.unlink(missing_ok=True)
            if cancelled:
                return None
            lines = stderr.decode("utf-8", "replace").strip().splitlines()
            reason = lines[-1] if lines else f"exit status {process.returncode}"
            # ffmpeg starts its messages with the input's name, which AudioError already shows.
            reason = reason.removeprefix(f"file:{os.path.abspath(os.fsdecode(path))}: ").removeprefix(
                f"{os.fsdecode(path)}: "
            )
            raise AudioError(path, f"ffmpeg cannot decode it: {reason}")
        return output

    def _cancel_transcoder(self) -> None:
        if self._transcoder is not None and self._transcoder.poll() is None:
            self._transcoder.kill()

    def _ensure_temp_dir(self) -> Path:
        if self._temp_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="moodtui-playback-"))
            # Removed on close(), when the Player is garbage-collected, or at interpreter exit.
            self._temp_dir_cleanup = weakref.finalize(self, shutil.rmtree, self._temp_dir, True)
        return self._temp_dir

    # -- transport --------------------------------------------------------------------------------

    def play(self) -> None:
        """Play the loaded track from its start (no effect when nothing is loaded)."""
        with self._lock:
            if self._playback is not None and self._state != _IDLE:
                self._playback.play()
                # just_playback applies a volume set while stopped only at the next load: set it
                # again now that the device runs (the new track's ReplayGain, a change meanwhile).
                self._playback.set_volume(self.output_volume)
                self._state = _PLAYING

    def pause(self) -> None:
        """Pause (no effect unless playing)."""
        with self._lock:
            if self._playback is not None and self._state == _PLAYING and self._playback.active:
                self._playback.pause()
                self._state = _PAUSED

    def resume(self) -> None:
        """Resume after :meth:`pause` (no effect unless paused)."""
        with self._lock:
            if self._playback is not None and self._state == _PAUSED:
                self._playback.resume()
                self._state = _PLAYING

    def toggle(self) -> None:
        """Pause when playing, resume when paused, play from the start when stopped or ended."""
        with self._lock:
            if self._state == _PAUSED:
                self.resume()
            elif self._state == _PLAYING and not self.at_end:
                self.pause()
            else:
                self.play()

    def stop(self) -> None:
        """Stop and rewind; the track stays loaded."""
        with self._lock:
            if self._playback is not None and self._state != _IDLE:
                self._playback.stop()
                self._state = _STOPPED

    def seek(self, seconds: float) -> None:
        """Jump to ``seconds``, clamped to [0, duration], while playing or paused (else no effect)."""
        with self._lock:
            if self._playback is not None and self._state in (_PLAYING, _PAUSED) and not self.at_end:
                self._playback.seek(min(max(seconds, 0.0), self._playback.duration))

    def seek_relative(self, delta: float) -> None:
        """Jump ``delta`` seconds forwards (or backwards when negative), clamped."""
        with self._lock:
            self.seek(self.position_s + delta)

    # -- volume -----------------------------------------------------------------------------------

    @property
    def volume(self) -> float:
        """Output volume in [0, 1]; kept across tracks."""
        return self._volume

    @volume.setter
    def volume(self, value: float) -> None:
        with self._lock:
            self._volume = min(max(float(value), 0.0), 1.0)
            if self._playback is not None:
                self._playback.set_volume(self.output_volume)

    def set_gain(self, factor: float) -> None:
        """A correction for the loaded track (ReplayGain), multiplied into the output volume."""
        with self._lock:
            self._gain = max(float(factor), 0.0)
            if self._playback is not None:
                self._playback.set_volume(self.output_volume)

    @property
    def output_volume(self) -> float:
        """What the device plays at: volume x gain, at most 1 (miniaudio's ceiling)."""
        return min(self._volume * self._gain, 1.0)

    def volume_up(self, step: float = VOLUME_STEP) -> float:
        """Raise the volume by ``step`` (clamped); returns the new volume."""
        with self._lock:
            self.volume = self._volume + step
            return self._volume

    def volume_down(self, step: float = VOLUME_STEP) -> float:
        """Lower the volume by ``step`` (clamped); returns the new volume."""
        return self.volume_up(-step)

    # -- state ------------------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The loaded track (the original file, not its transcoded copy), or None."""
        return self._path

    @property
    def duration_s(self) -> float | None:
        """Length of the loaded track, or None when nothing is loaded."""
        with self._lock:
            if self._playback is None or self._state == _IDLE:
                return None
            if self._rest_pending and self._length_s is not None:
                return self._length_s  # the head plays: the file's real length
            return float(self._playback.duration)

    @property
    def position_s(self) -> float:
        """Playback position: 0 when stopped or idle, the duration once the track has ended."""
        with self._lock:
            if self._playback is None or self._state in (_IDLE, _STOPPED):
                return 0.0
            if self.at_end:
                return float(self._playback.duration)
            return max(float(self._playback.curr_pos), 0.0)

    @property
    def is_playing(self) -> bool:
        """True while sound is being played (not paused, stopped or ended)."""
        with self._lock:
            return self._playback is not None and self._state == _PLAYING and self._playback.playing

    @property
    def is_paused(self) -> bool:
        return self._state == _PAUSED

    @property
    def at_end(self) -> bool:
        """True once the track has played to its end (the signal to advance to the next one)."""
        with self._lock:
            # We asked it to play and it is no longer active: it reached the end by itself.
            if self._rest_pending:
                return False  # the head played out before the rest was transcoded: the rest follows
            return self._playback is not None and self._state == _PLAYING and not self._playback.active

    @property
    def backend_is_null(self) -> bool | None:
        """True when there is no sound device (silent null backend); None before the first open()."""
        return self._backend_is_null

    def take_notice(self) -> str | None:
        """The no-sound-device notice, returned once, then one about a large transcode, if any."""
        with self._lock:
            if self._backend_is_null and not self._notice_given:
                self._notice_given = True
                self._notices.insert(0, NULL_BACKEND_NOTICE)
            return self._notices.pop(0) if self._notices else None

    def close(self) -> None:
        """Release the audio device and delete temporary files. The Player can be opened again."""
        with self._lock:
            self._generation += 1
            self._cancel_transcoder()
            if self._playback is not None:
                self._playback.close()
                self._playback = None
            self._state, self._path, self._playing_temp = _IDLE, None, None
            self._rest_pending = False
            if self._temp_dir_cleanup is not None:
                self._temp_dir_cleanup()
            self._temp_dir = self._temp_dir_cleanup = None


def _size_text(size: float) -> str:
    return f"{size / 1e9:.1f} GB" if size >= 1e9 else f"{size / 1e6:.0f} MB"


def _length_s(path: Path) -> float | None:
    """The file's length from its header (mutagen), or None when it does not say."""
    import mutagen

    try:
        info = getattr(mutagen.File(path), "info", None)
    except Exception:  # mutagen raises many kinds on odd files; ffmpeg then decides
        return None
    length = getattr(info, "length", None)
    return float(length) if length else None


def _uses_null_backend(playback: Playback) -> bool:
    """Whether miniaudio fell back to its null backend (no sound device).

    Read from the device's miniaudio context, which just_playback (pinned to 1.0) does not expose
    publicly. Should that ever fail, guess from the system instead: no ALSA PCM device and no
    PulseAudio or PipeWire socket means no sound device.
    """
    try:
        from _ma_playback import lib

        attrs = playback._Playback__ma_attrs
        return bool(attrs.device.pContext.backend == lib.ma_backend_null)
    except (ImportError, AttributeError):
        return not _sound_server_or_card_present()


def _sound_server_or_card_present() -> bool:
    if os.environ.get("PULSE_SERVER"):
        return True
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and any((Path(runtime) / name).exists() for name in ("pulse/native", "pipewire-0")):
        return True
    try:
        return any(name.startswith("pcm") for name in os.listdir("/dev/snd"))
    except OSError:
        return False


__all__ = [
    "NULL_BACKEND_NOTICE",
    "Player",
    "silence_native_audio_errors",
]
