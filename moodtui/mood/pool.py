"""Analysis on every core: a pool of worker processes, each with its own copy of the model.

One home for running per-file work (analysing a track, computing a song's training features) in
parallel, used by the player's background analysis, ``moodtui analyse``, ``moodtui predict`` and
the training job's feature step.

- Processes, not threads: decoding and the features hold the GIL for much of their time.
- Workers start through a ``forkserver`` (``spawn`` where there is none): a fork of a clean
  server process, never of the caller, which has onnxruntime's and the UI's threads. The server
  imports only thread-free modules, with BLAS limited to one thread.
- The caller keeps the order: ``run`` never has more files in flight than there are workers, so
  a file moved to the front (the playing track, :meth:`AnalysisPool.prioritise`) is the next to
  start, and a pause takes effect at once (files in flight finish).
- Work functions are module-level functions of the worker's (``analyse_path`` here; the
  training job has its own, ``moodtui.train.data.song_features_path``).
- Results come back one by one as they finish (``on_outcome``), so a caller writes each into the
  cache at once; only the calling process writes.
- A worker that dies (killed, crashed in a native decoder) costs that file only: the files that
  were in flight are retried one at a time, and a file that kills a worker on its own is reported
  as failed. The rest go on in a fresh pool.
- ``cancelled()`` is polled every 0.1 s; on cancel the workers are terminated, so quitting is prompt.

Results are whatever the work function returns (the analysis returns the whole
:class:`moodtui.mood.analysis.SongMood`, so every output the model gives passes through).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from moodtui.errors import MoodtuiError

WORKERS_ENV = "MOODTUI_WORKERS"
MAX_ATTEMPTS = 2
WORKER_DIED = "the analysis process died while working on this file (killed or crashed)"
_POLL_S = 0.1
# Modules the fork server imports once so that each worker starts in a few milliseconds (scipy.fft
# and onnxruntime alone take 0.4 and 0.35 s to import: every worker paid them at start before).
# None of them starts a thread at import (checked: the server stays one thread; the first module
# limits BLAS to one thread before numpy loads).
_PRELOAD = ["moodtui._pool_env", "onnxruntime", "moodtui.mood.analysis", "moodtui.audio.decode"]


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count(*, playing: bool, setting: str | int | None = None) -> int:
    """How many worker processes: ``setting`` (``--workers``), else ``MOODTUI_WORKERS`` (a number
    or ``auto``), else ``analysis_workers`` in config.toml, else all cores but one while music
    plays (the player and the playing track's analysis keep one) and all of them when idle or
    headless."""
    value = setting if setting is not None else os.environ.get(WORKERS_ENV)
    if value is None:
        from moodtui.config import load_settings

        value = load_settings().analysis_workers
    if isinstance(value, str) and value.strip().lower() not in ("", "auto"):
        try:
            value = int(value)
        except ValueError:
            raise MoodtuiError(f"{WORKERS_ENV}={value!r}: give a number of worker processes or 'auto'") from None
    if isinstance(value, int):
        if value < 1:
            raise MoodtuiError(f"worker processes: {value} is not a positive number")
        return value
    cores = available_cores()
    return max(1, cores - 1) if playing else cores


@dataclass(frozen=True)
class Outcome:
    """What became of one item: ``value`` (the work function's result) or ``error`` (one line)."""

    item: Any
    value: Any = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


# --- inside a worker process ---------------------------------------------------------------------

_worker_model: Any = None
_worker_model_error: str | None = None


def _init_worker(model_path: str | None, quiet: bool) -> None:
    global _worker_model, _worker_model_error
    # stdout belongs to the caller (the training job's JSON progress lines, the player's screen):
    # nothing a native library prints in a worker may land there.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    if quiet:
        os.dup2(devnull, 2)  # the player draws on the terminal; its own fd 2 is never touched
    os.close(devnull)
    if model_path is not None:
        from moodtui.mood.model import MoodModel

        try:
            _worker_model = MoodModel.load(model_path, threads=1)
        except MoodtuiError as exc:
            _worker_model_error = str(exc)


def worker_model():
    """The model this worker loaded (for work functions)."""
    if _worker_model is None:
        raise MoodtuiError(_worker_model_error or "no model in this analysis process")
    return _worker_model


def run_one(work: Callable[[Any], Any], item: Any) -> Outcome:
    try:
        return Outcome(item, work(item))
    except MoodtuiError as exc:
        return Outcome(item, error=getattr(exc, "cause", None) or str(exc))
    except Exception as exc:  # a bug or an unexpected library error: that file fails, the pool goes on
        return Outcome(item, error=f"{type(exc).__name__}: {exc}")


def analyse_path(path: str) -> Any:
    """Work function: the full analysis of one track (a SongMood) under the worker's model."""
    from moodtui.mood.analysis import analyse_file

    return analyse_file(path, worker_model())


# --- in the calling process ------------------------------------------------------------------------


def _context() -> multiprocessing.context.BaseContext:
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(_PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def start_helpers() -> None:
    """Start multiprocessing's resource tracker and the fork server (with its preload).

    A pool starts them when it first runs. ``moodtui analyse`` and a several-file ``moodtui
    predict`` call this first, so that the server's imports (about 1 s of CPU) run on another core
    while the command does its own start-up (imports, loading the model, walking the library)
    instead of afterwards while the cores wait; the pool then finds the server running. If no pool
    runs after all (every file cached), the server exits with the caller.

    The tracker is handed ``sys.stderr.fileno()``; inside a Textual app that is a print capture
    whose fileno() is -1 ("bad value(s) in fds_to_keep"). It gets /dev/null then: the tracker
    has nothing to say on the player's screen.
    """
    from multiprocessing import forkserver, resource_tracker

    context = _context()
    stream = sys.stderr
    try:
        usable = stream is not None and stream.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = False
    devnull = None if usable else open(os.devnull, "w")
    try:
        if devnull is not None:
            sys.stderr = devnull
        resource_tracker.ensure_running()
    finally:
        if devnull is not None:
            sys.stderr = stream
            devnull.close()
    if context.get_start_method() == "forkserver":
        forkserver.ensure_running()


class AnalysisPool:
    """Run a work function over items on ``workers`` processes, in the caller's order."""

    def __init__(self, workers: int, *, model_path: str | os.PathLike[str] | None = None, quiet: bool = False) -> None:
        self.workers = max(1, int(workers))
        self._model_path = os.fspath(model_path) if model_path is not None else None
        self._quiet = quiet
        self._executor: ProcessPoolExecutor | None = None
        self._pending: deque[Any] = deque()
        self._in_flight: dict[Future, Any] = {}
        self._lock = threading.Lock()
        self.crashes = 0

    # The queue can be reordered from another thread while run() goes on.
    def prioritise(self, item: Any) -> bool:
        """Move a queued item to the front (the next to start); False if it is not queued."""
        with self._lock:
            try:
                self._pending.remove(item)
            except ValueError:
                return False
            self._pending.appendleft(item)
            return True

    def add(self, items: Iterable[Any], *, first: bool = False) -> None:
        with self._lock:
            if first:
                self._pending.extendleft(reversed(list(items)))
            else:
                self._pending.extend(items)

    @property
    def in_flight(self) -> int:
        """Files being worked on now."""
        return len(self._in_flight)

    @property
    def queued(self) -> int:
        with self._lock:
            return len(self._pending)

    def worker_pids(self) -> list[int]:
        executor = self._executor
        processes = getattr(executor, "_processes", None) or {}
        return [p.pid for p in list(processes.values()) if p.pid is not None]

    def _start(self) -> ProcessPoolExecutor:
        if self._executor is None:
            start_helpers()
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=_context(), initializer=_init_worker, initargs=(self._model_path, self._quiet)
            )
        return self._executor

    def _stop(self, *, kill: bool) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        if kill:
            for process in processes:
                if process.is_alive():
                    process.terminate()
            deadline = time.monotonic() + 2.0
            for process in processes:
                process.join(max(0.0, deadline - time.monotonic()))
                if process.is_alive():
                    process.kill()

    def close(self) -> None:
        self._stop(kill=True)

    def __enter__(self) -> AnalysisPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(
        self,
        work: Callable[[Any], Any],
        items: Iterable[Any] = (),
        *,
        on_outcome: Callable[[Outcome], None],
        cancelled: Callable[[], bool] | None = None,
        paused: Callable[[], bool] | None = None,
        limit: Callable[[], int] | None = None,
        skip: Callable[[Any], bool] | None = None,
    ) -> bool:
        """Do ``work(item)`` for the queued items plus ``items``; ``on_outcome`` gets each result in
        this thread as it finishes. Returns False if cancelled (the workers are then terminated).

        ``work`` must be a module-level function (or a partial of one): it runs in the workers.
        ``limit()`` caps the files in flight (at most ``workers``; e.g. one fewer while music
        plays); ``skip(item)``, asked just before an item would start, drops it (done meanwhile).
        """
        self.add(items)
        in_flight: dict[Future, Any] = {}
        self._in_flight = in_flight
        attempts: dict[Any, int] = {}
        retry: deque[Any] = deque()  # files that were in flight when a worker died: one at a time
        try:
            while True:
                if cancelled is not None and cancelled():
                    self._stop(kill=True)
                    return False
                executor = self._start()
                if not (paused is not None and paused()):
                    while True:
                        if any(attempts[i] > 1 for i in in_flight.values()):
                            break  # a retried file runs alone
                        if retry:
                            if in_flight:
                                break
                            item = retry.popleft()
                        else:
                            cap = self.workers if limit is None else max(1, min(self.workers, limit()))
                            if len(in_flight) >= cap:
                                break
                            with self._lock:
                                if not self._pending:
                                    break
                                item = self._pending.popleft()
                            if skip is not None and skip(item):
                                continue
                        attempts[item] = attempts.get(item, 0) + 1
                        in_flight[executor.submit(run_one, work, item)] = item
                if not in_flight:
                    if not retry and not self.queued:
                        return True
                    time.sleep(_POLL_S)  # paused
                    continue
                done, _ = wait(list(in_flight), timeout=_POLL_S, return_when=FIRST_COMPLETED)
                broken = False
                for future in done:
                    item = in_flight.pop(future)
                    try:
                        outcome = future.result()
                    except BrokenProcessPool:
                        broken = True
                        self._crashed(item, attempts, retry, on_outcome)
                        continue
                    on_outcome(outcome)
                if broken:
                    # Every file in flight fails with the pool; wait for the rest of them, then restart.
                    for future in list(in_flight):
                        item = in_flight.pop(future)
                        try:
                            on_outcome(future.result(timeout=5.0))
                        except Exception:
                            self._crashed(item, attempts, retry, on_outcome)
                    self.crashes += 1
                    self._stop(kill=True)
        except BaseException:
            self._stop(kill=True)
            raise

    def _crashed(
        self, item: Any, attempts: dict[Any, int], retry: deque[Any], on_outcome: Callable[[Outcome], None]
    ) -> None:
        if attempts.get(item, 0) >= MAX_ATTEMPTS:
            on_outcome(Outcome(item, error=WORKER_DIED))
        else:
            retry.append(item)
