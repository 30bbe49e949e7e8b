"""Analysing a track: decode in blocks -> slice features -> batched ONNX inference -> song mood.

The song-level result is the mean of the slice probabilities, calibrated by the model's
temperature (``moodtui.mood.model.calibrate``) so that its confidence means what it says; the
study's vote fractions (the share of slices whose most likely class is each class) are reported
beside it. Models with an energy output also give each slice's energy (0 calm .. 1 energetic).
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from moodtui import CLASSES
from moodtui.audio.decode import SAMPLE_RATE, decode_blocks
from moodtui.errors import AudioError
from moodtui.mood.descriptors import (
    DESCRIPTOR_COUNT,
    DESCRIPTORS_VERSION,
    SLICE_DESCRIPTOR_NAMES,
    SongCues,
    descriptor_rows,
)
from moodtui.mood.features import SLICE_SAMPLES, SLICE_SECONDS, track_slices
from moodtui.mood.model import UNSURE_BELOW, MoodModel, calibrate
from moodtui.sqlite_cache import Cache

if TYPE_CHECKING:
    from moodtui.mood.pool import AnalysisPool

# Blocks of 20 slices (60 s): one spectrogram and one inference batch per block keeps numpy and
# onnxruntime efficient while memory stays bounded (about 20 MB) whatever the track's length.
BLOCK_SLICES = 20


@dataclass(frozen=True)
class SongMood:
    """Per-slice and song-level mood of one track under one model."""

    path: str
    duration_s: float
    starts_s: np.ndarray  # (n,)
    slice_probs: np.ndarray  # (n, 3) CLASSES order
    embeddings: np.ndarray  # (n, E): the model's penultimate layer, reused by retraining
    model_version: str
    warning: str | None = None  # e.g. a truncated file analysed as far as it decodes
    slice_energy: np.ndarray | None = None  # (n,) 0 calm .. 1 energetic, when the model gives it
    temperature: float = 1.0  # the model's calibration of song-level probabilities
    unsure_below: float = UNSURE_BELOW
    descriptors: np.ndarray | None = None  # (n, D) musical descriptors (moodtui.mood.descriptors), or None

    @property
    def ends_s(self) -> np.ndarray:
        return np.minimum(self.starts_s + SLICE_SECONDS, self.duration_s)

    @property
    def raw_song_probs(self) -> np.ndarray:
        """The plain mean of the slice probabilities (uncalibrated)."""
        return self.slice_probs.mean(axis=0) if len(self.slice_probs) else np.full(len(CLASSES), np.nan)

    @property
    def song_probs(self) -> np.ndarray:
        """Song-level probabilities, calibrated: "0.8" is right about 80 % of the time."""
        return song_probabilities(self.slice_probs, self.temperature)

    @property
    def energy(self) -> float | None:
        """The song's energy (mean over slices, 0 calm .. 1 energetic), or None."""
        if self.slice_energy is None or not len(self.slice_energy):
            return None
        return float(np.mean(self.slice_energy))

    @property
    def unsure(self) -> bool:
        return self.confidence < self.unsure_below

    @property
    def votes(self) -> np.ndarray:
        """Share of slices whose argmax is each class."""
        if not len(self.slice_probs):
            return np.zeros(len(CLASSES))
        return np.bincount(self.slice_probs.argmax(axis=1), minlength=len(CLASSES)) / len(self.slice_probs)

    @property
    def label(self) -> str:
        return CLASSES[int(np.argmax(self.song_probs))]

    @property
    def confidence(self) -> float:
        return float(np.max(self.song_probs))

    def slice_at(self, position_s: float) -> int:
        """Index of the slice playing at ``position_s`` (the last slice for the tail)."""
        if not len(self.starts_s):
            return -1
        return int(np.clip(np.searchsorted(self.starts_s, position_s, side="right") - 1, 0, len(self.starts_s) - 1))

    def to_json(self) -> dict[str, object]:
        song: dict[str, object] = {c: round(float(p), 4) for c, p in zip(CLASSES, self.song_probs)}
        song["label"] = self.label
        song["confidence"] = round(self.confidence, 4)
        song["unsure"] = self.unsure
        song["votes"] = {c: round(float(v), 4) for c, v in zip(CLASSES, self.votes)}
        if self.energy is not None:
            song["energy"] = round(self.energy, 4)
        energy = self.slice_energy if self.slice_energy is not None else [None] * len(self.starts_s)
        return {
            # The name as Python holds it: bytes that are not UTF-8 are surrogate escapes, which
            # cli.write_json writes as JSON \udcNN escapes (os.fsencode gets the bytes back).
            "path": os.fsdecode(self.path),
            "duration_s": round(self.duration_s, 3),
            "slices": [
                {
                    "start_s": round(float(s), 3),
                    "end_s": round(float(e), 3),
                    **{c: round(float(p), 4) for c, p in zip(CLASSES, probs)},
                    **({"energy": round(float(en), 4)} if en is not None else {}),
                }
                for s, e, probs, en in zip(self.starts_s, self.ends_s, self.slice_probs, energy)
            ],
            "song": song,
            "model": {"version": self.model_version},
            **({"warning": self.warning} if self.warning else {}),
        }


def energy_word(energy: float) -> str:
    """calm / moderate / energetic for a 0..1 energy (thirds)."""
    return "calm" if energy < 1 / 3 else "moderate" if energy < 2 / 3 else "energetic"


def warm_up(model: MoodModel) -> None:
    """Run one slice of silence through the feature function and ``model``: numpy, scipy and
    onnxruntime pay their first-use costs here, not on the first slice of the first song."""
    for batch in track_slices(iter([np.zeros(SLICE_SAMPLES, np.float32)])):
        model.predict(batch.features)


def song_probabilities(slice_probs: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """A song's mood probabilities from its slices': the calibrated mean (the one definition)."""
    if not len(slice_probs):
        return np.full(len(CLASSES), np.nan)
    return calibrate(np.asarray(slice_probs, np.float64).mean(axis=0), temperature)


class _CountingBlocks:
    """Passes decoded blocks through while counting samples (the track's true duration) and
    letting the song descriptors hear them."""

    def __init__(self, blocks: Iterator[np.ndarray], song: SongCues) -> None:
        self._blocks = blocks
        self._song = song
        self.samples = 0

    def __iter__(self) -> Iterator[np.ndarray]:
        for block in self._blocks:
            self.samples += block.size
            self._song.hear(block)
            yield block


class _ReadAhead:
    """Decoded blocks, the next one decoded in a thread while the caller analyses this one.

    The decoders (libmpg123, miniaudio, libsndfile, soxr) let go of the GIL while they work, as do
    the FFT and onnxruntime, so the two overlap on two cores: a 4-minute mp3 is analysed in about
    the time it takes to decode (wall 244 -> about 180 ms; the CPU time is the same). Errors
    reach the caller as they would without the thread; stopping early (a cancel, an error in the
    analysis) stops the decoding thread and closes the file before the caller goes on.
    """

    _END = object()

    def __init__(self, blocks: Iterator[np.ndarray]) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=1)  # one block ahead
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._decode, args=(blocks,), name="moodtui-read-ahead", daemon=True)
        self._thread.start()

    def _decode(self, blocks: Iterator[np.ndarray]) -> None:
        try:
            for block in blocks:
                if not self._put(block):
                    return
            self._put(self._END)
        except BaseException as exc:  # handed to the caller, raised there
            self._put(exc)
        finally:
            close = getattr(blocks, "close", None)
            if close is not None:
                close()  # in this thread: the generator that opened the file closes it

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> Iterator[np.ndarray]:
        # Used as a context manager: leaving it (``close``) stops the thread however the loop ends.
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]

    def close(self) -> None:
        """Stop the decoding thread (it finishes the block in hand) and wait for it."""
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> _ReadAhead:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def analyse_file(
    path: str | os.PathLike[str],
    model: MoodModel,
    *,
    on_slices: Callable[[np.ndarray, np.ndarray], None] | None = None,
    first_block_slices: int = BLOCK_SLICES,
    cancelled: Callable[[], bool] | None = None,
    read_ahead: bool = False,
) -> SongMood:
    """Analyse every slice of a track.

    ``on_slices(starts_s, probs)`` is called after each block so a player can show the first
    slices before the rest is done; ``first_block_slices=1`` makes the first call come after one
    slice. ``cancelled()`` is polled between blocks (raises AudioError "analysis cancelled").
    ``read_ahead``: decode the next block in a thread meanwhile (:class:`_ReadAhead`), for a
    caller with a core to spare (the playing track, a single file); the pool's workers, which
    already keep every core busy, analyse one block after the other. The results are the same.
    """
    path = Path(path)
    warnings: list[str] = []
    song = SongCues()
    blocks: Iterator[np.ndarray] = decode_blocks(
        path, BLOCK_SLICES * SLICE_SAMPLES, first_block_slices * SLICE_SAMPLES, warnings
    )
    with contextlib.ExitStack() as stack:
        if read_ahead:
            blocks = iter(stack.enter_context(_ReadAhead(blocks)))
        counted = _CountingBlocks(blocks, song)
        starts, probs, embeddings, energy, descriptors = [], [], [], [], []
        for batch in track_slices(iter(counted)):
            if cancelled is not None and cancelled():
                raise AudioError(path, "analysis cancelled")
            # Without a live display the whole song is scored once it is done (below).
            predicted = model.predict(batch.features, song, live=on_slices is not None)
            starts.append(batch.starts_s)
            probs.append(predicted.probs)
            embeddings.append(predicted.embeddings)
            if predicted.energy is not None:
                energy.append(predicted.energy)
            if predicted.descriptors is not None:
                descriptors.append(predicted.descriptors)
            if on_slices is not None:
                on_slices(batch.starts_s, predicted.probs)
    duration = counted.samples / SAMPLE_RATE
    if not starts:
        if counted.samples == 0:
            raise AudioError(path, "no audio data in file")
        raise AudioError(path, f"too short ({duration:.1f} s; at least {SLICE_SECONDS} s needed)")
    all_embeddings = np.concatenate(embeddings)
    all_probs = np.concatenate(probs)
    rows = None
    if len(descriptors) == len(starts):
        # The song descriptors of the whole song on every slice (the live ones saw a part of it).
        slice_part = np.concatenate(descriptors)[:, : len(SLICE_DESCRIPTOR_NAMES)]
        rows = descriptor_rows(slice_part, song.song())
        if model.uses_descriptors:
            all_probs = model.head_probs(all_embeddings, rows)
    return SongMood(
        os.fsdecode(path),
        duration,
        np.concatenate(starts),
        all_probs,
        all_embeddings,
        model.version,
        "; ".join(warnings) or None,
        np.concatenate(energy) if energy else None,
        model.temperature,
        model.unsure_below,
        rows,
    )


# --- cache -------------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS analysis_v1 (
    path BLOB NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, model_version TEXT NOT NULL,
    duration_s REAL NOT NULL, starts BLOB NOT NULL, probs BLOB NOT NULL,
    PRIMARY KEY (path, model_version));
CREATE TABLE IF NOT EXISTS embeddings_v1 (
    path BLOB NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, embedding_id TEXT NOT NULL,
    embeddings BLOB NOT NULL, dim INTEGER NOT NULL,
    PRIMARY KEY (path, embedding_id));
CREATE TABLE IF NOT EXISTS descriptors_v1 (
    path BLOB NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, version TEXT NOT NULL,
    descriptors BLOB NOT NULL, dim INTEGER NOT NULL,
    PRIMARY KEY (path, version));
CREATE TABLE IF NOT EXISTS analysis_errors_v1 (
    path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, error TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS analysis_warnings_v1 (
    path BLOB PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, warning TEXT NOT NULL);
"""


class AnalysisCache:
    """Analysis results keyed by file identity (path, size, mtime) and model version.

    Probabilities and embeddings are stored as float16 (about 10 KB for a 4-minute song), so the
    whole library's moods persist across starts. Embeddings are keyed by the model's
    ``embedding_id`` rather than its version: personal models share the base's embedding, so a
    retrain recomputes every cached song's mood from its embeddings without decoding anything.
    Musical descriptors (float32) belong to the audio alone and are keyed by their definitions'
    version (``DESCRIPTORS_VERSION``); rows written before they existed have none.
    """

    def __init__(self, cache: Cache | None = None) -> None:
        self.cache = cache or Cache()
        self.cache.ensure_schema("analysis_v1", _SCHEMA)

    @property
    def write_failure(self) -> str | None:
        """Why the last write to the cache failed, or None (see :meth:`Cache.writing`)."""
        return self.cache.write_failure

    @staticmethod
    def _identity(path: str | os.PathLike[str]) -> tuple[bytes, int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return os.fsencode(path), st.st_size, st.st_mtime_ns

    def get(self, path: str | os.PathLike[str], model: MoodModel) -> SongMood | None:
        ident = self._identity(path)
        if ident is None:
            return None
        conn = self.cache.connect()
        row = conn.execute(
            "SELECT duration_s, starts, probs FROM analysis_v1 WHERE path=? AND size=? AND mtime_ns=? AND model_version=?",
            (*ident, model.version),
        ).fetchone()
        if row is None:
            return None
        starts = np.frombuffer(row[1], dtype=np.float32)
        probs = np.frombuffer(row[2], dtype=np.float16).astype(np.float32).reshape(-1, len(CLASSES))
        embeddings = self._embeddings(ident, model.embedding_id)
        if embeddings is None:
            embeddings = np.zeros((len(starts), 0), np.float32)
        descriptors = self._descriptors(ident)
        # A decoding warning (truncated file) belongs to the file, not the model: every later
        # answer from the cache repeats it, as a fresh analysis would.
        warning = conn.execute(
            "SELECT warning FROM analysis_warnings_v1 WHERE path=? AND size=? AND mtime_ns=?", ident
        ).fetchone()
        return SongMood(
            os.fsdecode(path),
            row[0],
            starts,
            probs,
            embeddings,
            model.version,
            warning[0] if warning else None,
            model.energy_from_embeddings(embeddings),
            model.temperature,
            model.unsure_below,
            descriptors if descriptors is not None and len(descriptors) == len(starts) else None,
        )

    def get_error(self, path: str | os.PathLike[str]) -> str | None:
        """The cached reason a file failed analysis (while the file is unchanged)."""
        ident = self._identity(path)
        if ident is None:
            return None
        row = (
            self.cache.connect()
            .execute("SELECT error FROM analysis_errors_v1 WHERE path=? AND size=? AND mtime_ns=?", ident)
            .fetchone()
        )
        return row[0] if row else None

    def put(self, mood: SongMood, model: MoodModel) -> None:
        ident = self._identity(mood.path)
        if ident is None:
            return
        with self.cache.writing() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO analysis_v1 VALUES (?,?,?,?,?,?,?)",
                (
                    *ident,
                    model.version,
                    mood.duration_s,
                    mood.starts_s.astype(np.float32).tobytes(),
                    mood.slice_probs.astype(np.float16).tobytes(),
                ),
            )
            if mood.embeddings.size:
                conn.execute(
                    "INSERT OR REPLACE INTO embeddings_v1 VALUES (?,?,?,?,?,?)",
                    (
                        *ident,
                        model.embedding_id,
                        mood.embeddings.astype(np.float16).tobytes(),
                        mood.embeddings.shape[1],
                    ),
                )
            if mood.descriptors is not None and len(mood.descriptors):
                conn.execute(
                    "INSERT OR REPLACE INTO descriptors_v1 VALUES (?,?,?,?,?,?)",
                    (
                        *ident,
                        DESCRIPTORS_VERSION,
                        mood.descriptors.astype(np.float32).tobytes(),
                        mood.descriptors.shape[1],
                    ),
                )
            conn.execute("DELETE FROM analysis_errors_v1 WHERE path=?", (ident[0],))
            if mood.warning:
                conn.execute("INSERT OR REPLACE INTO analysis_warnings_v1 VALUES (?,?,?,?)", (*ident, mood.warning))
            else:
                conn.execute("DELETE FROM analysis_warnings_v1 WHERE path=?", (ident[0],))

    def put_error(self, path: str | os.PathLike[str], error: str) -> None:
        ident = self._identity(path)
        if ident is None:
            return
        with self.cache.writing() as conn:
            conn.execute("INSERT OR REPLACE INTO analysis_errors_v1 VALUES (?,?,?,?)", (*ident, error))

    def embeddings(self, path: str | os.PathLike[str], embedding_id: str) -> np.ndarray | None:
        ident = self._identity(path)
        return self._embeddings(ident, embedding_id) if ident is not None else None

    def _embeddings(self, ident: tuple[bytes, int, int], embedding_id: str) -> np.ndarray | None:
        row = (
            self.cache.connect()
            .execute(
                "SELECT embeddings, dim FROM embeddings_v1 WHERE path=? AND size=? AND mtime_ns=? AND embedding_id=?",
                (*ident, embedding_id),
            )
            .fetchone()
        )
        return np.frombuffer(row[0], dtype=np.float16).astype(np.float32).reshape(-1, row[1]) if row else None

    def descriptors(self, path: str | os.PathLike[str]) -> np.ndarray | None:
        """The file's cached per-slice musical descriptors (this definition), or None."""
        ident = self._identity(path)
        return self._descriptors(ident) if ident is not None else None

    def _descriptors(self, ident: tuple[bytes, int, int]) -> np.ndarray | None:
        row = (
            self.cache.connect()
            .execute(
                "SELECT descriptors, dim FROM descriptors_v1 WHERE path=? AND size=? AND mtime_ns=? AND version=?",
                (*ident, DESCRIPTORS_VERSION),
            )
            .fetchone()
        )
        if row is None or row[1] != DESCRIPTOR_COUNT:
            return None
        return np.frombuffer(row[0], dtype=np.float32).reshape(-1, row[1])

    def rescore(self, model: MoodModel, paths: list[str | os.PathLike[str]] | None = None) -> int:
        """Recompute moods under ``model`` from cached embeddings (no decoding); returns the count.

        Works for models that carry their last layer in the metadata (``head``) and share the
        embedding of the cached rows.
        """
        if not model.has_head:
            return 0
        conn = self.cache.connect()
        rows = conn.execute(
            "SELECT e.path, e.size, e.mtime_ns, e.embeddings, e.dim, a.duration_s, a.starts FROM embeddings_v1 e "
            "JOIN analysis_v1 a ON a.path=e.path AND a.size=e.size AND a.mtime_ns=e.mtime_ns "
            "WHERE e.embedding_id=? GROUP BY e.path",
            (model.embedding_id,),
        ).fetchall()
        wanted = {os.fsencode(p) for p in paths} if paths is not None else None
        out = []
        for path, size, mtime_ns, blob, dim, duration_s, starts in rows:
            if wanted is not None and path not in wanted:
                continue
            emb = np.frombuffer(blob, dtype=np.float16).astype(np.float32).reshape(-1, dim)
            # A song cached before descriptors existed is scored at the mean descriptors.
            descriptors = self._descriptors((path, size, mtime_ns)) if model.uses_descriptors else None
            probs = model.head_probs(emb, descriptors)
            out.append((path, size, mtime_ns, model.version, duration_s, starts, probs.astype(np.float16).tobytes()))
        with self.cache.writing() as conn:
            conn.executemany("INSERT OR REPLACE INTO analysis_v1 VALUES (?,?,?,?,?,?,?)", out)
        return len(out)

    def song_moods(self, model_version: str, temperature: float = 1.0) -> dict[str, tuple[np.ndarray, float]]:
        """Song-level probabilities of every cached song under a model: path -> (probs, duration).

        Pass the model's ``temperature`` for calibrated probabilities (as ``SongMood.song_probs``).
        """
        rows = (
            self.cache.connect()
            .execute("SELECT path, probs, duration_s FROM analysis_v1 WHERE model_version=?", (model_version,))
            .fetchall()
        )
        return {
            os.fsdecode(path): (
                song_probabilities(
                    np.frombuffer(probs, dtype=np.float16).astype(np.float32).reshape(-1, len(CLASSES)), temperature
                ),
                duration,
            )
            for path, probs, duration in rows
        }

    def song_energies(self, model: MoodModel) -> dict[str, float]:
        """Song-level energy (0 calm .. 1 energetic) of every cached song, for models with an energy head."""
        if not model.has_energy:
            return {}
        rows = (
            self.cache.connect()
            .execute("SELECT path, embeddings, dim FROM embeddings_v1 WHERE embedding_id=?", (model.embedding_id,))
            .fetchall()
        )
        out = {}
        for path, blob, dim in rows:
            energy = model.energy_from_embeddings(
                np.frombuffer(blob, dtype=np.float16).astype(np.float32).reshape(-1, dim)
            )
            if energy is not None and len(energy):
                out[os.fsdecode(path)] = float(energy.mean())
        return out


def retrainable(mood: SongMood) -> bool:
    """Does a (cached) result carry what a personal retrain reads: embeddings and descriptors?"""
    return bool(mood.embeddings.size) and mood.descriptors is not None


def analyse_cached(path: str | os.PathLike[str], model: MoodModel, cache: AnalysisCache | None, **kwargs) -> SongMood:
    """``analyse_file`` through the cache: a cached result for the same file and model is reused."""
    if cache is not None:
        hit = cache.get(path, model)
        if hit is not None and (not kwargs.get("need_embeddings") or retrainable(hit)):
            return hit
    kwargs.pop("need_embeddings", None)
    try:
        mood = analyse_file(path, model, **kwargs)
    except AudioError as exc:
        if cache is not None and exc.cause != "analysis cancelled":
            cache.put_error(path, exc.cause)
        raise
    if cache is not None:
        cache.put(mood, model)
    return mood


# --- many files: the analysis pool ---------------------------------------------------------------


@dataclass(frozen=True)
class FileAnalysed:
    """One file's result in :func:`analyse_paths`: ``mood`` or ``error`` (the cause, one line)."""

    path: str
    mood: SongMood | None = None
    error: str | None = None
    cached: bool = False  # answered from the cache (no decoding)


def analyse_paths(
    paths: list[str],
    model: MoodModel,
    cache: AnalysisCache | None,
    *,
    workers: int,
    on_result: Callable[[FileAnalysed], None],
    cancelled: Callable[[], bool] | None = None,
    paused: Callable[[], bool] | None = None,
    need_embeddings: bool = False,
    known_errors: bool = True,
    isolate: bool = False,
    quiet: bool = False,
    limit: Callable[[], int] | None = None,
    pool: AnalysisPool | None = None,
) -> bool:
    """Analyse many files: cache hits at once, the rest on ``workers`` processes (the order kept).

    Each result is written into the cache as it arrives (in this process) and then given to
    ``on_result``. With ``known_errors`` a file whose failure is cached (and unchanged since) is
    reported again without decoding it. With ``need_embeddings`` a cached result counts only when
    it has what a retrain reads (``retrainable``: a row from before descriptors existed is
    analysed again). Without ``isolate``, a single file to analyse (or one
    worker) is analysed in this process, which saves starting a pool. ``pool`` lets a caller keep
    the :class:`moodtui.mood.pool.AnalysisPool` (to reorder or inspect it while this runs). Returns
    False if ``cancelled()`` stopped it.
    """
    from moodtui.mood.pool import WORKER_DIED, AnalysisPool, analyse_path  # noqa: F811 (run time)

    def answered(path: str) -> bool:
        """Report a cached result (or known failure) of ``path``; False if it must be analysed."""
        if cache is None:
            return False
        hit = cache.get(path, model)
        if hit is not None and (not need_embeddings or retrainable(hit)):
            on_result(FileAnalysed(path, hit, cached=True))
            return True
        reason = cache.get_error(path) if known_errors else None
        if reason is not None:
            on_result(FileAnalysed(path, error=reason, cached=True))
            return True
        return False

    todo: list[str] = []
    for path in paths:
        if cancelled is not None and cancelled():
            return False
        if not answered(path):
            todo.append(path)
    if not todo:
        return True

    def finished(path: str, mood: SongMood | None, error: str | None) -> None:
        if cache is not None:
            if mood is not None:
                cache.put(mood, model)
            elif error is not None and error != WORKER_DIED:
                cache.put_error(path, error)  # a killed worker is no property of the file
        on_result(FileAnalysed(path, mood, error))

    if not isolate and (workers <= 1 or len(todo) == 1):
        for path in todo:
            while paused is not None and paused():
                if cancelled is not None and cancelled():
                    return False
                time.sleep(0.05)
            try:
                # One file on a pool of two or more: the spare core decodes ahead.
                mood = analyse_file(path, model, cancelled=cancelled, read_ahead=workers >= 2)
            except AudioError as exc:
                if exc.cause == "analysis cancelled":
                    return False
                finished(path, None, exc.cause)
                continue
            finished(path, mood, None)
        return True

    own_pool = pool is None
    active = pool if pool is not None else AnalysisPool(min(workers, len(todo)), model_path=model.path, quiet=quiet)
    try:
        # ``skip``: a file may have been analysed meanwhile (the player's playing track).
        return active.run(
            analyse_path,
            todo,
            cancelled=cancelled,
            paused=paused,
            limit=limit,
            skip=answered,
            on_outcome=lambda o: finished(o.item, o.value, o.error),
        )
    finally:
        if own_pool:
            active.close()
